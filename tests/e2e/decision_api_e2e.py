#!/usr/bin/env python3
"""The decision API and `budgetgate check` through a real API server and Prometheus: answers for
an allowed ServiceAccount (compared with the SLO status the controller wrote and with a hand
calculation of projectedSpend), refusals for a forbidden one, a bad token and none; the README's
Argo Rollouts AnalysisTemplate and Flagger Canary validated against their real CRDs and their
HTTP contracts exercised as those tools would (successCondition on the JSON; 200 or 403 to a
POST); `budgetgate check` agreeing with `kubectl apply --dry-run=server`; and an unauthenticated
flood with random tokens, bounded in count and time, that costs the API server a bounded number
of reviews and never gets an answer."""

import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, ControlPlane, Prometheus, Suite, budgetgate, check,  # noqa: E402
                     chart_user_roles, chart_webhook_config, free_port, http_get, live_scenario,
                     log, metric_value, operator_with_webhook, ratio_slo, run, wait_until,
                     workspace)
from webhook_e2e import deployment  # noqa: E402

CD = os.path.join(ROOT, "crds", "samples", "cd")
CRDS = run([os.path.join(ROOT, "tests", "scripts", "setup-cd-crds.sh"), "--path"], timeout=600).stdout.strip()
BOB = dict(user="bob", groups=["devs"])


def slo(name, service, app):
    return ratio_slo(name, "shop", service, {"app": app})


def request(url, token=None, method="GET", body=None, header=True):
    ctx = ssl._create_unverified_context()  # the test CA; TLS itself is checked by the webhook tests
    headers = {"Content-Type": "application/json"}
    if token and header:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status, json.loads(r.read().decode() or "null")
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def readme():
    with open(os.path.join(ROOT, "README.md")) as f:
        return f.read()


