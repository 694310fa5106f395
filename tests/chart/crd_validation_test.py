#!/usr/bin/env python3
"""The CRDs in crds/ on a real kube-apiserver: they are accepted and become Established, the API
server itself refuses malformed SLOs and policies (with the schema's / CEL rule's message),
the samples are accepted, the status subresource works, and `kubectl get slo` prints the
printer columns TARGET WINDOW REMAINING BURN-1H TIER AGE with the status values.

Needs tests/scripts/build-controlplane.sh and tests/scripts/controlplane.sh (exits 77 = skipped
without them). Run: python3 tests/chart/crd_validation_test.py [-v]
"""

import copy
import json
import pathlib
import re
import sys
import unittest

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import controlplane  # noqa: E402

ROOT = controlplane.ROOT
CRDS = sorted((ROOT / "crds").glob("slo.budgetgate.dev_*.yaml"))
SAMPLES = ROOT / "crds" / "samples"
NS = "shop"

cp = None


def setUpModule():
    global cp
    cp = controlplane.ControlPlane("crd-validation").start()
    for crd in CRDS:
        cp.kubectl("apply", "-f", str(crd))
    cp.wait_crds("servicelevelobjectives.slo.budgetgate.dev", "errorbudgetpolicies.slo.budgetgate.dev")
    for ns in (NS, "budgetgate"):
        cp.kubectl("create", "namespace", ns)


def tearDownModule():
    if cp:
        cp.stop()


def load(name):
    with open(SAMPLES / name) as f:
        return yaml.safe_load(f)


def checkout(name):
    slo = load("slo-checkout.yaml")
    slo["metadata"]["name"] = name
    return slo


def apply(obj, *extra, check=False):
    return cp.kubectl("apply", *extra, "-f", "-", input=yaml.safe_dump(obj), check=check)


class CrdsInstall(unittest.TestCase):
    def test_established_with_short_names(self):
        p = cp.kubectl("api-resources", "--api-group=slo.budgetgate.dev", "-o", "wide")
        self.assertRegex(p.stdout, r"servicelevelobjectives\s+slo\s+slo\.budgetgate\.dev/v1alpha1\s+true\s+ServiceLevelObjective")
        self.assertRegex(p.stdout, r"errorbudgetpolicies\s+ebp\s+slo\.budgetgate\.dev/v1alpha1\s+true\s+ErrorBudgetPolicy")

    def test_reapply_is_unchanged(self):
        for crd in CRDS:
            self.assertIn("unchanged", cp.kubectl("apply", "-f", str(crd)).stdout)


