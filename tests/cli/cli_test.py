#!/usr/bin/env python3
"""End-to-end tests of the budgetgate command line: runs the binary as a subprocess.

Usage: cli_test.py BUDGETGATE_BINARY SOURCE_DIR [unittest arguments, e.g. CalcTest]
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BINARY = ""
SOURCE = ""
TIMEOUT = 30  # seconds per invocation; a hang is a failure


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)


def run(*args, stdin=None):
    proc = subprocess.run([BINARY, *args], input=stdin, capture_output=True, text=True,
                          timeout=TIMEOUT)
    return Result(proc)


def sample(*parts):
    return os.path.join(SOURCE, "crds", "samples", *parts)


class CliCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="budgetgate-cli-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text, mode="w"):
        path = os.path.join(self.tmp, name)
        with open(path, mode) as f:
            f.write(text)
        return path

    def assertExit(self, result, code):
        # A negative return code means the process was killed by a signal: always a failure.
        self.assertGreaterEqual(result.code, 0,
                                f"killed by signal {-result.code}\nstderr: {result.err[-2000:]}")
        self.assertEqual(result.code, code, f"stdout: {result.out[-2000:]}\nstderr: {result.err[-2000:]}")

    def assertBadInput(self, result, pattern=None):
        self.assertExit(result, 2)
        self.assertTrue(result.err.strip(), "exit 2 without a message on stderr")
        if pattern:
            self.assertRegex(result.err, pattern)


class CalcTest(CliCase):
    def calc(self, *args):
        r = run("calc", *args)
        self.assertExit(r, 0)
        return r.json()

    def test_worked_example_99_9_over_30_days_at_1_percent(self):
        out = self.calc("--target", "99.9", "--window", "30d", "--error-rate", "1%")
        self.assertAlmostEqual(out["budgetMinutes"], 43.2, places=9)
        self.assertAlmostEqual(out["errorBudgetRatio"], 0.001, places=12)
        self.assertAlmostEqual(out["burnRate"], 10.0, places=9)
        self.assertAlmostEqual(out["exhaustionDays"], 3.0, places=9)
        self.assertAlmostEqual(out["exhaustionHours"], 72.0, places=9)
        self.assertAlmostEqual(out["target"], 0.999, places=12)
        self.assertEqual(out["window"], "30d")
        self.assertEqual([a["name"] for a in out["alerts"]],
                         ["page-1h", "page-6h", "ticket-1d", "ticket-3d"])
        for alert, factor in zip(out["alerts"], [14.4, 6, 3, 1]):
            self.assertAlmostEqual(alert["burnRateThreshold"], factor, places=9)
        self.assertEqual(out["alerts"][0]["longWindow"], "1h")
        self.assertEqual(out["alerts"][0]["shortWindow"], "5m")
        self.assertAlmostEqual(out["alerts"][0]["budgetPercentAtThreshold"], 2.0)

    def test_printed_figures_are_tidy(self):
        # 1 - 0.999 must print as 0.001, not 0.0010000000000000009.
        r = run("calc", "--target", "99.9", "--error-rate", "1%")
        self.assertIn('"errorBudgetRatio": 0.001,', r.out)
        self.assertIn('"budgetMinutes": 43.2,', r.out)

    def test_time_budgets_of_other_targets(self):
        self.assertAlmostEqual(self.calc("--target", "99.95")["budgetMinutes"], 21.6, places=9)
        self.assertAlmostEqual(self.calc("--target", "99.99")["budgetMinutes"], 4.32, places=9)
        self.assertAlmostEqual(self.calc("--target", "99")["budgetHours"], 7.2, places=9)
        self.assertAlmostEqual(self.calc("--target", "99.9%")["budgetMinutes"], 43.2, places=9)
        self.assertAlmostEqual(self.calc("--target", "0.999")["budgetMinutes"], 43.2, places=9)

    def test_default_window_is_thirty_days(self):
        out = self.calc("--target", "99.9")
        self.assertEqual(out["window"], "30d")
        self.assertNotIn("burnRate", out)

    def test_twenty_eight_day_window(self):
        out = self.calc("--target", "99.9", "--window", "28d", "--error-rate", "1%")
        self.assertAlmostEqual(out["exhaustionDays"], 2.8, places=9)
        factors = [a["burnRateThreshold"] for a in out["alerts"]]
        for got, want in zip(factors, [13.44, 5.6, 2.8, 0.93]):
            self.assertAlmostEqual(got, want, delta=0.005)

    def test_fourteen_point_four_x_exhausts_in_2_08_days(self):
        out = self.calc("--target", "99.9", "--error-rate", "1.44%")
        self.assertAlmostEqual(out["burnRate"], 14.4, places=9)
        self.assertAlmostEqual(out["exhaustionDays"], 2.08, delta=0.005)

    def test_error_rate_forms(self):
        self.assertAlmostEqual(self.calc("--target", "99.9", "--error-rate", "0.01")["burnRate"], 10)
        self.assertAlmostEqual(self.calc("--target", "99.9", "--error-rate", "1")["burnRate"], 10)
        self.assertAlmostEqual(self.calc("--target", "99.9", "--error-rate", "0.5%")["burnRate"], 5)
        out = self.calc("--target", "99.9", "--error-rate", "0%")
        self.assertEqual(out["burnRate"], 0)
        self.assertIsNone(out["exhaustionDays"])  # never, not infinity

    def test_seventy_five_percent_in_fifteen_of_thirty_days_is_one_point_five_x(self):
        out = self.calc("--target", "99.5", "--window", "30d", "--consumed", "75", "--elapsed", "15d")
        self.assertAlmostEqual(out["averageBurnRate"], 1.5, places=9)
        self.assertAlmostEqual(out["consumedPercent"], 75, places=9)
        self.assertEqual(out["elapsed"], "15d")

    def test_bad_flags_exit_2_with_a_message(self):
        cases = [
            (["--target", "150"], r"--target \"150\""),
            (["--target", "100"], r"--target"),
            (["--target", "0"], r"--target"),
            (["--target", "abc"], r"--target \"abc\""),
            (["--target", "nan"], r"--target"),
            (["--target", "inf"], r"--target"),
            (["--target", ""], r"--target"),
            (["--target", "99.9", "--window", "30x"], r"--window \"30x\""),
            (["--target", "99.9", "--window", "1M"], r"--window"),
            (["--target", "99.9", "--window", "0d"], r"--window"),
            (["--target", "99.9", "--error-rate", "-1%"], r"--error-rate"),
            (["--target", "99.9", "--error-rate", "200%"], r"--error-rate"),
            (["--target", "99.9", "--error-rate", "lots"], r"--error-rate"),
            (["--target", "99.9", "--consumed", "75"], r"--consumed .* --elapsed"),
            (["--target", "99.9", "--consumed", "75", "--elapsed", "40d"], r"elapsed within the window"),
            (["--target", "99.9", "--elapsed", "15d"], r"--consumed"),
            (["--target", "99.9", "--no-such-flag"], r"no-such-flag"),
            ([], r"--target is required"),
        ]
        for args, pattern in cases:
            with self.subTest(args=args):
                r = run("calc", *args)
                self.assertBadInput(r, pattern)
                self.assertEqual(r.out, "")


class ValidateTest(CliCase):
    def test_samples_are_valid(self):
        files = [sample("slo-checkout.yaml"), sample("openslo-search-latency.yaml"),
                 sample("policy-default.yaml")]
        r = run("validate", "-f", *files)
        self.assertExit(r, 0)
        for f in files:
            self.assertIn(f + ": valid", r.out)
        self.assertIn("ServiceLevelObjective shop/checkout-availability (target 99.9%, window 30d",
                      r.out)
        self.assertIn("SLO default/search-latency", r.out)
        self.assertIn("ErrorBudgetPolicy default (mode enforce)", r.out)

    def test_long_flag_and_stdin(self):
        with open(sample("slo-checkout.yaml")) as f:
            text = f.read()
        r = run("validate", "--filename", "-", stdin=text)
        self.assertExit(r, 0)
        self.assertIn("<stdin>: valid", r.out)

    def broken_slo(self, old, new):
        with open(sample("slo-checkout.yaml")) as f:
            text = f.read()
        self.assertIn(old, text)
        return text.replace(old, new, 1)

    def expect_error(self, text, path, message, needle):
        file = self.write("broken.yaml", text)
        r = run("validate", "-f", file)
        self.assertBadInput(r)
        line = text[:text.index(needle)].count("\n") + 1
        pattern = re.escape(file) + r":(\d+):(\d+): " + re.escape(path) + r": .*" + re.escape(message)
        m = re.search(pattern, r.err)
        self.assertIsNotNone(m, f"no match for {pattern!r} in:\n{r.err}")
        self.assertEqual(int(m.group(1)), line, r.err)
        self.assertGreater(int(m.group(2)), 0)
        self.assertIn("0 valid, 1 invalid", r.err)
        return r

    def test_target_out_of_range(self):
        self.expect_error(self.broken_slo("target: 0.999", "target: 1.5"),
                          "spec.objectives[0].target", "expected a fraction in [0, 1)", "1.5")

    def test_target_percent_out_of_range(self):
        self.expect_error(self.broken_slo("target: 0.999", "targetPercent: 150"),
                          "spec.objectives[0].targetPercent", "[0, 100)", "150")

    def test_bad_duration(self):
        self.expect_error(self.broken_slo("duration: 30d", "duration: 30days"),
                          "spec.timeWindow[0].duration", "expected a duration", "30days")

    def test_unknown_field(self):
        self.expect_error(self.broken_slo("target: 0.999", "targt: 0.999"),
                          "spec.objectives[0].targt", "unknown field", "targt")

    def test_wrong_budgeting_method(self):
        self.expect_error(self.broken_slo("budgetingMethod: Occurrences", "budgetingMethod: Events"),
                          "spec.budgetingMethod", "expected Occurrences, Timeslices or RatioTimeslices",
                          "Events")

    def test_every_error_is_listed(self):
        text = self.broken_slo("target: 0.999", "target: 1.5")
        text = text.replace("duration: 30d", "duration: 1M")
        file = self.write("two.yaml", text)
        r = run("validate", "-f", file)
        self.assertBadInput(r)
        errors = [l for l in r.err.splitlines() if l.startswith(file + ":")]
        self.assertEqual(len(errors), 2, r.err)
        for e in errors:
            self.assertRegex(e, re.escape(file) + r":\d+:\d+: spec\.")

    def test_malformed_yaml(self):
        file = self.write("syntax.yaml", "apiVersion: v1\nkind: [ServiceLevelObjective\nspec: {\n")
        r = run("validate", "-f", file)
        self.assertBadInput(r, re.escape(file) + r":\d+:\d+: malformed YAML")

    def test_unsupported_kind_empty_and_missing_files(self):
        cm = self.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\n")
        self.assertBadInput(run("validate", "-f", cm), r'unsupported kind "ConfigMap"')
        empty = self.write("empty.yaml", "# nothing here\n")
        self.assertBadInput(run("validate", "-f", empty), r"no documents")
        self.assertBadInput(run("validate", "-f", os.path.join(self.tmp, "absent.yaml")),
                            r"cannot open")
        self.assertBadInput(run("validate"), r"-f")

    def test_multi_document_files_name_each_document(self):
        with open(sample("slo-checkout.yaml")) as f:
            good = f.read()
        bad = self.broken_slo("target: 0.999", "target: 2")
        file = self.write("multi.yaml", good + "\n---\n" + bad)
        r = run("validate", "-f", file)
        self.assertBadInput(r)
        self.assertIn(file + "#1: valid", r.out)
        self.assertRegex(r.err, re.escape(file) + r"#2:\d+:\d+: spec\.objectives\[0\]\.target")
        self.assertIn("1 valid, 1 invalid", r.err)

    def test_policy_errors(self):
        with open(sample("policy-default.yaml")) as f:
            text = f.read().replace("mode: enforce", "mode: strict")
        file = self.write("policy.yaml", text)
        r = run("validate", "-f", file)
        self.assertBadInput(r, re.escape(file) + r":\d+:\d+: spec\.mode: expected enforce, warn or audit")


def deployment_with(annotations):
    with open(sample("gate", "checkout-v2.yaml")) as f:
        text = f.read()
    extra = "".join(f"    {k}: {v}\n" for k, v in annotations.items())
    return text.replace("  annotations:\n", "  annotations:\n" + extra, 1)


REPLICA_SET_V1 = """apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: checkout-7f9c4
  namespace: shop
  labels: {app: checkout, pod-template-hash: 7f9c4}
