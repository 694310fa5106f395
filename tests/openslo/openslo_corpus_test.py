#!/usr/bin/env python3
"""OpenSLO v1, judged by OpenSLO's own reference validator.

Every document under tests/openslo/ is given to `oslo validate` (github.com/OpenSLO/oslo
v0.13.0, built by tests/scripts/setup-oslo.sh) and to `budgetgate validate`:

  valid/        oslo accepts it, and so does budgetgate; `budgetgate import` turns it into a
                ServiceLevelObjective that `budgetgate validate` accepts again, and `budgetgate
                rules` over the imported SLOs passes `promtool check rules`
  invalid/      oslo refuses it, and so does budgetgate
  unsupported/  oslo accepts it; budgetgate refuses it (it is valid OpenSLO that budgetgate
                cannot compute, e.g. a rolling month or a Datadog source) with a message that
                names the OpenSLO spec section

One construct per document; the spec's own examples are adapted to Prometheus (spec-*.yaml).

Usage: openslo_corpus_test.py BUDGETGATE_BINARY SOURCE_DIR
"""

import glob
import os
import subprocess
import sys
import tempfile

TIMEOUT = 60


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def main():
    budgetgate, source = sys.argv[1], sys.argv[2]
    corpus = os.path.join(source, "tests", "openslo")
    setup = run([os.path.join(source, "tests", "scripts", "setup-oslo.sh"), "--path"])
    if setup.returncode != 0:
        print(setup.stderr)
        print("0 passed, 1 failed (oslo could not be built)")
        return 1
    oslo = setup.stdout.strip()
    passed, failed = 0, []
    expected = {"valid": (True, True), "invalid": (False, False), "unsupported": (True, False)}
    counts = {}
    for group, (oslo_ok, ours_ok) in expected.items():
        files = sorted(glob.glob(os.path.join(corpus, group, "*.yaml")))
        counts[group] = len(files)
        if not files:
            failed.append(f"{group}/: no documents")
        for path in files:
            name = f"{group}/{os.path.basename(path)}"
            o = run([oslo, "validate", "-f", path])
            b = run([budgetgate, "validate", "-f", path])
            problems = []
            if (o.returncode == 0) != oslo_ok:
                problems.append(f"oslo says {'valid' if o.returncode == 0 else 'invalid'}: "
                                f"{(o.stdout + o.stderr).strip()[:400]}")
            if b.returncode not in (0, 2):
                problems.append(f"budgetgate validate exited {b.returncode}: {b.stderr[:400]}")
            elif (b.returncode == 0) != ours_ok:
                problems.append(f"budgetgate says {'valid' if b.returncode == 0 else 'invalid'}: "
                                f"{(b.stdout + b.stderr).strip()[:400]}")
            if group == "unsupported" and b.returncode == 2 and "OpenSLO v1 §" not in b.stderr:
                problems.append(f"the refusal does not name the spec section: {b.stderr[:400]}")
            if group == "valid" and b.returncode == 0:
                imported = run([budgetgate, "import", "-f", path, "-n", "shop"])
                if imported.returncode != 0:
                    problems.append(f"import failed: {imported.stderr[:400]}")
                else:
                    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                        f.write(imported.stdout)
                        f.flush()
                        again = run([budgetgate, "validate", "-f", f.name])
                        if again.returncode != 0:
                            problems.append(f"the imported manifest is invalid: {again.stderr[:400]}")
                        rules = run([budgetgate, "rules", "-f", f.name])
                        if rules.returncode != 0:
                            problems.append(f"rules failed: {rules.stderr[:400]}")
                        else:
                            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as r:
                                r.write(rules.stdout)
                                r.flush()
                                check = run(["promtool", "check", "rules", r.name])
                                if check.returncode != 0:
                                    problems.append(f"promtool refuses the rules: {check.stdout[-400:]}")
            if problems:
                failed.append(name + ": " + "; ".join(problems))
                print(f"FAIL {name}: " + "; ".join(problems))
            else:
                passed += 1
                print(f"PASS {name}")
    print(f"corpus: {counts}")
    for f in failed:
        print("FAILED " + f)
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