class RefusedSlos(unittest.TestCase):
    def assertRefused(self, obj, *patterns):
        p = apply(obj)
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, f"the API server accepted an invalid object:\n{out}")
        self.assertIn("is invalid", out)
        for pat in patterns:
            self.assertRegex(out, pat)
        name = obj["metadata"]["name"]
        kind = "slo" if obj["kind"] == "ServiceLevelObjective" else "ebp"
        got = cp.kubectl("get", kind, name, "-n", obj["metadata"]["namespace"], check=False)
        self.assertNotEqual(got.returncode, 0, f"{name} exists although it was refused")
        return out

    def test_target_above_one(self):
        slo = checkout("bad-target")
        slo["spec"]["objectives"][0]["target"] = 1.5
        self.assertRefused(slo, r"spec\.objectives\[0\]\.target: Invalid value: 1\.5: "
                                r"spec\.objectives\[0\]\.target in body should be less than 1")

    def test_target_percent_hundred(self):
        slo = checkout("bad-target-percent")
        del slo["spec"]["objectives"][0]["target"]
        slo["spec"]["objectives"][0]["targetPercent"] = 100
        self.assertRefused(slo, r"spec\.objectives\[0\]\.targetPercent in body should be less than 100")

    def test_malformed_duration(self):
        slo = checkout("bad-duration")
        slo["spec"]["timeWindow"][0]["duration"] = "30days"
        self.assertRefused(slo, r'spec\.timeWindow\[0\]\.duration: Invalid value: "30days": '
                                r"spec\.timeWindow\[0\]\.duration in body should match")

    def test_missing_indicator(self):
        slo = checkout("no-indicator")
        del slo["spec"]["indicator"]
        self.assertRefused(slo, r"spec\.indicator is required, or \(a composite SLO\) an indicator on every objective")

    def test_target_and_target_percent(self):
        slo = checkout("both-targets")
        slo["spec"]["objectives"][0]["targetPercent"] = 99.9
        self.assertRefused(slo, r"spec\.objectives\[0\]: Invalid value: \"object\": "
                                r"set exactly one of target \(0-1\) or targetPercent \(0-100\)")

    def test_good_and_bad(self):
        slo = checkout("good-and-bad")
        rm = slo["spec"]["indicator"]["spec"]["ratioMetric"]
        rm["bad"] = copy.deepcopy(rm["good"])
        self.assertRefused(slo, r"set exactly one of good or bad \(plus total\)")

    def test_timeslices_without_slice_window(self):
        slo = checkout("timeslices-no-window")
        slo["spec"]["budgetingMethod"] = "Timeslices"
        self.assertRefused(slo, r"Timeslices and RatioTimeslices need timeSliceWindow on every objective")

    def test_rolling_month(self):
        slo = checkout("rolling-month")
        slo["spec"]["timeWindow"][0]["duration"] = "1M"
        self.assertRefused(slo, r"a rolling window is counted in m, h, d or w")

    def test_unknown_budgeting_method(self):
        slo = checkout("bad-method")
        slo["spec"]["budgetingMethod"] = "Requests"
        self.assertRefused(slo, r'spec\.budgetingMethod: Unsupported value: "Requests"')

    def test_bad_policy_mode_and_approvers(self):
        pol = load("policy-default.yaml")
        pol["metadata"]["name"] = "bad-mode"
        pol["spec"]["mode"] = "enforcing"
        self.assertRefused(pol, r'spec\.mode: Unsupported value: "enforcing"')
        pol = load("policy-default.yaml")
        pol["metadata"]["name"] = "no-approvers"
        pol["spec"]["review"] = {"action": "require-approval"}
        self.assertRefused(pol, r"require-approval needs at least one approver user or group")
        pol = load("policy-default.yaml")
        pol["metadata"]["name"] = "bad-verdict"
        pol["spec"]["decisions"]["healthy"]["high"] = "deny"
        self.assertRefused(pol, r'spec\.decisions\.healthy\.high: Unsupported value: "deny"')


