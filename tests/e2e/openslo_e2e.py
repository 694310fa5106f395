#!/usr/bin/env python3
"""End-to-end: OpenSLO documents through the real API server, webhook and controller.

One truth for validation: the OpenSLO corpus (tests/openslo/, judged by OpenSLO's own
validator in the openslo_corpus test) is applied to a real kube-apiserver by an ordinary
namespace editor (bob, `edit` role), with budgetgate's webhook installed from the chart's own
ValidatingWebhookConfiguration and the controller running against a real Prometheus:

  valid/        `budgetgate import` output is admitted (a counter-omitted warning comes back as
                an admission warning), the controller writes a status for every SLO and never
                calls its spec invalid, and `budgetgate evaluate` answers each one (exit 0 or
                3, never 2 = invalid)
  invalid/      the same document as a ServiceLevelObjective is refused, by the CRD schema or by
  unsupported/  the webhook; the layer is recorded, and nothing refused is stored

So what `budgetgate validate` says, what the API server admits and what the controller
evaluates cannot drift apart.
"""

import copy
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, ControlPlane, Prometheus, Suite, budgetgate, chart_user_roles,  # noqa: E402
                     chart_webhook_config, check, live_scenario, log, operator_with_webhook,
                     wait_until, workspace)

BOB = dict(as_user="bob", groups=["devs"])
CORPUS = os.path.join(ROOT, "tests", "openslo")
NS = "shop"


def literal_crd(doc_text):
    """An OpenSLO document turned into a ServiceLevelObjective without fixing anything: the
    apiVersion and kind change, an indicatorRef is inlined from the same file, metadata gains
    the namespace. Returns None for documents that are not an SLO of openslo/v1."""
    import yaml
    docs = [d for d in yaml.safe_load_all(doc_text) if isinstance(d, dict)]
    slis = {d.get("metadata", {}).get("name"): d for d in docs if d.get("kind") == "SLI"}
    out = []
    for d in docs:
        if d.get("kind") != "SLO" or d.get("apiVersion") != "openslo/v1":
            continue
        d = copy.deepcopy(d)
        d["apiVersion"] = "slo.budgetgate.dev/v1alpha1"
        d["kind"] = "ServiceLevelObjective"
        meta = d.get("metadata") or {}
        if not isinstance(meta, dict):
            meta = {}
        display = meta.pop("displayName", None)
        if display is not None:
            meta.setdefault("annotations", {})["openslo.com/display-name"] = str(display)
        meta["namespace"] = NS
        d["metadata"] = meta
        spec = d.get("spec")
        if isinstance(spec, dict) and "indicatorRef" in spec and spec["indicatorRef"] in slis:
            sli = slis[spec.pop("indicatorRef")]
            spec["indicator"] = {"metadata": {"name": sli["metadata"]["name"]}, "spec": sli["spec"]}
        out.append(d)
    return out