def main():
    suite = Suite("decision API e2e")
    with workspace("decisions") as work:
        with suite.setup():
            scenario = live_scenario(work, [
                {"name": "web", "rps": 10, "baseErrorRatio": 0.0002,
                 "incidents": [{"startIn": -2 * 86400, "duration": "2h", "errorRatio": 0.5}]},
                {"name": "api", "rps": 50, "baseErrorRatio": 0.0001},
            ])
            prom = Prometheus(work, scenario, private_cache=True).start()
            suite.on_exit(prom.stop)
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("shop", "budgetgate"):
                cp.kubectl("create", "namespace", ns)
            cp.apply(chart_user_roles())
            cp.kubectl("create", "rolebinding", "edit", "-n", "shop", "--clusterrole=edit", "--group=devs")
            for f in ("analysis-template-crd.yaml", "flagger-crd.yaml"):
                cp.kubectl("create", "-f", os.path.join(CRDS, f))
            cp.wait_established("analysistemplates.argoproj.io", "canaries.flagger.app")
            cp.apply(slo("web-availability", "web", "web") + "---\n" + slo("api-availability", "api", "api"))
            cp.apply(deployment("web", "shop", "web", "registry.example/web:1.0"))
            cp.apply(deployment("api", "shop", "api", "registry.example/api:1.0"))
            # The README's reader identity; an outsider ServiceAccount bound to nothing.
            cp.kubectl("apply", "-f", os.path.join(CD, "reader.yaml"))
            cp.kubectl("create", "serviceaccount", "outsider", "-n", "shop")
            reader = cp.kubectl("create", "token", "budgetgate-reader", "-n", "shop").stdout.strip()
            outsider = cp.kubectl("create", "token", "outsider", "-n", "shop").stdout.strip()
            api_port = free_port()
            _, base, ca_pem, _ = operator_with_webhook(suite, cp, prom, work,
                                                       "--api-address", f"127.0.0.1:{api_port}")
            api = f"https://127.0.0.1:{api_port}"
            wait_until("SLO statuses", lambda: {i["metadata"]["name"]: i.get("status", {}).get("tier")
                                                for i in cp.get_json("slo", "-n", "shop")["items"]} ==
                       {"web-availability": "exhausted", "api-availability": "healthy"}, timeout=90)
            cp.apply(chart_webhook_config(base, ca_pem))
            time.sleep(1)

            def decisions(workload, token=reader, **params):
                query = "&".join(f"{k}={v}" for k, v in {"workload": workload, **params}.items())
                return request(f"{api}/api/v1/namespaces/shop/decisions?{query}", token)

            wait_until("the decision API answers", lambda: decisions("deployment/web")[0] == 200, timeout=30)

        @suite.check("an allowed ServiceAccount gets the gate's decision, figures as in the SLO status")
        def _():
            code, d = decisions("deployment/web")
            check(code == 200, f"{code} {d}")
            log(f"deployment/web: {json.dumps(d)[:400]}")
            check(d["allowed"] is False and d["gated"] is True and d["tier"] == "exhausted", d)
            check(d["decision"] == "block" and "tier exhausted x risk medium = block" in d["reason"], d)
            check(all(not v["allowed"] for v in d["decisions"].values()), d["decisions"])
            status = cp.get_json("slo", "-n", "shop", "web-availability")["status"]
            (s,) = d["slos"]
            check(s["name"] == "web-availability" and s["tier"] == status["tier"], s)
            check(abs(s["remainingPercent"] - (100 - status["errorBudget"]["consumedPercent"])) < 0.01,
                  f"{s['remainingPercent']} vs status {status['errorBudget']}")
            code, d = decisions("deployment/api", risk="high")
            check(code == 200 and d["allowed"] is True and d["tier"] == "healthy" and d["risk"] == "high", d)
            code, d = decisions("deployment/tools")
            check(code == 404 and "not known" in d["error"], f"{code} {d}")
            code, d = decisions("cronjob/x")
            check(code == 400, f"{code} {d}")
            code, d = request(f"{api}/api/v1/namespaces/shop/slos/web-availability", reader)
            check(code == 200 and d["verdictByRisk"]["medium"] == "block", f"{code} {d}")

        @suite.check("projectedSpend: burn x share x duration / window, by hand")
        def _():
            code, d = decisions("deployment/api", trafficShare="0.25", duration="6h")
            check(code == 200, f"{code} {d}")
            (p,) = d["projectedSpend"]
            burn = p["burnRate1h"]
            expected = 100 * burn * 0.25 * 6 / (30 * 24)
            log(f"projectedSpend {p}; by hand {expected:.6f}%")
            check(burn > 0, p)
            check(abs(p["percentOfBudget"] - round(expected, 4)) < 1e-3, f"{p} vs {expected}")
            code, d = decisions("deployment/api", trafficShare="2", duration="6h")
            check(code == 400 and "trafficShare" in d["error"], d)

        @suite.check("a forbidden ServiceAccount, a bad token and no token are refused")
        def _():
            code, d = decisions("deployment/web", token=outsider)
            check(code == 403 and "system:serviceaccount:shop:outsider may not get servicelevelobjectives"
                  in d["error"], f"{code} {d}")
            code, d = decisions("deployment/web", token="not-a-token")
            check(code == 401 and "authentication failed" in d["error"], f"{code} {d}")
            code, d = decisions("deployment/web", token=None)
            check(code == 401 and "bearer token" in d["error"], f"{code} {d}")
            # The reader of shop may not read another namespace.
            cp.kubectl("create", "namespace", "other")
            code, d = request(f"{api}/api/v1/namespaces/other/decisions?workload=deployment/web", reader)
            check(code == 403, f"{code} {d}")

        @suite.check("README: the Argo Rollouts AnalysisTemplate, validated by its CRD, decides as its web provider would")
        def _():
            with open(os.path.join(CD, "analysis-template.yaml")) as f:
                text = f.read()
            check(text.strip() in readme(), "the README shows crds/samples/cd/analysis-template.yaml verbatim")
            r = cp.kubectl("apply", "--dry-run=server", "-f", "-", stdin=text, check_rc=False)
            check(r.returncode == 0, f"the real AnalysisTemplate CRD accepts it: {r.stderr}")
            template = json.loads(cp.kubectl("apply", "--dry-run=server", "-o", "json", "-f", "-", stdin=text).stdout)
            web = template["spec"]["metrics"][0]["provider"]["web"]
            condition = template["spec"]["metrics"][0]["successCondition"]
            check(condition == "result.allowed == true" and web["jsonPath"] == "{$}", template["spec"]["metrics"][0])
            for workload, expected in (("deployment/web", False), ("deployment/api", True)):
                url = (web["url"].replace("https://budgetgate.budgetgate.svc:8444", api)
                       .replace("{{args.workload}}", workload).replace("{{args.risk}}", "medium"))
                (header,) = web["headers"]
                check(header["key"] == "Authorization", header)
                code, result = request(url, header["value"].replace("Bearer {{args.token}}", reader)
                                       .removeprefix("Bearer "))
                check(code == 200, f"the web provider needs 200 to evaluate: {code} {result}")
                check((result["allowed"] is True) == expected, f"{workload}: {condition} on {result}")

        @suite.check("README: the Flagger Canary, validated by its CRD; its pre-rollout POST gets 200 or 403")
        def _():
            with open(os.path.join(CD, "flagger-canary.yaml")) as f:
                text = f.read()
            check(text.strip() in readme(), "the README shows crds/samples/cd/flagger-canary.yaml verbatim")
            r = cp.kubectl("apply", "--dry-run=server", "-f", "-", stdin=text, check_rc=False)
            check(r.returncode == 0, f"the real Canary CRD accepts it: {r.stderr}")
            (hook,) = json.loads(cp.kubectl("apply", "--dry-run=server", "-o", "json", "-f", "-",
                                            stdin=text).stdout)["spec"]["analysis"]["webhooks"]
            check(hook["type"] == "pre-rollout", hook)
            payload = json.dumps({"name": "web", "namespace": "shop", "phase": "Progressing",
                                  "metadata": {}}).encode()
            for workload, expected in (("deployment/web", 403), ("deployment/api", 200)):
                url = (hook["url"].replace("https://budgetgate.budgetgate.svc:8444", api)
                       .replace("READER_TOKEN", reader).replace("deployment/web", workload))
                code, body = request(url, method="POST", body=payload)
                check(code == expected, f"{workload}: {code} {body}")

        @suite.check("budgetgate check agrees with kubectl apply --dry-run=server, for bob too")
        def _():
            manifest = os.path.join(work, "web-2.yaml")
            with open(manifest, "w") as f:
                f.write(deployment("web", "shop", "web", "registry.example/web:2.0"))
            r = budgetgate("check", "--kubeconfig", cp.kubeconfig, "-f", manifest)
            log(f"check: exit {r.returncode}: {r.stdout.strip()[:300]}")
            check(r.returncode == 1 and "deployments/web in shop: denied" in r.stdout and
                  "SLO shop/web-availability is exhausted" in r.stdout, r.stdout + r.stderr)
            k = cp.kubectl("apply", "--dry-run=server", "-f", manifest, check_rc=False)
            check(k.returncode == 1 and "SLO shop/web-availability is exhausted" in k.stderr, k.stderr)
            r = budgetgate("check", "--kubeconfig", cp.kubeconfig, "--as", "bob", "--as-group", "devs",
                           "-f", manifest)
            check(r.returncode == 1 and "user bob" not in r.stdout and "denied" in r.stdout, r.stdout + r.stderr)
            ok = os.path.join(work, "api-2.yaml")
            with open(ok, "w") as f:
                f.write(deployment("api", "shop", "api", "registry.example/api:2.0"))
            r = budgetgate("check", "--kubeconfig", cp.kubeconfig, "--as", "bob", "--as-group", "devs", "-f", ok)
            check(r.returncode == 0 and "deployments/api in shop: admitted" in r.stdout, r.stdout + r.stderr)
            check(cp.get_json("deployment", "-n", "shop", "api")["spec"]["template"]["spec"]["containers"][0]
                  ["image"].endswith("api:1.0"), "a dry run stores nothing")
            # The review tier's warning reaches the CI log (stderr), as kubectl prints it.
            r = budgetgate("check", "--kubeconfig", cp.kubeconfig, "-f", os.path.join(work, "nope.yaml"))
            check(r.returncode == 2, r.stderr)

        @suite.check("an unauthenticated flood with random tokens gets no answer and costs a bounded number of reviews")
        def _():
            def reviews():
                return metric_value(http_get(base + "/metrics")[1], "budgetgate_api_reviews_total") or 0
            before = reviews()
            codes = {}
            lock = threading.Lock()
            deadline = time.time() + 60
            started = time.time()

            def worker():
                for _ in range(50):  # 16 x 50 requests, at most 60 s
                    if time.time() > deadline:
                        return
                    try:
                        code, _ = decisions("deployment/web", token=secrets.token_urlsafe(24))
                    except Exception:  # pylint: disable=broad-except
                        code = "error"
                    with lock:
                        codes[code] = codes.get(code, 0) + 1
            threads = [threading.Thread(target=worker) for _ in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.time() - started
            sent = reviews() - before
            log(f"flood: {codes} in {elapsed:.1f}s; {sent:.0f} TokenReviews sent")
            check(200 not in codes and set(codes) <= {401, 429, "error"}, codes)
            # The bucket: a burst of 40 and 20 per second.
            check(sent <= 40 + 20 * elapsed + 5, f"reviews bounded: {sent} in {elapsed:.1f}s")
            code, d = decisions("deployment/web")
            check(code == 200 and d["allowed"] is False, f"the reader still gets answers: {code}")
        suite.finish()


if __name__ == "__main__":
    main()