class AcceptedSamples(unittest.TestCase):
    def test_checkout_sample(self):
        slo = checkout("checkout-sample")
        p = apply(slo, check=True)
        self.assertIn("created", p.stdout)
        got = json.loads(cp.kubectl("get", "slo", "checkout-sample", "-n", NS, "-o", "json").stdout)
        # Defaults from the schema are applied by the API server.
        self.assertIs(got["spec"]["timeWindow"][0]["isRolling"], True)
        self.assertIs(got["spec"]["indicator"]["spec"]["ratioMetric"]["counter"], True)

    def test_default_policy_sample(self):
        self.assertIn("created", apply(load("policy-default.yaml"), check=True).stdout)
        p = cp.kubectl("get", "ebp", "-n", "budgetgate")
        header = p.stdout.splitlines()[0].split()
        self.assertEqual(header, ["NAME", "MODE", "ON-MISSING-DATA", "AGE"])
        self.assertEqual(p.stdout.splitlines()[1].split()[:3], ["default", "enforce", "last-known"])

    def test_openslo_document_converted_by_apiversion_and_kind(self):
        doc = load("openslo-search-latency.yaml")
        doc["apiVersion"] = "slo.budgetgate.dev/v1alpha1"
        doc["kind"] = "ServiceLevelObjective"
        doc["metadata"]["namespace"] = NS
        # OpenSLO's metadata.displayName is not a Kubernetes ObjectMeta field: with kubectl's
        # default (--validate=strict) the API server refuses it; everything in spec is accepted.
        p = apply(doc)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('unknown field "metadata.displayName"', p.stderr)
        p = apply(doc, "--validate=warn")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('unknown field "metadata.displayName"', p.stderr)
        cp.kubectl("delete", "slo", doc["metadata"]["name"], "-n", NS)
        del doc["metadata"]["displayName"]
        p = apply(doc)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


    def test_target_zero_as_openslo_allows(self):
        # OpenSLO v1: target in [0, 1). A target of 0 allows every event to fail.
        slo = checkout("zero-target")
        slo["spec"]["objectives"][0]["target"] = 0
        self.assertEqual(apply(slo).returncode, 0)
        got = json.loads(cp.kubectl("get", "slo", "zero-target", "-n", NS, "-o", "json").stdout)
        self.assertEqual(got["spec"]["objectives"][0]["target"], 0)

    def test_rolling_window_in_minutes_and_slice_target_on_occurrences(self):
        slo = checkout("minutes-window")
        slo["spec"]["timeWindow"][0]["duration"] = "90m"
        slo["spec"]["objectives"][0]["timeSliceTarget"] = 0.9  # accepted and ignored
        p = apply(slo)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class PrinterColumns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        apply(checkout("checkout-availability"), check=True)
        with open(SAMPLES / "gate" / "status-healthy.json") as f:
            cls.status = json.load(f)
        cp.kubectl("patch", "slo", "checkout-availability", "-n", NS, "--subresource=status",
                   "--type=merge", "-p", json.dumps({"status": cls.status}))

    def rows(self, *args):
        """Header and rows of `kubectl get slo`, cut at the header's column positions (an empty
        cell prints as blanks)."""
        lines = cp.kubectl("get", "slo", *args).stdout.splitlines()
        header = lines[0]
        starts = [m.start() for m in re.finditer(r"\S+", header)]
        bounds = list(zip(starts, starts[1:] + [None]))
        cut = lambda ln: [ln[a:b].strip() for a, b in bounds]  # noqa: E731
        return cut(header), [cut(ln) for ln in lines[1:]]

    def test_columns_and_values(self):
        header, rows = self.rows("checkout-availability", "-n", NS)
        self.assertEqual(header, ["NAME", "TARGET", "WINDOW", "REMAINING", "BURN-1H", "TIER", "AGE"])
        (row,) = rows
        self.assertEqual(row[:6], ["checkout-availability", "0.999", "30d", "75", "0.3", "healthy"])
        self.assertRegex(row[6], r"^\d+s$")

    def test_all_namespaces(self):
        header, rows = self.rows("-A")
        self.assertEqual(header, ["NAMESPACE", "NAME", "TARGET", "WINDOW", "REMAINING", "BURN-1H", "TIER", "AGE"])
        row = [r for r in rows if r[1] == "checkout-availability"][0]
        self.assertEqual(row[5], "0.3")

    def test_burn_1h_jsonpath_in_kubectl(self):
        p = cp.kubectl("get", "slo", "checkout-availability", "-n", NS, "-o", "jsonpath={.status.burnRates.1h}")
        self.assertEqual(p.stdout, "0.3")

    def test_unevaluated_slo_prints_empty_cells(self):
        apply(checkout("fresh"), check=True)
        _, rows = self.rows("fresh", "-n", NS)
        self.assertEqual(rows[0][:6], ["fresh", "", "30d", "", "", ""])

    def test_status_is_a_subresource(self):
        # A write of .status through the main resource is ignored by the API server.
        cp.kubectl("patch", "slo", "checkout-availability", "-n", NS, "--type=merge",
                   "-p", json.dumps({"status": {"tier": "exhausted"}}))
        p = cp.kubectl("get", "slo", "checkout-availability", "-n", NS, "-o", "jsonpath={.status.tier}")
        self.assertEqual(p.stdout, "healthy")

    def test_exhausted_status(self):
        with open(SAMPLES / "gate" / "status-exhausted.json") as f:
            status = json.load(f)
        apply(checkout("checkout-exhausted"), check=True)
        cp.kubectl("patch", "slo", "checkout-exhausted", "-n", NS, "--subresource=status",
                   "--type=merge", "-p", json.dumps({"status": status}))
        _, rows = self.rows("checkout-exhausted", "-n", NS)
        self.assertEqual(rows[0][:6], ["checkout-exhausted", "0.999", "30d", "0", "0.2", "exhausted"])
        got = json.loads(cp.kubectl("get", "slo", "checkout-exhausted", "-n", NS, "-o", "json").stdout)
        self.assertEqual(got["status"]["tierHold"]["lowestRemainingPercent"], -46,
                         "unknown status fields are preserved")
        self.assertTrue(re.match(r"\d{4}-", got["status"]["projectedExhaustion"]))


if __name__ == "__main__":
    controlplane.require()
    unittest.main(verbosity=2)
