"""Shared plumbing for budgetgate's end-to-end tests.

Every test runs real parts started by the project's own scripts: Prometheus with synthetic
history (tests/scripts/prometheus.sh), a kube-apiserver + etcd + kube-controller-manager
(tests/scripts/controlplane.sh) and the budgetgate binary itself. Nothing is mocked. All servers
listen on 127.0.0.1 only and are stopped when the test ends, pass or fail.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUDGETGATE_BUILD_DIR", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "budgetgate")
SCRIPTS = os.path.join(ROOT, "tests", "scripts")
SCENARIOS = os.path.join(ROOT, "tests", "prometheus", "scenarios")
DATA = os.path.join(ROOT, "tests", "e2e", "data")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class TestFailure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def check_close(actual, expected, rel, message):
    if expected == 0:
        check(abs(actual) <= rel, f"{message}: expected ~0, got {actual}")
    else:
        check(abs(actual - expected) / abs(expected) <= rel,
              f"{message}: expected {expected} (±{rel * 100:g}%), got {actual}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admitted(result):
    """Checks that a command went through; returns it (warnings are in its stderr)."""
    check(result.returncode == 0, f"must be admitted: {result.stderr.strip()}")
    return result


def ratio_slo(name, ns, service, selector, target=0.999, policy_ref=None, extra="", source=None):
    """A 30-day Occurrences SLO on the test history's http_requests_total of `service` (errors:
    code 500), gating the workloads that `selector` (matchLabels; None: nothing) selects, under
    `policy_ref`; `extra` is inserted after spec.service (more spec fields); `source` names the
    data source its metrics are read from (metricSourceRef; None: the default Prometheus)."""
    ref = f"\n    policyRef: {policy_ref}" if policy_ref else ""
    via = f", metricSourceRef: {source}" if source else ""
    gate = (f"\n  gate:\n    selector:\n      matchLabels: {json.dumps(selector)}{ref}"
            if selector is not None else "")
    return f"""apiVersion: slo.budgetgate.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {{name: {name}, namespace: {ns}}}
spec:
  service: {service}{extra}
  indicator:
    spec:
      ratioMetric:
        counter: true
        good: {{metricSource: {{type: Prometheus{via}, spec: {{query: 'http_requests_total{{service="{service}",code!="500"}}'}}}}}}
        total: {{metricSource: {{type: Prometheus{via}, spec: {{query: 'http_requests_total{{service="{service}"}}'}}}}}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: {target}}}]{gate}