spec:
  replicas: 0
  template:
    metadata:
      labels:
        pod-template-hash: 7f9c4
        app: checkout
    spec:
      containers:
        - image: registry.example/checkout:{version}
          name: checkout
"""


class GateTest(CliCase):
    def gate(self, *args, deployment=None, status="status-exhausted.json"):
        argv = ["gate", "--status", sample("gate", status),
                "--deployment", deployment or sample("gate", "checkout-v2.yaml"), *args]
        return run(*argv)

    def test_healthy_is_allowed(self):
        r = self.gate("--old", sample("gate", "checkout-v1.yaml"), status="status-healthy.json")
        self.assertExit(r, 0)
        out = r.json()
        self.assertIs(out["allowed"], True)
        self.assertIs(out["gated"], True)
        self.assertEqual(out["tier"], "healthy")
        self.assertEqual(out["decision"], "approve")
        self.assertIsNone(out["exception"])
        self.assertEqual(out["auditAnnotations"]["decision"], "allowed")

    def test_exhausted_is_denied_with_the_message(self):
        r = self.gate("--old", sample("gate", "checkout-v1.yaml"))
        self.assertExit(r, 1)
        out = r.json()
        self.assertIs(out["allowed"], False)
        self.assertEqual(out["tier"], "exhausted")
        self.assertEqual(out["decision"], "block")
        m = out["message"]
        self.assertIn("budgetgate denied the rollout of deployment shop/checkout", m)
        self.assertIn("SLO shop/status-exhausted is exhausted", m)
        self.assertIn("0.0% of the error budget left (146.0% consumed)", m)
        self.assertIn("1h burn rate 0.20x", m)
        self.assertIn("risk medium", m)
        self.assertIn("tier exhausted x risk medium = block", m)
        self.assertIn("To proceed:", m)
        self.assertIn("kubectl rollout undo", m)
        self.assertEqual(out["auditAnnotations"]["decision"], "denied")

    def test_rollback_to_a_previous_replicaset_is_allowed(self):
        rs = self.write("rs.yaml", REPLICA_SET_V1.replace("{version}", "1.5.0"))
        r = self.gate("--old", sample("gate", "checkout-v1.yaml"), "--replicaset", rs)
        self.assertExit(r, 0)
        out = r.json()
        self.assertIs(out["allowed"], True)
        self.assertEqual(out["exception"], "rollback")
        self.assertEqual(out["auditAnnotations"]["exception"], "rollback by kubectl-user")

    def test_replicaset_list_as_from_kubectl(self):
        as_list = {"apiVersion": "v1", "kind": "List",
                   "items": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                              "spec": {"template": {"metadata": {"labels": {
                                  "app": "checkout", "pod-template-hash": str(i)}},
                                  "spec": {"containers": [{"name": "checkout",
                                                           "image": f"registry.example/checkout:{v}"}]}}}}
                             for i, v in enumerate(("1.3.0", "1.5.0"))]}
        rs = self.write("rs-list.json", json.dumps(as_list))
        r = self.gate("--replicaset", rs)
        self.assertExit(r, 0)
        self.assertEqual(r.json()["exception"], "rollback")

    def test_rollback_annotation_without_a_matching_replicaset_is_not_honoured(self):
        rs = self.write("rs.yaml", REPLICA_SET_V1.replace("{version}", "1.3.0"))
        dep = self.write("dep.yaml", deployment_with({"budgetgate.dev/release-type": "rollback"}))
        r = self.gate("--replicaset", rs, deployment=dep)
        self.assertExit(r, 1)
        out = r.json()
        self.assertIsNone(out["exception"])
        self.assertTrue(any("rollback not honoured" in w for w in out["warnings"]), out["warnings"])

    def test_security_release_by_sre_is_allowed_and_by_others_denied(self):
        dep = self.write("dep.yaml", deployment_with({"budgetgate.dev/release-type": "security"}))
        policy = sample("policy-default.yaml")
        r = self.gate("--policy", policy, "--user", "alice", "--group", "sre", deployment=dep)
        self.assertExit(r, 0)
        out = r.json()
        self.assertEqual(out["exception"], "security")
        self.assertEqual(out["releaseType"], "security")
        self.assertEqual(out["auditAnnotations"]["exception"], "security by alice")

        r = self.gate("--policy", policy, "--user", "bob", "--group", "developers", deployment=dep)
        self.assertExit(r, 1)
        out = r.json()
        self.assertIsNone(out["exception"])
        self.assertTrue(any("release-type security not honoured: user bob" in w
                            for w in out["warnings"]), out["warnings"])
        self.assertIn("security by group sre", out["message"])

    def test_unchanged_template_is_not_gated(self):
        r = self.gate("--old", sample("gate", "checkout-v2.yaml"))
        self.assertExit(r, 0)
        out = r.json()
        self.assertIs(out["gated"], False)
        self.assertEqual(out["decision"], "not-gated")

    def test_lower_risk_changes_the_verdict(self):
        dep = self.write("dep.yaml", deployment_with({}).replace("budgetgate.dev/risk: medium",
                                                                 "budgetgate.dev/risk: high"))
        r = self.gate(deployment=dep, status="status-healthy.json")
        self.assertExit(r, 0)  # healthy x high = review: allowed with a warning
        out = r.json()
        self.assertEqual(out["decision"], "review")
        self.assertTrue(any("review required" in w for w in out["warnings"]))

    def test_stale_status_follows_on_missing_data(self):
        # Two hours stale: the last known tier (exhausted) still decides, by default.
        r = self.gate("--now", "2026-01-31T02:00:00Z")
        self.assertExit(r, 1)
        out = r.json()
        self.assertEqual(out["decision"], "block")
        self.assertIn("at its last known status (2.0h ago", out["message"])
        # Beyond lastKnownFor (24h): the fallback, allow-with-warning by default.
        r = self.gate("--now", "2026-02-01T00:00:01Z")
        self.assertExit(r, 0)
        out = r.json()
        self.assertEqual(out["decision"], "no-data")
        self.assertTrue(any("staleAfter 10m, last-known for 1d" in w for w in out["warnings"]),
                        out["warnings"])
        with open(sample("policy-default.yaml")) as f:
            sample_policy = f.read()
        strict = sample_policy.replace("onMissingData: last-known", "onMissingData: deny")
        self.assertNotEqual(strict, sample_policy)
        r = self.gate("--now", "2026-01-31T02:00:00Z", "--policy", self.write("strict.yaml", strict))
        self.assertExit(r, 1)
        self.assertIn("onMissingData = deny", r.json()["message"])
        # The former default, where a policy asks for it: a stale exhausted SLO is admitted.
        lax = sample_policy.replace("onMissingData: last-known", "onMissingData: allow-with-warning")
        r = self.gate("--now", "2026-01-31T02:00:00Z", "--policy", self.write("lax.yaml", lax))
        self.assertExit(r, 0)
        self.assertEqual(r.json()["decision"], "no-data")

    def test_whole_slo_with_status_uses_its_selector(self):
        with open(sample("slo-checkout.yaml")) as f:
            slo = f.read()
        with open(sample("gate", "status-exhausted.json")) as f:
            status = json.load(f)
        whole = slo + "status: " + json.dumps(status) + "\n"
        path = self.write("slo.yaml", whole)
        r = run("gate", "--status", path, "--deployment", sample("gate", "checkout-v2.yaml"))
        self.assertExit(r, 1)
        self.assertIn("SLO shop/checkout-availability is exhausted", r.json()["message"])
        other = self.write("other.yaml", whole.replace("app: checkout", "app: cart"))
        r = run("gate", "--status", other, "--deployment", sample("gate", "checkout-v2.yaml"))
        self.assertExit(r, 0)
        self.assertIs(r.json()["gated"], False)

    def test_several_statuses_worst_tier_decides(self):
        r = run("gate", "--status", sample("gate", "status-healthy.json"),
                "--status", sample("gate", "status-exhausted.json"),
                "--deployment", sample("gate", "checkout-v2.yaml"))
        self.assertExit(r, 1)
        out = r.json()
        self.assertEqual(out["tier"], "exhausted")
        self.assertEqual(out["auditAnnotations"]["slos"],
                         "shop/status-healthy=healthy,shop/status-exhausted=exhausted")

    def test_bad_flags(self):
        self.assertBadInput(self.gate("--now", "yesterday"), r"--now \"yesterday\"")
        self.assertBadInput(run("gate", "--deployment", sample("gate", "checkout-v2.yaml")),
                            r"--status is required")
        self.assertBadInput(run("gate", "--status", sample("gate", "status-healthy.json")),
                            r"--deployment is required")
        self.assertBadInput(self.gate(deployment=sample("slo-checkout.yaml")),
                            r"expected kind Deployment")
        self.assertBadInput(self.gate("--policy", sample("slo-checkout.yaml")), r"")


# Malformed inputs of every kind: each must give exit 2 with a message, never a crash or a hang.
MALFORMED = {
    "empty": "",
    "whitespace": "  \n\n",
    "garbage": "this is : not : valid : [",
    "truncated_json": '{"lastEvaluated": "2026-01-31T00:00:00Z", "tier": "exha',
    "deep_brackets": "[" * 100000,
    "deep_braces": "{" * 100000,
    "deep_balanced": "[" * 5000 + "]" * 5000,
    "cyclic_alias": "&a [*a]",
    "cyclic_alias_map": "metadata: &m {name: x, labels: *m}\nspec: &s {template: *s}\nkind: Deployment\n",
    "billion_laughs": "a0: &a0 [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10)),
    "stray_comma": '{"tier": "healthy"},\n',
    "lone_comma": ",",
    "binary": "\x00\x01\x02\xff\xfe garbage",
    "unknown_alias": "*nowhere",
    "bad_escape": '{"a": "\\uZZZZ"}',
    "tab_indent": "a:\n\tb: 1\n",
}


# Well-formed YAML of the wrong shape. A status is read leniently (what cannot be used is missing
# data, handled by onMissingData); everything else is refused with exit 2.
WRONG_SHAPE = {
    "nan": '{"tier": NaN, "lastEvaluated": Infinity}',
    "huge_numbers": '{"metadata": {"name": 1e999}, "spec": {"replicas": 1e99999}}',
    "scalar": "42",
    "list": "[1, 2, 3]",
    "two_documents": "a: 1\n---\nb: 2\n",
    "wrong_types": '{"metadata": [], "spec": {"template": "x"}, "lastEvaluated": 5, "tier": []}',
}


class MalformedInputTest(CliCase):
    def check(self, role, name, text, lenient_status=False):
        path = self.write(f"{role}-{name}.yaml", text.encode("utf-8", "surrogateescape"), mode="wb")
        args = {
            "status": ["--status", path, "--deployment", sample("gate", "checkout-v2.yaml")],
            "deployment": ["--status", sample("gate", "status-healthy.json"), "--deployment", path],
            "old": ["--status", sample("gate", "status-healthy.json"),
                    "--deployment", sample("gate", "checkout-v2.yaml"), "--old", path],
            "replicaset": ["--status", sample("gate", "status-healthy.json"),
                           "--deployment", sample("gate", "checkout-v2.yaml"), "--replicaset", path],
            "policy": ["--status", sample("gate", "status-healthy.json"),
                       "--deployment", sample("gate", "checkout-v2.yaml"), "--policy", path],
        }[role]
        r = run("gate", *args)
        self.assertGreaterEqual(r.code, 0, f"{role}/{name}: killed by signal {-r.code}")
        if lenient_status and role == "status" and r.code != 2:
            self.assertEqual(r.code, 0, r.err)
            out = r.json()
            self.assertEqual(out["decision"], "no-data", out)
            self.assertTrue(out["warnings"], out)  # never a silent allow
            return
        self.assertEqual(r.code, 2, f"{role}/{name}: exit {r.code}\nstdout: {r.out[-500:]}\n"
                                    f"stderr: {r.err[-500:]}")
        self.assertTrue(r.err.strip(), f"{role}/{name}: no message")
        self.assertLess(len(r.err), 20000, f"{role}/{name}: runaway message")

        v = run("validate", "-f", path)
        self.assertGreaterEqual(v.code, 0, f"validate {name}: killed by signal {-v.code}")
        self.assertEqual(v.code, 2, f"validate {name}: exit {v.code}\n{v.err[-500:]}")
        self.assertTrue(v.err.strip())

    def test_malformed_inputs_never_crash(self):
        for role in ("status", "deployment", "old", "replicaset", "policy"):
            for name, text in MALFORMED.items():
                with self.subTest(role=role, input=name):
                    self.check(role, name, text)

    def test_wrong_shapes_never_crash(self):
        for role in ("status", "deployment", "old", "replicaset", "policy"):
            for name, text in WRONG_SHAPE.items():
                with self.subTest(role=role, input=name):
                    self.check(role, name, text, lenient_status=True)

    def test_yaml_syntax_errors_have_a_position(self):
        path = self.write("bad.yaml", "a: [1, 2\nb: 3\n")
        r = run("gate", "--status", path, "--deployment", sample("gate", "checkout-v2.yaml"))
        self.assertBadInput(r, re.escape(path) + r":\d+:\d+: malformed YAML")
        path = self.write("cycle.yaml", "&a [*a]")
        r = run("validate", "-f", path)
        self.assertBadInput(r, re.escape(path) + r":\d+:\d+: malformed YAML: .*alias contains itself")
        path = self.write("comma.yaml", "[1],")
        r = run("validate", "-f", path)
        self.assertBadInput(r, re.escape(path) + r":1:\d+: malformed YAML")

    def test_unreadable_paths(self):
        self.assertBadInput(run("gate", "--status", self.tmp,
                                "--deployment", sample("gate", "checkout-v2.yaml")))
        self.assertBadInput(run("gate", "--status", os.path.join(self.tmp, "nope.json"),
                                "--deployment", sample("gate", "checkout-v2.yaml")), r"cannot open")


class ReportTest(CliCase):
    SLO = property(lambda self: sample("slo-checkout.yaml"))

    def test_help_explains_every_flag(self):
        r = run("report", "--help")
        self.assertExit(r, 0)
        for w in ["-f", "--filename", "--prometheus", "--policy", "--at", "--since", "--team-label",
                  "-o", "--output", "markdown", "csv", "json", "--output-file", "--kubeconfig",
                  "--context", "-n", "--namespace", "-A", "--all-namespaces", "--gate-namespace"]:
            self.assertIn(w, r.out)

    def test_bad_flags_and_inputs_are_exit_2_with_a_message(self):
        prom = ["--prometheus", "http://127.0.0.1:1"]
        self.assertBadInput(run("report", "-f", self.SLO, *prom, "-o", "html"),
                            r'-o "html": expected markdown, csv or json')
        self.assertBadInput(run("report", "-f", self.SLO), r"--prometheus")
        self.assertBadInput(run("report", *prom), r"-f FILE.*--kubeconfig")
        self.assertBadInput(run("report", "-f", self.SLO, *prom, "-n", "shop"), r"-n and -A")
        self.assertBadInput(run("report", "--kubeconfig", "x", *prom, "-n", "shop", "-A"),
                            r"-n and -A exclude each other")
        self.assertBadInput(run("report", "-f", self.SLO, *prom, "--since", "soon"), r"--since")
        self.assertBadInput(run("report", "-f", self.SLO, *prom, "--since", "30m"), r"at least 1h")
        self.assertBadInput(run("report", "-f", self.SLO, *prom, "--at", "yesterday"), r"--at")
        self.assertBadInput(run("report", "-f", self.SLO, *prom, "--team-label", ""),
                            r"--team-label")
        self.assertBadInput(run("report", "-f", os.path.join(self.tmp, "none.yaml"), *prom),
                            r"cannot open")
        self.assertBadInput(run("report", "-f", sample("policy-default.yaml"), *prom),
                            r"no SLO documents")
        self.assertBadInput(run("report", "--kubeconfig", os.path.join(self.tmp, "missing"), *prom),
                            r"--kubeconfig")

    def test_prometheus_down_still_reports_and_exits_3(self):
        out = os.path.join(self.tmp, "report.json")
        r = run("report", "-f", self.SLO, "--prometheus", "http://127.0.0.1:1",
                "--prometheus-retries", "0", "--at", "2026-01-31T00:00:00Z", "-o", "json",
                "--output-file", out)
        self.assertExit(r, 3)
        self.assertEqual(r.out, "")
        with open(out) as f:
            rep = json.load(f)
        slo = rep["teams"][0]["services"][0]["slos"][0]
        self.assertEqual(slo["tier"], "unknown")
        self.assertIsNone(slo["remainingPercent"])
        self.assertIsNone(slo["frozenHoursByRisk"])
        self.assertIsNone(slo["denials"])
        self.assertIn("no budget", slo["note"])
        md = run("report", "-f", self.SLO, "--prometheus", "http://127.0.0.1:1",
                 "--prometheus-retries", "0", "--at", "2026-01-31T00:00:00Z")
        self.assertExit(md, 3)
        self.assertIn("# Error budget review: 30d window ending 2026-01-31T00:00:00Z", md.out)
        self.assertIn("## Teams", md.out)


class HelpTest(CliCase):
    def test_help_on_every_command(self):
        for args, words in [((), ["calc", "validate", "gate"]),
                            (("calc",), ["--target", "--window", "--error-rate", "--consumed",
                                         "--elapsed"]),
                            (("validate",), ["-f", "--filename"]),
                            (("gate",), ["--status", "--deployment", "--old", "--replicaset",
                                         "--policy", "--user", "--group", "--now"]),
                            (("check",), ["-f", "--kubeconfig", "--as", "dry-run=server"]),
                            (("approve",), ["--deployment", "--workload", "--template-hash"])]:
            for flag in ("--help", "-h"):
                with self.subTest(args=args, flag=flag):
                    r = run(*args, flag)
                    self.assertExit(r, 0)
                    for w in words:
                        self.assertIn(w, r.out)

    def test_check_without_files_or_cluster(self):
        self.assertBadInput(run("check"), r"-f")
        r = run("check", "-f", sample("gate", "checkout-v2.yaml"), "--kubeconfig",
                os.path.join(self.tmp, "missing-kubeconfig"))
        self.assertBadInput(r, r"check needs the API server")

    def test_version_and_missing_command(self):
        r = run("--version")
        self.assertExit(r, 0)
        self.assertRegex(r.out, r"budgetgate \d+\.\d+\.\d+")
        self.assertBadInput(run(), r"subcommand is required")
        self.assertBadInput(run("frobnicate"))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    BINARY = os.path.abspath(sys.argv[1])
    SOURCE = os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0], "-v", *sys.argv[3:]])
