#!/usr/bin/env python3
"""End-to-end: the real `budgetgate webhook` attacked by clients without credentials.

Anyone who can reach the webhook's port can open TLS connections and send bytes. Each attack
below runs against a fresh webhook process (so that its VmHWM is its own), with the default
limits, fed by a real kube-apiserver; every attack is bounded in time and count and stays on
127.0.0.1. During each, the webhook's resident memory is sampled from /proc/PID/status every
20 ms and must stay under a bound, and a legitimate AdmissionReview posted on a new connection
must be answered 200 within 2 s.

  slow uploads    100 TLS connections each announcing a 2.9 MiB AdmissionReview, sending most of
                  it at once and then trickling the rest a few KB every 100 ms (the costliest
                  way to make the server hold a body); connections that are answered or closed
                  reconnect, for 12 s.
  idle            3,000 TLS connections, each after one request, held open (fewer when this
                  process may not open that many files: said so in the output).
  midway          1,100 TLS connections each sending two thirds of a 30 KB request, then
                  nothing: the worst the limits allow (every connection holding its read
                  buffers and a body, 29 MiB of bodies). New connections are refused meanwhile
                  (what limits cannot prevent), until the request timeout frees them.
  out of fds      the webhook started with RLIMIT_NOFILE 128 (prlimit), 200 idle TLS
                  connections: its CPU use over 2 s must stay low (no accept loop spinning on
                  EMFILE) and reviews must still be answered.

And the TLS profile: clients offering only CBC/SHA1 suites (Python's ssl, openssl s_client) or
TLS below 1.2 fail the handshake; default clients get TLS 1.3, TLS 1.2 clients an ECDHE AEAD
suite.

The bounds were chosen from measurements (see the README's runbook): main's server reached
~200 MiB under the slow uploads and ~145 MiB with the idle connections, and spun at ~90 % of a
core out of descriptors while reviews timed out.

BUDGETGATE_DOS_ATTACKS=uploads,idle,midway,fds,tls (the default: all) selects the checks.
"""

import collections
import http.client
import json
import os
import resource
import select
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (BIN, Background, ControlPlane, Suite, check, free_port, http_get,  # noqa: E402
                     log, make_certificate, metric_value, wait_until, workspace)

MIB = 1024 * 1024
RSS_BOUND_MIB = 128          # half the Helm chart's memory limit (256 Mi)
REVIEW_DEADLINE_S = 2.0

UPLOADERS = 100
UPLOAD_BODY = int(2.9 * MIB)
UPLOAD_BURST = UPLOAD_BODY - 64 * 1024   # sent at once; the rest trickles
TRICKLE_BYTES = 4096
TRICKLE_EVERY_S = 0.1
UPLOAD_ATTACK_S = 12
UPLOAD_RECONNECTS = 30                   # per uploader, at most
UPLOAD_RECONNECT_PAUSE_S = 1.0           # leaves the bandwidth to the uploads the server holds

ATTACKS = set(os.environ.get("BUDGETGATE_DOS_ATTACKS", "uploads,idle,midway,fds,tls").split(","))

IDLE_CONNECTIONS = 3000
IDLE_HOLD_S = 5

MIDWAY_CONNECTIONS = 1100               # more than the 1,024 the webhook admits
MIDWAY_BODY = 30_000                     # fits the budget 1,024 times over (29 MiB of 32)
MIDWAY_SENT = 20_000

FD_LIMIT = 128
FD_ATTACK_CONNECTIONS = 200
CPU_WINDOW_S = 2.0
CPU_BOUND = 0.10                         # of one core, over the window


def status_kib(pid, field):
    """A VmXXX field of /proc/PID/status, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemoryWatch:
    """Samples a process's VmRSS every 20 ms in a thread; keeps the peak."""

    def __init__(self, pid):
        self.pid = pid
        self.start_kib = status_kib(pid, "VmRSS")
        self.peak_kib = self.start_kib
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))
            except (OSError, KeyError):
                return
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.hwm_kib = status_kib(self.pid, "VmHWM")


def review_body(i):
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"web-{i}", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": f"registry.example/web:{i}",
                                                       "ports": [{"containerPort": 8080}]}]}}}}
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": f"legit-{i}", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                    "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
                    "operation": "CREATE", "namespace": "shop", "name": f"web-{i}",
                    "userInfo": {"username": "alice", "groups": ["devs"]}, "object": deployment}}).encode()