def main():
    import yaml
    suite = Suite("openslo e2e")
    with workspace("openslo") as work:
        with suite.setup():
            services = ["checkout", "search", "payments", "cart", "billing", "ledger", "web", "api"]
            scenario = live_scenario(work, [{"name": s, "rps": 20, "baseErrorRatio": 0.0005}
                                            for s in services], history_days=8)
            prom = Prometheus(work, scenario, private_cache=True).start()
            suite.on_exit(prom.stop)
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            cp.kubectl("create", "namespace", NS)
            cp.kubectl("create", "namespace", "budgetgate")
            cp.apply(chart_user_roles())
            cp.kubectl("create", "rolebinding", "edit", "-n", NS, "--clusterrole=edit",
                       "--group=devs")
            _, base, ca_pem, _ = operator_with_webhook(suite, cp, prom, work)
            cp.apply(chart_webhook_config(base, ca_pem))
            valid = sorted(glob.glob(os.path.join(CORPUS, "valid", "*.yaml")))
            refused_docs = sorted(glob.glob(os.path.join(CORPUS, "invalid", "*.yaml")) +
                                  glob.glob(os.path.join(CORPUS, "unsupported", "*.yaml")))
            check(len(valid) >= 15 and len(refused_docs) >= 30, "the corpus is there")
            imported = {}  # SLO name -> manifest text

        @suite.check("bob applies every valid OpenSLO document, imported; all are admitted")
        def _():
            warned = []
            for path in valid:
                r = budgetgate("import", "-f", path, "-n", NS)
                check(r.returncode == 0, f"import {path}: {r.stderr}")
                names = [d["metadata"]["name"] for d in yaml.safe_load_all(r.stdout) if d]
                a = cp.kubectl("apply", "-f", "-", stdin=r.stdout, check_rc=False, **BOB)
                check(a.returncode == 0, f"{os.path.basename(path)} must be admitted: {a.stderr.strip()}")
                if "Warning:" in a.stderr:
                    warned.append((os.path.basename(path), a.stderr.strip()))
                for n in names:
                    imported[n] = r.stdout
            log(f"{len(imported)} SLOs admitted from {len(valid)} documents")
            log(f"admission warnings: {warned}")
            check(any(f == "counter-omitted.yaml" and "counter" in w for f, w in warned),
                  f"the counter-omitted document is admitted with a warning: {warned}")
            stored = {i["metadata"]["name"] for i in cp.get_json("slo", "-n", NS)["items"]}
            check(stored == set(imported), f"stored {sorted(stored)} vs imported {sorted(imported)}")

        @suite.check("the controller writes a status for every imported SLO; none is InvalidSpec")
        def _():
            def statuses():
                return {i["metadata"]["name"]: i.get("status") or {}
                        for i in cp.get_json("slo", "-n", NS)["items"]}

            def all_observed():
                st = statuses()
                return all(s.get("observedGeneration") for s in st.values()) and st
            st = wait_until("a status for every SLO", all_observed, timeout=120)
            bad = {}
            tiers = {}
            for name, s in st.items():
                reasons = [c.get("reason") for c in s.get("conditions", [])]
                tiers[name] = s.get("tier") or "/".join(r for r in reasons if r)
                if "InvalidSpec" in reasons:
                    bad[name] = s.get("message")
            log(f"tiers: {tiers}")
            check(not bad, f"the controller calls these specs invalid: {bad}")
            # Series the scenario writes are evaluated to a tier, not only given a condition.
            for name in ("ratio-occurrences", "composite", "rolling-weeks"):
                if name in st:
                    check(st[name].get("tier"), f"{name} has a tier: {st[name]}")

        @suite.check("budgetgate evaluate answers every valid document (exit 0 or 3, never 2)")
        def _():
            codes = {}
            for path in valid:
                r = budgetgate("evaluate", "-f", path, "--prometheus", prom.url)
                codes[os.path.basename(path)] = r.returncode
                check(r.returncode in (0, 3), f"evaluate {path} exited {r.returncode}: {r.stderr[:400]}")
            log(f"evaluate exit codes: {codes}")

        @suite.check("bob's invalid and unsupported documents are refused (CRD schema or webhook)")
        def _():
            layers = {"schema": [], "webhook": []}
            tried = 0
            for path in refused_docs:
                with open(path) as f:
                    docs = literal_crd(f.read())
                for d in docs:
                    tried += 1
                    name = os.path.basename(path)
                    a = cp.kubectl("create", "-f", "-", stdin=yaml.safe_dump(d), check_rc=False, **BOB)
                    check(a.returncode != 0, f"{name} must be refused, was admitted: {a.stdout}")
                    err = a.stderr.strip()
                    if "admission webhook" in err:
                        layers["webhook"].append(name)
                        check("OpenSLO" in err or "spec." in err or "metadata" in err,
                              f"{name}: the webhook says why: {err[:300]}")
                    else:
                        layers["schema"].append(name)
                    log(f"{name}: {err[:220]}")
            log(f"{tried} documents refused: {len(layers['schema'])} by the CRD schema, "
                f"{len(layers['webhook'])} by the webhook ({layers['webhook']})")
            check(tried >= 25, f"most documents are SLOs of openslo/v1 ({tried})")
            stored = {i["metadata"]["name"] for i in cp.get_json("slo", "-n", NS)["items"]}
            check(stored == set(imported), f"nothing refused is stored: {sorted(stored - set(imported))}")

        @suite.check("a one-week time slice applied as cluster admin is caught by the controller")
        def _():
            # The webhook skips cluster admins (the chart's matchCondition) and the CRD schema
            # cannot see the 1d limit on slices; the controller is the last line: it marks the
            # spec invalid instead of computing a budget from it.
            with open(os.path.join(CORPUS, "unsupported", "slice-one-week.yaml")) as f:
                d = literal_crd(f.read())[0]
            d["metadata"]["name"] = "admin-slice-one-week"
            cp.kubectl("create", "-f", "-", stdin=yaml.safe_dump(d))

            def status():
                return cp.get_json("slo", "-n", NS, "admin-slice-one-week").get("status") or {}
            wait_until("InvalidSpec", lambda: "InvalidSpec" in
                       [c.get("reason") for c in status().get("conditions", [])], timeout=30)
            log(f"controller: {status().get('message')}")
            check("timeSliceWindow" in status().get("message", ""), status())
            check(not status().get("tier") or status().get("tier") != "healthy",
                  f"no budget is computed from an invalid spec: {status()}")

        # Inside the workspace: the cleanups stop Prometheus and the control plane by the PIDs
        # kept there (outside it they ran after its removal and left both running).
        suite.finish()


if __name__ == "__main__":
    main()