"""


def refused(result, *needles):
    """Checks that a command was refused and that its output says each of `needles`."""
    out = result.stdout + result.stderr
    check(result.returncode != 0, f"must be refused, was admitted: {out}")
    for n in needles:
        check(n in out, f"message lacks '{n}': {out.strip()}")
    log(f"refused as expected: {result.stderr.strip()[:300]}")


def wait_until(what, fn, timeout=60, interval=0.5):
    """Polls fn() until it returns a truthy value; returns it or fails after timeout."""
    deadline = time.time() + timeout
    last_error = None
    while time.time() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # pylint: disable=broad-except
            last_error = e
        time.sleep(interval)
    raise TestFailure(f"timed out after {timeout}s waiting for {what}"
                      + (f" (last error: {last_error})" if last_error else ""))


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            if line.startswith("export "):
                line = line[len("export "):]
            key, value = line.split("=", 1)
            env[key] = value.strip().strip('"').strip("'")
    return env


def run(cmd, check_rc=True, timeout=120, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check_rc and result.returncode != 0:
        raise TestFailure(f"{' '.join(cmd)} failed ({result.returncode}):\n"
                          f"stdout: {result.stdout[-3000:]}\nstderr: {result.stderr[-3000:]}")
    return result


def budgetgate(*args, check_rc=False, timeout=120, stdin=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          input=stdin)


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def live_scenario(workdir, services, history_days=31, future_hours=3, step=60, seed=None):
    """Writes a scenario whose history ends `future_hours` after now, so that Prometheus
    answers queries at the wall clock (the controller evaluates "now"). `services` entries use
    gen_history.py's format, with incident starts given as seconds relative to now
    ("startIn": -7200 is two hours ago). Returns the scenario path."""
    import yaml
    now = int(time.time()) // step * step
    out = []
    for svc in services:
        svc = dict(svc)
        incidents = []
        for inc in svc.pop("incidents", []):
            inc = dict(inc)
            inc["start"] = rfc3339(now + int(inc.pop("startIn")))
            incidents.append(inc)
        if incidents:
            svc["incidents"] = incidents
        out.append(svc)
    scenario = {"name": "live", "start": rfc3339(now - history_days * 86400),
                "end": rfc3339(now + future_hours * 3600), "step": f"{step}s", "services": out}
    if seed is not None:
        scenario["seed"] = seed  # needed by per-replica jitter
    path = os.path.join(workdir, "live-scenario.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(scenario, f, sort_keys=False)
    return path


class Prometheus:
    """A real Prometheus serving a scenario's synthetic history."""

    def __init__(self, workdir, scenario="basic.yaml", private_cache=False):
        self.dir = os.path.join(workdir, "prometheus")
        self.scenario = scenario if os.path.isabs(scenario) else os.path.join(SCENARIOS, scenario)
        self.url = None
        self.port = None
        self.env = {}
        # Scenarios written for one run (live ones) get a cache of their own.
        self.extra_env = {"BUDGETGATE_CACHE": os.path.join(workdir, "cache")} if private_cache else {}

    def _script(self, *args, timeout=900):
        env = dict(os.environ)
        env.update(self.extra_env)
        return run([os.path.join(SCRIPTS, "prometheus.sh"), *args], timeout=timeout, env=env)

    def start(self, write_scenario=None):
        """Starts Prometheus. `write_scenario` (optional) writes the scenario file first, under
        the machine's build lock that block generation takes anyway: a live scenario's
        instants ("in 90 s") are then fixed only once the history is about to be written, not
        before a wait for another test's build."""
        os.makedirs(self.dir, exist_ok=True)
        log(f"starting Prometheus with {os.path.basename(self.scenario)}")
        args = ["start", self.scenario, self.dir]
        if self.port:
            args.append(str(self.port))  # a restart keeps its address
        if write_scenario is None:
            self._script(*args)
        else:
            import fcntl
            lock_path = os.environ.get("BUDGETGATE_BUILD_LOCK", "/tmp/budgetgate-build.lock")
            with open(lock_path, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                write_scenario()
                # The script's own locking is done by this process already.
                self.extra_env["BUDGETGATE_BUILD_LOCK"] = os.path.join(os.path.dirname(self.dir),
                                                                       "private-build.lock")
                try:
                    self._script(*args)
                finally:
                    del self.extra_env["BUDGETGATE_BUILD_LOCK"]
        self.env = read_env(os.path.join(self.dir, "env"))
        self.url = self.env["PROM_URL"]
        self.port = int(self.env["PROM_PORT"])
        return self

    def configure(self, scrape_configs=(), rule_files=(), interval="1m", out_of_order_window="1d",
                  external_labels=None):
        """Makes the running Prometheus also scrape `scrape_configs` (prometheus.yml entries) and
        evaluate `rule_files` (paths) every `interval`, with `external_labels` (a dict: what a
        Thanos sidecar requires): rewrites its prometheus.yml (prometheus.sh
        starts it scraping nothing) and reloads it (--web.enable-lifecycle). A live scenario's
        history runs into the future, and the head refuses samples older than the newest block's
        end ("out of bounds"), which scrapes and rule results at the wall clock are: the
        out-of-order window lets them in. A later start() writes the empty configuration again."""
        import urllib.request
        import yaml
        config = {"global": {"scrape_interval": interval, "evaluation_interval": interval,
                             **({"external_labels": dict(external_labels)} if external_labels else {})},
                  "storage": {"tsdb": {"out_of_order_time_window": out_of_order_window}},
                  "scrape_configs": list(scrape_configs),
                  "rule_files": [os.path.abspath(p) for p in rule_files]}
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        req = urllib.request.Request(self.url + "/-/reload", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            check(r.status == 200, f"Prometheus reload: HTTP {r.status}")

        def loaded():
            _, body = http_get(self.url + "/api/v1/status/config")
            text = json.loads(body)["data"]["yaml"]
            return all(c["job_name"] in text for c in scrape_configs) and \
                all(os.path.abspath(p) in text for p in rule_files) and \
                all(f"{k}: {v}" in text for k, v in (external_labels or {}).items())
        wait_until("Prometheus to load its new configuration", loaded, timeout=30)
        return self

    def query(self, expr, at=None):
        """An instant query: the result list (raises on an error answer, e.g. a parse error)."""
        import urllib.parse
        import urllib.request
        params = {"query": expr}
        if at is not None:
            params["time"] = at
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(self.url + "/api/v1/query", data, timeout=30) as r:
            answer = json.loads(r.read())
        check(answer.get("status") == "success", f"query {expr}: {answer}")
        return answer["data"]["result"]

    def stop(self):
        env = dict(os.environ)
        env.update(self.extra_env)
        subprocess.run([os.path.join(SCRIPTS, "prometheus.sh"), "stop", self.dir],
                       capture_output=True, timeout=60, env=env)


class ControlPlane:
    """A real kube-apiserver + etcd + kube-controller-manager on loopback."""

    def __init__(self, workdir, extra_controllers=()):
        self.dir = os.path.join(workdir, "controlplane")
        self.kubeconfig = None
        self.env = {}
        # kube-controller-manager controllers beyond the default set (e.g. statefulset-controller)
        self.extra_controllers = list(extra_controllers)

    def start(self):
        log("starting kube-apiserver, etcd and kube-controller-manager")
        env = dict(os.environ)
        if self.extra_controllers:
            env["CONTROLPLANE_EXTRA_CONTROLLERS"] = ",".join(self.extra_controllers)
        run([os.path.join(SCRIPTS, "controlplane.sh"), "start", self.dir], timeout=300, env=env)
        self.env = read_env(os.path.join(self.dir, "env"))
        self.kubeconfig = self.env.get("KUBECONFIG", os.path.join(self.dir, "kubeconfig"))
        return self

    def wait_established(self, *crds, timeout=60):
        """Until each CRD serves (condition Established). `kubectl wait` right after creating
        one can fail before the API server has written any condition."""
        def established(name):
            r = self.kubectl("get", "crd", name, "-o", "json", check_rc=False)
            if r.returncode != 0:
                return False
            conditions = json.loads(r.stdout).get("status", {}).get("conditions") or []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
        for name in crds:
            wait_until(f"CRD {name} established", lambda n=name: established(n), timeout=timeout)

    def restart_apiserver(self):
        run([os.path.join(SCRIPTS, "controlplane.sh"), "restart-apiserver", self.dir], timeout=300)

    def stop(self):
        subprocess.run([os.path.join(SCRIPTS, "controlplane.sh"), "stop", self.dir],
                       capture_output=True, timeout=120)

    def kubectl(self, *args, check_rc=True, stdin=None, timeout=60, as_user=None, groups=()):
        cmd = ["kubectl", "--kubeconfig", self.kubeconfig]
        if as_user:
            cmd += ["--as", as_user]
            for g in groups:
                cmd += ["--as-group", g]
        cmd += list(args)
        result = subprocess.run(cmd, capture_output=True, text=True, input=stdin, timeout=timeout)
        if check_rc and result.returncode != 0:
            raise TestFailure(f"kubectl {' '.join(args)} failed ({result.returncode}): "
                              f"{result.stderr.strip()}")
        return result

    def install_crds(self):
        """budgetgate's CRDs from crds/, applied and Established."""
        self.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        self.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")

    def kubectl_as(self, who, *args, stdin=None):
        """kubectl impersonating who = {"user": ..., "groups": [...]}; never raises on failure."""
        return self.kubectl(*args, check_rc=False, stdin=stdin, as_user=who["user"], groups=who["groups"])

    def apply(self, manifest, **kwargs):
        return self.kubectl("apply", "-f", "-", stdin=manifest, **kwargs)

    def get_json(self, *args):
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)


class Background:
    """budgetgate (or another program) running in the background with its log in a file."""

    def __init__(self, name, cmd, workdir, env=None):
        self.name = name
        self.cmd = cmd
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.env = env
        self.proc = None

    def start(self):
        log(f"starting {self.name}: {' '.join(self.cmd)}")
        self.log_file = open(self.log_path, "ab")
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(self.cmd, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode

    def kill(self):
        return self.stop(sig=signal.SIGKILL)

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class ConnectProxy:
    """An HTTP proxy on loopback that tunnels CONNECT requests to loopback targets only (as a
    corporate proxy in front of an API server would) and counts each target's tunnels."""

    def __init__(self):
        import threading
        self.tunnels = {}  # "host:port" -> CONNECTs served
        self.refused = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        import threading
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                chunk = conn.recv(1024)
                if not chunk:
                    return
                head += chunk
            line = head.split(b"\r\n", 1)[0].decode(errors="replace").split()
            host = line[1].rsplit(":", 1)[0] if len(line) > 1 else ""
            if len(line) < 2 or line[0] != "CONNECT" or host not in ("127.0.0.1", "localhost"):
                with self.lock:
                    self.refused.append(" ".join(line))
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            target = socket.create_connection((host, int(line[1].rsplit(":", 1)[1])), timeout=10)
            target.settimeout(None)
            with self.lock:
                self.tunnels[line[1]] = self.tunnels.get(line[1], 0) + 1
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

            def pipe(a, b):
                try:
                    while True:
                        data = a.recv(65536)
                        if not data:
                            break
                        b.sendall(data)
                except OSError:
                    pass
                finally:
                    for s in (a, b):
                        try:
                            s.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
            threading.Thread(target=pipe, args=(target, conn), daemon=True).start()
            pipe(conn, target)
        except (OSError, ValueError, IndexError):
            pass
        finally:
            conn.close()

    def served(self):
        with self.lock:
            return dict(self.tunnels)

    def stop(self):
        self.closed = True
        self.sock.close()


def http_get(url, timeout=5, insecure=True):
    import ssl
    import urllib.request
    ctx = ssl.create_default_context()
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
        return r.status, r.read().decode()


def metric_value(text, name, labels=None):
    """The value of one sample in Prometheus text format, or None."""
    labels = labels or {}
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        rest = line[len(name):]
        if rest and rest[0] not in "{ ":
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def condition(status, kind):
    """The condition of type `kind` in an SLO status (a dict), or {}."""
    for c in status.get("conditions", []):
        if c["type"] == kind:
            return c
    return {}


def metric_samples(text, name):
    """[(labels dict, value)] of every sample of `name` in Prometheus text format."""
    import re
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        rest = line[len(name):]
        if rest and rest[0] not in "{ ":
            continue
        labels = {}
        if rest.startswith("{"):
            body, rest = rest[1:].split("} ", 1)
            labels = {k: v for k, v in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', body)}
        out.append((labels, float(rest.split()[-1])))
    return out


def metric_sum(text, name, labels=None):
    """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
    labels = labels or {}
    return sum(v for ls, v in metric_samples(text, name) if all(ls.get(k) == v2 for k, v2 in labels.items()))


def exposition_problems(text):
    """What is wrong with a /metrics body as Prometheus text format: a family with more than one
    # TYPE or # HELP line, a sample before or without its family's # TYPE. [] when nothing."""
    problems, types, helps = [], {}, set()
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ", 3)
            if family in types:
                problems.append(f"line {n}: second # TYPE of {family}")
            types[family] = kind
        elif line.startswith("# HELP "):
            family = line.split(" ", 3)[2]
            if family in helps:
                problems.append(f"line {n}: second # HELP of {family}")
            helps.add(family)
        elif line and not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            family = name
            for suffix in ("_bucket", "_sum", "_count"):
                base = name[:-len(suffix)]
                if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
                    family = base
            if family not in types:
                problems.append(f"line {n}: sample {name} without a # TYPE before it")
    problems += [f"# TYPE of {f} without # HELP" for f in types if f not in helps]
    return problems


@contextlib.contextmanager
def backfilled_rules(workdir, rules_text, source_url, start, end, timeout=900):
    """`budgetgate rules` output checked by promtool, evaluated over [start, end] by promtool's
    rule engine against the Prometheus at `source_url` (as Prometheus itself would evaluate
    it), and served by a second Prometheus. Yields query(q, at) -> the raw instant-query
    result list."""
    import urllib.parse
    import urllib.request
    rules = os.path.join(workdir, "rules.yaml")
    with open(rules, "w") as f:
        f.write(rules_text)
    run(["promtool", "check", "rules", rules])
    blocks = os.path.join(workdir, "rule-blocks")
    run(["promtool", "tsdb", "create-blocks-from", "rules", "--start", start, "--end", end,
         "--url", source_url, "--output-dir", blocks, "--eval-interval", "60s", rules],
        timeout=timeout)
    port = free_port()
    empty = os.path.join(workdir, "empty.yml")
    open(empty, "w").close()
    second = subprocess.Popen(["prometheus", f"--config.file={empty}",
                               f"--storage.tsdb.path={blocks}", "--storage.tsdb.retention.time=100y",
                               f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def query(q, at):
            data = urllib.parse.urlencode({"query": q, "time": at}).encode()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query", data,
                                        timeout=10) as resp:
                return json.loads(resp.read())["data"]["result"]
        wait_until("rule Prometheus ready", lambda: query("vector(1)", end), 60)
        yield query
    finally:
        second.terminate()
        second.wait(timeout=30)


def make_certificate(workdir, name="webhook", hosts=("127.0.0.1", "localhost")):
    """A CA and a serving certificate for hosts, made with openssl. Returns paths."""
    d = os.path.join(workdir, "tls")
    os.makedirs(d, exist_ok=True)
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, crt = (os.path.join(d, f"{name}.{x}") for x in ("key", "csr", "crt"))
    if not os.path.exists(ca_crt):
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "2", "-subj",
             "/CN=budgetgate-test-ca"])
    san = ",".join(("IP:" + h) if h[0].isdigit() else ("DNS:" + h) for h in hosts)
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", csr, "-subj", f"/CN={hosts[0]}"])
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
         "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext])
    return {"ca": ca_crt, "cert": crt, "key": key}


@contextlib.contextmanager
def workspace(name):
    """A temporary directory kept (with logs) when the test fails."""
    d = tempfile.mkdtemp(prefix=f"budgetgate-{name}-")
    ok = False
    try:
        yield d
        ok = True
    except SystemExit as e:  # Suite.finish() inside the block: exit code 0 is success
        ok = e.code == 0
        raise
    finally:
        if ok and not os.environ.get("BUDGETGATE_KEEP_WORKDIR"):
            shutil.rmtree(d, ignore_errors=True)
        else:
            log(f"work directory kept for inspection: {d}")


class Suite:
    """Runs named checks in order, reports each, and exits non-zero if any failed.

    Checks share state through the suite object (servers are started once per file)."""

    def __init__(self, name):
        self.name = name
        self.results = []
        self.cleanups = []

    def on_exit(self, fn):
        self.cleanups.append(fn)

    @contextlib.contextmanager
    def setup(self):
        """Wraps a test file's setup: if it fails, what was started is stopped and the file
        fails with the reason (instead of a traceback that leaves servers running)."""
        try:
            yield
        except Exception as e:  # pylint: disable=broad-except
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            log(f"SETUP FAILED: {detail}")
            self.results.append(("setup", False, 0, detail))
            self.finish()

    def check(self, name):
        def decorator(fn):
            started = time.time()
            try:
                fn()
                self.results.append((name, True, time.time() - started, ""))
                log(f"PASS {name} ({time.time() - started:.1f}s)")
            except Exception as e:  # pylint: disable=broad-except
                detail = "".join(traceback.format_exception_only(type(e), e)).strip()
                self.results.append((name, False, time.time() - started, detail))
                log(f"FAIL {name}: {detail}")
            return fn
        return decorator

    def finish(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:  # pylint: disable=broad-except
                log(f"cleanup failed: {e}")
        failed = [r for r in self.results if not r[1]]
        log(f"{self.name}: {len(self.results) - len(failed)} passed, {len(failed)} failed")
        for name, _, _, detail in failed:
            log(f"  FAILED {name}: {detail}")
        sys.exit(1 if failed or not self.results else 0)


_helm_path = None


def operator_with_webhook(suite, cp, prom, workdir, *extra):
    """`budgetgate operator` with its webhook over TLS on loopback (5 s cycles, no leader
    election, keeping the chart's webhook configuration `budgetgate`), stopped at the suite's
    end. Returns (process, webhook base URL, CA PEM, metrics port) once /readyz answers 200."""
    tls = make_certificate(workdir)
    port, metrics_port = free_port(), free_port()
    op = Background("operator", [
        BIN, "operator", "--kubeconfig", cp.kubeconfig, "--namespace", "budgetgate",
        "--prometheus", prom.url, "--interval", "5s", "--no-leader-election",
        "--webhook-configuration", "budgetgate",
        "--metrics-address", f"127.0.0.1:{metrics_port}",
        "--tls-cert-file", tls["cert"], "--tls-key-file", tls["key"],
        "--webhook-address", f"127.0.0.1:{port}", *extra], workdir).start()
    suite.on_exit(op.stop)
    base = f"https://127.0.0.1:{port}"
    wait_until("webhook ready", lambda: http_get(base + "/readyz")[0] == 200, timeout=60)
    with open(tls["ca"]) as f:
        return op, base, f.read(), metrics_port


def helm_binary():
    global _helm_path
    if _helm_path is None:
        _helm_path = os.environ.get("HELM") or run(
            [os.path.join(SCRIPTS, "setup-helm.sh"), "--path"], timeout=600).stdout.strip()
    return _helm_path


def render_chart(*sets, show_only=None, namespace="budgetgate"):
    """The chart's objects as `helm template` renders them (a list of dicts)."""
    import yaml
    cmd = [helm_binary(), "template", "budgetgate", os.path.join(ROOT, "charts", "budgetgate"),
           "--namespace", namespace, "--set", "prometheus.url=http://prometheus.invalid:9090"]
    for s in sets:
        cmd += ["--set", s]
    if show_only:
        cmd += ["--show-only", show_only]
    return [d for d in yaml.safe_load_all(run(cmd).stdout) if d]


def chart_webhook_config(base_url, ca_pem, *sets, name="budgetgate"):
    """The chart's own ValidatingWebhookConfiguration (rules, namespace selection and CEL
    matchConditions exactly as shipped), pointed at a webhook on loopback: each entry's
    service reference becomes `base_url` + its path, with the test CA as caBundle."""
    import base64
    import yaml
    config = render_chart(*sets, show_only="templates/validatingwebhookconfiguration.yaml")[0]
    config["metadata"] = {"name": name}
    ca = base64.b64encode(ca_pem.encode()).decode()
    for hook in config["webhooks"]:
        path = hook["clientConfig"]["service"]["path"]
        hook["clientConfig"] = {"url": base_url + path, "caBundle": ca}
    return yaml.safe_dump(config)


def chart_user_roles():
    """The chart's ClusterRoles for users (aggregated to view/edit/admin, approver, adjuster)."""
    import yaml
    docs = render_chart(show_only="templates/rbac.yaml")
    roles = [d for d in docs if d["kind"] == "ClusterRole" and
             d["metadata"]["name"].rsplit("-", 1)[-1] in ("view", "edit", "admin", "approver", "adjuster")]
    return yaml.safe_dump_all(roles)
