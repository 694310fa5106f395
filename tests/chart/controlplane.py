"""A real kube-apiserver (+ etcd) for the chart and CRD tests, through the project's scripts.

Contract (tests/scripts): `build-controlplane.sh` builds the binaries into the cache
(idempotent); `controlplane.sh start DIR` starts a control plane on loopback and writes
DIR/kubeconfig and DIR/env (KUBECONFIG=...); `controlplane.sh stop DIR` stops it.
When the scripts are missing, `require()` exits with SKIP (77) and says why.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SCRIPTS = ROOT / "tests" / "scripts"
BUILD = SCRIPTS / "build-controlplane.sh"
CONTROL = SCRIPTS / "controlplane.sh"
SKIP = 77


def require():
    """Exit with SKIP unless the control-plane scripts and kubectl are there."""
    missing = [str(p.relative_to(ROOT)) for p in (BUILD, CONTROL) if not p.exists()]
    if missing:
        print(f"SKIP: cannot start a real kube-apiserver: {', '.join(missing)} not found "
              "(the test is written against their contract: start DIR writes DIR/kubeconfig and DIR/env)")
        sys.exit(SKIP)
    if not shutil.which("kubectl"):
        print("SKIP: kubectl not found")
        sys.exit(SKIP)


def parse_env(path):
    env = {}
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        k = k.removeprefix("export ").strip()
        env[k] = v.strip().strip("'\"")
    return env


class ControlPlane:
    def __init__(self, name):
        self.name = name
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"budgetgate-{name}-"))
        self.env = None

    def start(self):
        # Idempotent; when it does build, it takes the machine's build lock itself (wrapping it
        # in `flock` here would deadlock against its own inner flock).
        subprocess.run([str(BUILD)], check=True, stdout=sys.stderr)
        try:
            subprocess.run([str(CONTROL), "start", str(self.dir)], check=True, stdout=sys.stderr)
            env_file = self.dir / "env"
            values = parse_env(env_file) if env_file.exists() else {}
            kubeconfig = values.get("KUBECONFIG") or str(self.dir / "kubeconfig")
            self.env = {**os.environ, **values, "KUBECONFIG": kubeconfig}
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            p = self.kubectl("get", "--raw", "/readyz", check=False)
            if p.returncode == 0 and p.stdout.strip() == "ok":
                return
            last = p.stderr or p.stdout
            time.sleep(1)
        raise RuntimeError(f"kube-apiserver in {self.dir} not ready after {timeout}s: {last}")

    def stop(self):
        subprocess.run([str(CONTROL), "stop", str(self.dir)], check=False, stdout=sys.stderr)
        if os.environ.get("BUDGETGATE_KEEP_TEST_DIRS"):
            print(f"kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def kubectl(self, *args, input=None, check=True):
        p = subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True,
                           env=self.env, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        return p

    def helm(self, helm_bin, *args, check=True):
        p = subprocess.run([helm_bin, *args], capture_output=True, text=True, env=self.env, timeout=300)
        if check and p.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        return p

    def wait_crds(self, *names):
        for n in names:
            self.kubectl("wait", "--for=condition=Established", f"crd/{n}", "--timeout=60s")

    def has_api_group(self, group):
        p = self.kubectl("api-resources", f"--api-group={group}", "-o", "name", check=False)
        return p.returncode == 0 and bool(p.stdout.strip())