class Webhook:
    """`budgetgate webhook` on a free port, optionally under a file-descriptor limit."""

    def __init__(self, work, cp, tls, name, fd_limit=None):
        self.port = free_port()
        self.tls = tls
        cmd = [BIN, "webhook", "--kubeconfig", cp.kubeconfig, "--namespace", "budgetgate",
               "--webhook-address", f"127.0.0.1:{self.port}",
               "--tls-cert-file", tls["cert"], "--tls-key-file", tls["key"]]
        if fd_limit:
            cmd = ["prlimit", f"--nofile={fd_limit}:{fd_limit}"] + cmd  # execs: same pid
        self.proc = Background(name, cmd, work).start()
        self.base = f"https://127.0.0.1:{self.port}"
        wait_until(f"{name} ready", lambda: http_get(self.base + "/readyz")[0] == 200, timeout=60)
        self.pid = self.proc.proc.pid
        self.reviews = []  # (status, seconds, detail)

    def review(self, i):
        """Posts a legitimate AdmissionReview on a new connection; records and returns
        (status or None, seconds, detail)."""
        ctx = ssl.create_default_context(cafile=self.tls["ca"])
        started = time.monotonic()
        try:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx,
                                               timeout=REVIEW_DEADLINE_S + 3)
            try:
                conn.request("POST", "/validate/deployments", body=review_body(i),
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                body = response.read()
                result = (response.status, time.monotonic() - started,
                          json.loads(body)["response"]["allowed"] if response.status == 200 else body[:200])
            finally:
                conn.close()
        except (OSError, ssl.SSLError, http.client.HTTPException, ValueError, KeyError) as e:
            result = (None, time.monotonic() - started, repr(e))
        self.reviews.append(result)
        log(f"  legitimate review {i}: {result[0]} in {result[1] * 1000:.0f} ms ({result[2]})")
        return result

    def check_reviews(self):
        check(self.reviews, "no legitimate review was posted")
        for status, seconds, detail in self.reviews:
            check(status == 200 and detail is True and seconds < REVIEW_DEADLINE_S,
                  f"a legitimate review got {status} after {seconds:.2f} s ({detail}); "
                  f"all: {[(s, round(t, 2)) for s, t, _ in self.reviews]}")

    def metrics(self):
        return http_get(self.base + "/metrics")[1]

    def stop(self):
        self.proc.stop()


def poll_answer(sock):
    """What the server has sent, without waiting: None when nothing yet, b"" when it closed."""
    if not sock.pending() and not select.select([sock], [], [], 0)[0]:
        return None
    sock.settimeout(0.0)
    try:
        return sock.recv(4096)
    except ssl.SSLWantReadError:
        return None  # a TLS message that carries no data (a TLS 1.3 session ticket)
    finally:
        sock.settimeout(5)


def status_of(data):
    parts = data.split(b" ", 2)
    return parts[1].decode(errors="replace") if len(parts) > 1 and data.startswith(b"HTTP/") else "garbage"


def slow_uploader(port, stop_at, outcomes, lock):
    """One attacker: announces a 2.9 MiB body, sends most of it at once, trickles the rest, and
    reconnects whenever it is answered or closed, until stop_at."""
    ctx = ssl._create_unverified_context()
    header = (f"POST /validate/deployments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              f"Content-Type: application/json\r\nContent-Length: {UPLOAD_BODY}\r\n\r\n").encode()
    burst_piece = b"x" * (256 * 1024)
    for _ in range(UPLOAD_RECONNECTS):
        if time.monotonic() >= stop_at:
            return
        outcome = "held to the end"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                    ctx.wrap_socket(raw) as s:
                s.sendall(header)
                sent = 0
                while time.monotonic() < stop_at:
                    data = poll_answer(s)
                    if data is not None:
                        outcome = f"answered {status_of(data)}" if data else "closed"
                        break
                    if sent < UPLOAD_BURST:
                        piece = burst_piece[:min(len(burst_piece), UPLOAD_BURST - sent)]
                    else:
                        time.sleep(TRICKLE_EVERY_S)
                        piece = burst_piece[:min(TRICKLE_BYTES, UPLOAD_BODY - 1 - sent)]  # never done
                    if piece:
                        s.sendall(piece)
                        sent += len(piece)
        except (OSError, ssl.SSLError):
            outcome = "closed"
        with lock:
            outcomes[outcome] += 1
        if outcome != "held to the end":
            time.sleep(UPLOAD_RECONNECT_PAUSE_S)


def open_idle_connections(port, count, handshake_timeout=5.0, workers=8):
    """Opens `count` TLS connections, each after one GET /healthz, and leaves them open.
    Returns (sockets, failures)."""
    ctx = ssl._create_unverified_context()
    opened, failures = [], collections.Counter()
    lock = threading.Lock()

    def worker(n):
        for _ in range(n):
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=handshake_timeout)
                s = ctx.wrap_socket(raw)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                reply = b""
                while not reply.endswith(b"ok\n"):
                    data = s.recv(4096)
                    if not data:
                        raise ConnectionError("closed")
                    reply += data
                s.settimeout(None)
                with lock:
                    opened.append(s)
            except (OSError, ssl.SSLError) as e:
                with lock:
                    failures[type(e).__name__] += 1

    threads = [threading.Thread(target=worker, args=(count // workers + (i < count % workers),))
               for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return opened, failures


def open_midway_requests(port, count, workers=8):
    """Opens `count` TLS connections, each sending two thirds of a 30 KB request and then
    nothing. Returns (sockets, failures)."""
    ctx = ssl._create_unverified_context()
    start = (f"POST /validate/deployments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             f"Content-Length: {MIDWAY_BODY}\r\n\r\n").encode() + b"x" * MIDWAY_SENT
    opened, failures = [], collections.Counter()
    lock = threading.Lock()

    def worker(n):
        for _ in range(n):
            try:
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5))
                s.sendall(start)
                with lock:
                    opened.append(s)
            except (OSError, ssl.SSLError) as e:
                with lock:
                    failures[type(e).__name__] += 1

    threads = [threading.Thread(target=worker, args=(count // workers + (i < count % workers),))
               for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return opened, failures


def close_all(sockets):
    for s in sockets:
        try:
            s.close()
        except OSError:
            pass


def report(name, watch):
    log(f"  {name}: VmRSS {watch.start_kib / 1024:.1f} MiB before, peak {watch.peak_kib / 1024:.1f} MiB "
        f"(bound {RSS_BOUND_MIB} MiB), VmHWM {watch.hwm_kib / 1024:.1f} MiB")


def main():
    suite = Suite("webhook DoS e2e")
    results = {}
    with workspace("webhook-dos") as work:
        with suite.setup():
            # The idle attack needs ~3,000 descriptors here: raise the soft limit to the hard one.
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            wanted = IDLE_CONNECTIONS + 512
            if hard != resource.RLIM_INFINITY and hard < wanted:
                idle_count = max(100, hard - 512)
                log(f"RLIMIT_NOFILE hard limit is {hard}: the idle attack opens {idle_count} "
                    f"connections instead of {IDLE_CONNECTIONS}")
            else:
                idle_count = IDLE_CONNECTIONS
            if soft != resource.RLIM_INFINITY and soft < wanted:
                resource.setrlimit(resource.RLIMIT_NOFILE,
                                   (wanted if hard == resource.RLIM_INFINITY else min(hard, wanted), hard))
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("budgetgate", "shop"):
                cp.kubectl("create", "namespace", ns)
            tls = make_certificate(work)

        @suite.check(f"{UPLOADERS} slow 2.9 MiB uploads: memory stays under {RSS_BOUND_MIB} MiB, reviews are answered")
        def _():
            if "uploads" not in ATTACKS:
                log("  skipped (BUDGETGATE_DOS_ATTACKS)")
                return
            wh = Webhook(work, cp, tls, "webhook-uploads")
            suite.on_exit(wh.stop)
            outcomes, lock = collections.Counter(), threading.Lock()
            stop_at = time.monotonic() + UPLOAD_ATTACK_S
            with MemoryWatch(wh.pid) as watch:
                attackers = [threading.Thread(target=slow_uploader, args=(wh.port, stop_at, outcomes, lock),
                                              daemon=True) for _ in range(UPLOADERS)]
                for t in attackers:
                    t.start()
                for i, at in enumerate((2, 5, 8, 11)):
                    time.sleep(max(0.0, stop_at - UPLOAD_ATTACK_S + at - time.monotonic()))
                    wh.review(i)
                for t in attackers:
                    t.join(timeout=UPLOAD_ATTACK_S + 30)
            report("slow uploads", watch)
            log(f"  attackers' connections: {dict(outcomes)}")
            text = wh.metrics()
            log("  server: " + ", ".join(f"{k}={metric_value(text, m, l)}" for k, m, l in (
                ("503", "budgetgate_webhook_rejected_requests_total", {"reason": "overloaded"}),
                ("request-timeout", "budgetgate_webhook_rejected_requests_total", {"reason": "request-timeout"}),
                ("inflight-bytes", "budgetgate_webhook_inflight_body_bytes", None))))
            results["slow uploads"] = watch
            check(wh.proc.alive(), "the webhook died")
            check(watch.peak_kib < RSS_BOUND_MIB * 1024,
                  f"VmRSS peaked at {watch.peak_kib / 1024:.1f} MiB, over {RSS_BOUND_MIB} MiB")
            wh.check_reviews()
            check((metric_value(text, "budgetgate_webhook_rejected_requests_total", {"reason": "overloaded"}) or 0) > 0,
                  "no upload was refused with 503: the in-flight budget did not act")
            wh.stop()

        @suite.check(f"{idle_count} idle TLS connections: memory stays under {RSS_BOUND_MIB} MiB, reviews are answered")
        def _():
            if "idle" not in ATTACKS:
                log("  skipped (BUDGETGATE_DOS_ATTACKS)")
                return
            wh = Webhook(work, cp, tls, "webhook-idle")
            suite.on_exit(wh.stop)
            with MemoryWatch(wh.pid) as watch:
                started = time.monotonic()
                sockets, failures = open_idle_connections(wh.port, idle_count)
                suite.on_exit(lambda: close_all(sockets))
                log(f"  opened {len(sockets)} idle connections in {time.monotonic() - started:.1f} s"
                    + (f", failures: {dict(failures)}" if failures else ""))
                for i in range(3):
                    wh.review(100 + i)
                    time.sleep(IDLE_HOLD_S / 3)
            report("idle connections", watch)
            text = wh.metrics()
            open_now = metric_value(text, "budgetgate_webhook_open_connections")
            limit = metric_value(text, "budgetgate_webhook_max_connections")
            shed = metric_value(text, "budgetgate_webhook_connections_shed_total")
            log(f"  server: open={open_now} limit={limit} shed={shed} "
                f"refused={metric_value(text, 'budgetgate_webhook_connections_refused_total')}")
            results["idle connections"] = watch
            close_all(sockets)
            check(wh.proc.alive(), "the webhook died")
            check(watch.peak_kib < RSS_BOUND_MIB * 1024,
                  f"VmRSS peaked at {watch.peak_kib / 1024:.1f} MiB, over {RSS_BOUND_MIB} MiB")
            wh.check_reviews()
            check(open_now is not None and limit is not None and open_now <= limit,
                  f"open connections {open_now} over the limit {limit}")
            if idle_count > (limit or 0):
                check((shed or 0) >= idle_count - limit, f"only {shed} idle connections shed")
            wh.stop()

        @suite.check(f"{MIDWAY_CONNECTIONS} connections stopping midway through a request: memory stays under "
                     f"{RSS_BOUND_MIB} MiB; new connections are refused until those requests time out")
        def _():
            if "midway" not in ATTACKS:
                log("  skipped (BUDGETGATE_DOS_ATTACKS)")
                return
            wh = Webhook(work, cp, tls, "webhook-midway")
            suite.on_exit(wh.stop)
            with MemoryWatch(wh.pid) as watch:
                started = time.monotonic()
                sockets, failures = open_midway_requests(wh.port, MIDWAY_CONNECTIONS)
                suite.on_exit(lambda: close_all(sockets))
                log(f"  {len(sockets)} connections midway through a request after {time.monotonic() - started:.1f} s"
                    + (f", failures: {dict(failures)}" if failures else ""))
                time.sleep(2)
            report("midway requests", watch)
            status, _, detail = wh.review(300)
            wh.reviews.clear()
            log(f"  a review while every connection is taken: {status or 'refused'} ({detail})")
            # The webhook's request timeout (10 s) frees the connections; then reviews pass again.
            time.sleep(max(0.0, started + 10 - time.monotonic()))
            for i in range(20):
                wh.reviews.clear()
                if wh.review(301 + i)[0] == 200:
                    break
                time.sleep(0.5)
            log(f"  last review {time.monotonic() - started:.1f} s after the attack began: {wh.reviews[-1][0]}")
            text = wh.metrics()
            log(f"  server: refused={metric_value(text, 'budgetgate_webhook_connections_refused_total')} "
                f"request-timeout={metric_value(text, 'budgetgate_webhook_rejected_requests_total', {'reason': 'request-timeout'})} "
                f"open={metric_value(text, 'budgetgate_webhook_open_connections')}")
            results["midway requests"] = watch
            close_all(sockets)
            check(wh.proc.alive(), "the webhook died")
            check(watch.peak_kib < RSS_BOUND_MIB * 1024,
                  f"VmRSS peaked at {watch.peak_kib / 1024:.1f} MiB, over {RSS_BOUND_MIB} MiB")
            check((metric_value(text, "budgetgate_webhook_connections_refused_total") or 0) > 0,
                  "no connection was refused at the limit")
            wh.check_reviews()
            wh.stop()

        @suite.check(f"out of file descriptors (RLIMIT_NOFILE {FD_LIMIT}, {FD_ATTACK_CONNECTIONS} connections): "
                     f"no spinning, reviews are answered")
        def _():
            if "fds" not in ATTACKS:
                log("  skipped (BUDGETGATE_DOS_ATTACKS)")
                return
            wh = Webhook(work, cp, tls, "webhook-fds", fd_limit=FD_LIMIT)
            suite.on_exit(wh.stop)
            sockets, failures = open_idle_connections(wh.port, FD_ATTACK_CONNECTIONS, handshake_timeout=2.0)
            suite.on_exit(lambda: close_all(sockets))
            log(f"  opened {len(sockets)} idle connections" + (f", failures: {dict(failures)}" if failures else ""))
            before = cpu_seconds(wh.pid)
            time.sleep(CPU_WINDOW_S)
            cpu = (cpu_seconds(wh.pid) - before) / CPU_WINDOW_S
            log(f"  webhook CPU while the connections are held: {cpu * 100:.1f} % of a core over {CPU_WINDOW_S:.0f} s")
            results["out of fds: CPU"] = cpu
            for i in range(3):
                wh.review(200 + i)
            text = wh.metrics()
            log(f"  server: open={metric_value(text, 'budgetgate_webhook_open_connections')} "
                f"limit={metric_value(text, 'budgetgate_webhook_max_connections')} "
                f"shed={metric_value(text, 'budgetgate_webhook_connections_shed_total')} "
                f"accept errors={metric_value(text, 'budgetgate_webhook_accept_errors_total')}")
            close_all(sockets)
            check(wh.proc.alive(), "the webhook died")
            check(cpu < CPU_BOUND, f"the webhook used {cpu * 100:.0f} % of a core while idle connections were held")
            wh.check_reviews()
            limit = metric_value(text, "budgetgate_webhook_max_connections")
            check(limit is not None and limit <= FD_LIMIT - 64,
                  f"the connection limit {limit} does not leave room below RLIMIT_NOFILE {FD_LIMIT}")
            wh.stop()

        @suite.check("TLS: clients offering only CBC/SHA1 suites or TLS < 1.2 fail the handshake; modern ones succeed")
        def _():
            if "tls" not in ATTACKS:
                log("  skipped (BUDGETGATE_DOS_ATTACKS)")
                return
            wh = Webhook(work, cp, tls, "webhook-tls")
            suite.on_exit(wh.stop)

            def handshake(configure):
                ctx = ssl.create_default_context(cafile=tls["ca"])
                configure(ctx)
                try:
                    with socket.create_connection(("127.0.0.1", wh.port), timeout=5) as raw, \
                            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                        return s.version(), s.cipher()[0]
                except ssl.SSLError as e:
                    return None, e.reason

            def old_client(ciphers, version=ssl.TLSVersion.TLSv1_2):
                def configure(ctx):
                    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
                    ctx.maximum_version = version
                    ctx.set_ciphers(ciphers + ":@SECLEVEL=0")  # the client willing: the server decides
                return configure

            for ciphers in ("AES128-SHA", "AES256-SHA",
                            "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA",
                            "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384"):
                version, detail = handshake(old_client(ciphers))
                log(f"  TLS 1.2 offering only {ciphers}: {version or 'refused'} ({detail})")
                check(version is None, f"a client offering only {ciphers} got {version} {detail}")
            version, detail = handshake(old_client("ALL", ssl.TLSVersion.TLSv1_1))
            log(f"  TLS 1.1: {version or 'refused'} ({detail})")
            check(version is None, f"a TLS 1.1 client got {version} {detail}")
            s_client = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{wh.port}", "-tls1_2",
                                       "-cipher", "AES128-SHA"], input="", capture_output=True, text=True, timeout=20)
            log(f"  openssl s_client -tls1_2 -cipher AES128-SHA: exit {s_client.returncode}")
            check(s_client.returncode != 0, f"openssl s_client with AES128-SHA connected:\n{s_client.stdout[-500:]}")
            version, cipher = handshake(lambda ctx: None)
            log(f"  default client: {version} {cipher}")
            check(version == "TLSv1.3", f"a default client got {version} {cipher}")

            def tls12(ctx):
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            version, cipher = handshake(tls12)
            log(f"  TLS 1.2 client with its default suites: {version} {cipher}")
            check(version == "TLSv1.2" and cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher),
                  f"a TLS 1.2 client got {version} {cipher}")
            wh.stop()

        log("summary:")
        for name, value in results.items():
            if isinstance(value, MemoryWatch):
                report(name, value)
            else:
                log(f"  {name}: {value * 100:.1f} % of a core")
        suite.finish()


if __name__ == "__main__":
    main()
