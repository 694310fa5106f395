#!/usr/bin/env python3
"""The status page in a real headless Chromium, served by two real operators against a real API
server and Prometheus: the leader (bearer tokens checked by TokenReview + SubjectAccessReview,
over TLS) and a replica that never leads (loopback, no authorization, as behind `kubectl
port-forward`, every list paginated one object per page), which renders from its caches like any
replica. Checked: the overview's figures
and tiers against the SLO statuses, grouping by team, the burn-down chart's last point against
the status and its drop over an incident against the history generator's exact counts, no
console errors and no horizontal overflow at 1280x800 and at phone width (screenshots kept);
bob (namespace `edit`) writing HTML into an SLO and a forged Event gets text, not markup; who may
read which page; and an unauthenticated flood that gets no page."""

import math
import os
import secrets
import shutil
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from browser import Chromium  # noqa: E402
from webhook_e2e import deployment  # noqa: E402
from harness import (BIN, ROOT, Background, ConnectProxy, ControlPlane, Prometheus, Suite, budgetgate,
                     chart_webhook_config,  # noqa: E402
                     chart_user_roles, check, free_port, http_get, live_scenario, log,
                     make_certificate, operator_with_webhook, ratio_slo, rfc3339, wait_until,
                     workspace)

sys.path.insert(0, os.path.join(ROOT, "tests", "prometheus"))
import gen_history  # noqa: E402

INCIDENT_AGO = 2 * 86400  # web's 2-hour incident began this long before the history's "now"
XSS = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">"


def fetch(url, token=None, method="GET"):
    ctx = ssl._create_unverified_context()  # the test's own CA; TLS is exercised, not verified here
    req = urllib.request.Request(url, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=15, context=ctx) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def main():
    suite = Suite("status page e2e")
    out_dir = os.path.join(os.environ.get("BUDGETGATE_BUILD_DIR", ROOT + "/build"), "status-page")
    os.makedirs(out_dir, exist_ok=True)
    with workspace("statuspage") as work:
        with suite.setup():
            path = live_scenario(work, [
                {"name": "web", "rps": 10, "baseErrorRatio": 0.0002,
                 "incidents": [{"startIn": -INCIDENT_AGO, "duration": "2h", "errorRatio": 0.5}]},
                {"name": "api", "rps": 50, "baseErrorRatio": 0.0001},
                {"name": "pay", "rps": 20, "baseErrorRatio": 0.0002,
                 "incidents": [{"startIn": -3 * 86400, "duration": "30m", "errorRatio": 0.3}]},
            ])
            scenario = gen_history.load_scenario(path)
            prom = Prometheus(work, path, private_cache=True).start()
            suite.on_exit(prom.stop)
            cp = ControlPlane(work).start()
            suite.on_exit(cp.stop)
            cp.install_crds()
            for ns in ("shop", "ops", "budgetgate"):
                cp.kubectl("create", "namespace", ns)
            cp.apply(chart_user_roles())
            cp.kubectl("create", "rolebinding", "edit", "-n", "shop", "--clusterrole=edit", "--group=devs")
            cp.apply("---\n".join([ratio_slo("web-availability", "shop", "web", {"app": "web"}),
                                   ratio_slo("api-availability", "shop", "api", {"app": "api"}),
                                   ratio_slo("pay-availability", "ops", "pay", {"app": "pay"})]))
            cp.kubectl("label", "slo", "-n", "shop", "web-availability", "team=storefront")
            cp.kubectl("label", "slo", "-n", "shop", "api-availability", "team=platform")
            cp.kubectl("label", "slo", "-n", "ops", "pay-availability", "team=platform")
            # Identities: the README's reader (get SLOs in shop), an editor of shop.
            cp.kubectl("apply", "-f", os.path.join(ROOT, "crds", "samples", "cd", "reader.yaml"))
            cp.kubectl("create", "serviceaccount", "editor", "-n", "shop")
            cp.kubectl("create", "rolebinding", "editor", "-n", "shop", "--clusterrole=edit",
                       "--serviceaccount=shop:editor")
            reader = cp.kubectl("create", "token", "budgetgate-reader", "-n", "shop").stdout.strip()
            editor = cp.kubectl("create", "token", "editor", "-n", "shop").stdout.strip()
            admin_token = None  # the harness's kubeconfig is a client certificate; no token

            tls = make_certificate(work, "status")
            leader_port = free_port()
            _, webhook_base, ca_pem, _ = operator_with_webhook(suite, cp, prom, work,
                                  "--status-address", f"127.0.0.1:{leader_port}",
                                  "--status-tls-cert-file", tls["cert"],
                                                               "--status-tls-key-file", tls["key"])
            leader = f"https://127.0.0.1:{leader_port}"
            wait_until("SLO statuses", lambda: {i["metadata"]["name"]: i.get("status", {}).get("tier")
                                                for i in cp.get_json("slo", "-A")["items"]} ==
                       {"web-availability": "exhausted", "api-availability": "healthy",
                        "pay-availability": "healthy"}, timeout=120)
            # A replica that never leads: someone else holds the lease for an hour.
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
            cp.apply(f"""apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {{name: budgetgate-controller, namespace: budgetgate}}
spec: {{holderIdentity: another-replica, leaseDurationSeconds: 3600, acquireTime: "{now}", renewTime: "{now}"}}
""")
            # The replica authenticates as cloud clusters make one do: a kubeconfig exec plugin
            # (here a script handing out a ServiceAccount token, counting its runs).
            # It reaches the API server through an HTTP proxy (the kubeconfig's proxy-url).
            proxy = ConnectProxy()
            suite.on_exit(proxy.stop)
            replica_kubeconfig = exec_kubeconfig(cp, work, proxy_url=proxy.url)
            replica_port, replica_metrics = free_port(), free_port()
            replica = Background("replica", [
                BIN, "operator", "--kubeconfig", replica_kubeconfig, "--namespace", "budgetgate",
                "--prometheus", prom.url, "--interval", "5s", "--identity", "replica-2",
                "--metrics-address", f"127.0.0.1:{replica_metrics}",
                "--status-address", f"127.0.0.1:{replica_port}", "--status-auth", "none",
                # One object per page: every list this replica makes is paginated (limit/continue).
                "--list-page-size", "1"], work).start()
            suite.on_exit(replica.stop)
            page_url = f"http://127.0.0.1:{replica_port}"
            wait_until("the replica's status page", lambda: http_get(page_url + "/")[0] == 200, timeout=60)
            browser = Chromium(work).start()
            suite.on_exit(browser.stop)
            log(f"browser: {browser.version()}")
            tab = browser.page()
            del admin_token
            cp.apply(deployment("web", "shop", "web", "registry.example/web:1.0"))
            cp.apply(chart_webhook_config(webhook_base, ca_pem))

        def statuses():
            return {f"{i['metadata']['namespace']}/{i['metadata']['name']}": i["status"]
                    for i in cp.get_json("slo", "-A")["items"]}

        def layout_ok(what):
            sw, iw = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            check(sw <= iw, f"{what}: the page is wider than the viewport ({sw} > {iw}): it scrolls sideways")
            errors = tab.errors()
            check(not errors, f"{what}: console errors {errors}")

        @suite.check("overview at 1280x800: every SLO with the tier and remaining budget of its status")
        def _():
            tab.open(page_url + "/", 1280, 800)
            rows = tab.evaluate("""[...document.querySelectorAll('tr[data-slo]')].map(r =>
                [r.dataset.slo, r.dataset.tier, r.dataset.remaining,
                 r.querySelector('td.verdict-block, td.verdict-approve, td.verdict-review, td.verdict-defer') ?
                 r.querySelectorAll('td[data-risk]').length : 0])""")
            st = statuses()
            log(f"overview rows: {rows}")
            check(sorted(r[0] for r in rows) == sorted(st), f"rows {rows} vs SLOs {sorted(st)}")
            for key, tier, remaining, risks in rows:
                s = st[key]
                check(tier == s["tier"], f"{key}: page says {tier}, status {s['tier']}")
                expected = 100 - s["errorBudget"]["consumedPercent"]
                check(abs(float(remaining) - expected) < 0.05, f"{key}: page {remaining} vs status {expected}")
                check(risks == 3, f"{key}: decisions for {risks} risks")
            counts = tab.evaluate("[document.getElementById('slo-count').textContent,"
                                  " document.getElementById('count-exhausted').textContent]")
            check(counts == ["3", "1"], f"summary cards {counts}")
            layout_ok("overview 1280x800")
            tab.screenshot(os.path.join(out_dir, "overview-1280x800.png"))

        @suite.check("overview grouped by team, and on a phone-width viewport")
        def _():
            tab.open(page_url + "/?group=team", 390, 844, mobile=True)
            groups = tab.evaluate("[...document.querySelectorAll('section.group')].map(s => "
                                  "[s.dataset.group, s.querySelectorAll('tr[data-slo]').length])")
            check(sorted(groups) == [["platform", 2], ["storefront", 1]], f"team groups {groups}")
            layout_ok("overview 390x844")
            tab.screenshot(os.path.join(out_dir, "overview-390x844.png"))
            code, body, _ = fetch(page_url + "/?group=bogus")
            check(code == 400 and "group=" in body, f"{code}")
            code, body, _ = fetch(page_url + "/namespaces/%zz/")
            check(code == 400 and "percent-encoding" in body, f"malformed escape: {code}")

        @suite.check("SLO page: burn-down ends at the status's budget; the incident's drop matches exact counts")
        def _():
            tab.open(page_url + "/namespaces/shop/slos/web-availability", 1280, 800)
            svg = tab.evaluate("(() => { const s = document.querySelector('svg.burn-down'); return s ? "
                               "[+s.dataset.points, +s.dataset.lastRemaining, "
                               "s.querySelectorAll('rect.band').length] : null })()")
            check(svg is not None, "no burn-down chart: " + str(tab.evaluate(
                "(document.querySelector('.no-chart')||{}).textContent")))
            points, last, bands = svg
            status = statuses()["shop/web-availability"]
            expected = 100 - status["errorBudget"]["consumedPercent"]
            log(f"chart: {points} points, last {last:.4f}%, status {expected:.4f}%, {bands} bands")
            check(700 <= points <= 745, f"a 30-day window hour by hour has ~721 points, got {points}")
            check(abs(last - expected) < 0.05, f"chart ends at {last}, status says {expected}")
            check(bands == 5, f"tier bands {bands}")
            table = tab.evaluate("[...document.querySelectorAll('table.burn-down-data tr[data-at]')]"
                                 ".map(r => [+r.dataset.at, +r.dataset.remaining])")
            at = dict(table)
            # The incident's hours, from the scenario's own clock (live_scenario rounds to 60 s).
            start = gen_history.parse_time(scenario_incident_start(path))
            t1 = start // 3600 * 3600
            t2 = math.ceil((start + 7200) / 3600) * 3600
            check(t1 in at and t2 in at, f"chart lacks the hours {t1}/{t2}")
            first, final = table[0][0], table[-1][0]
            window = scenario.summary(first // 60 * 60, final // 60 * 60, ["web"])["web"]
            during = scenario.summary(t1, t2, ["web"])["web"]
            allowed = 0.001 * window["total"]
            exact_drop = 100 * during["bad"] / allowed
            drop = at[t1] - at[t2]
            log(f"incident hours {rfc3339(t1)}..{rfc3339(t2)}: chart drop {drop:.3f} points; exact "
                f"{exact_drop:.3f} ({during['bad']} bad of {window['total']} in the window)")
            check(abs(drop - exact_drop) <= 0.005 * exact_drop, f"drop {drop} vs exact {exact_drop}")
            cells = tab.evaluate("[...document.querySelectorAll('td[data-risk]')].map(c => c.textContent)")
            check(cells == ["block", "block", "block"], f"decisions by risk {cells}")
            alerts = tab.evaluate("document.querySelectorAll('tr[data-alert]').length")
            check(alerts == len(status.get("alerts", [])) and alerts >= 1, f"alert rows {alerts}")
            layout_ok("SLO page 1280x800")
            tab.screenshot(os.path.join(out_dir, "slo-1280x800.png"))
            tab.open(page_url + "/namespaces/shop/slos/web-availability", 390, 844, mobile=True)
            layout_ok("SLO page 390x844")
            tab.screenshot(os.path.join(out_dir, "slo-390x844.png"))

        @suite.check("bob's denied rollout is the SLO's last denial on the overview")
        def _():
            r = cp.kubectl_as(dict(user="bob", groups=["devs"]), "apply", "-f", "-",
                              stdin=deployment("web", "shop", "web", "registry.example/web:2.0"))
            check(r.returncode != 0 and "denied" in r.stderr, f"bob's rollout: {r.returncode} {r.stderr}")

            def denial():
                tab.open(page_url + "/", 1280, 800)
                return tab.evaluate("(document.querySelector('tr[data-slo=\"shop/web-availability\"] "
                                    "td.last-denial') || {}).title || ''")
            title = wait_until("the denial on the overview", denial, timeout=40, interval=2)
            log(f"last denial: {denial()}")
            check("bob" in denial(), f"last denial {title}")
            tab.screenshot(os.path.join(out_dir, "overview-1280x800.png"))

        @suite.check("bob (edit) writes HTML into an SLO and forges an Event: the page shows text")
        def _():
            r = cp.kubectl_as(dict(user="bob", groups=["devs"]), "apply", "-f", "-", stdin=ratio_slo(
                "sneaky", "shop", "web", {"app": "sneaky"}, extra=f"\n  description: '{XSS}'"))
            check(r.returncode == 0, f"bob may create an SLO in his namespace: {r.stderr}")
            r = cp.kubectl_as(dict(user="bob", groups=["devs"]), "create", "-f", "-", stdin=f"""apiVersion: v1
kind: Event
metadata: {{name: forged, namespace: shop}}
involvedObject: {{apiVersion: slo.budgetgate.dev/v1alpha1, kind: ServiceLevelObjective, namespace: shop, name: sneaky}}
reason: RolloutDenied
type: Warning
message: '{XSS}'
firstTimestamp: "{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
lastTimestamp: "{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
""")
            check(r.returncode == 0, f"edit may create Events: {r.stderr}")
            time.sleep(16)  # the page's Events list is cached for 15 s
            wait_until("sneaky on the page", lambda: "sneaky" in fetch(page_url + "/")[1], timeout=30)
            for url in ("/", "/namespaces/shop/slos/sneaky"):
                tab.open(page_url + url, 1280, 800)
                found = tab.evaluate("[document.querySelectorAll('script').length, "
                                     "document.querySelectorAll('img').length, window.pwned || 0, "
                                     "document.body.innerHTML.includes('&lt;script&gt;window.pwned')]")
                log(f"{url}: scripts, images, pwned, escaped text = {found}")
                check(found[:3] == [0, 0, 0], f"{url}: markup from bob became live: {found}")
                check(found[3], f"{url}: bob's text is not shown escaped")
                check(not tab.errors(), f"{url}: console errors {tab.errors()}")
            code, _, headers = fetch(page_url + "/")
            csp = headers.get("Content-Security-Policy", "")
            check("default-src 'none'" in csp and "script" not in csp, f"CSP {csp!r}")
            cp.kubectl("delete", "slo", "-n", "shop", "sneaky")

        @suite.check("tokens: the reader reads shop's pages only; no token, a bad token and POST are refused")
        def _():
            def code(path, token=None, method="GET"):
                return fetch(leader + path, token, method)[0]
            check(code("/namespaces/shop/", reader) == 200, "reader, shop overview")
            check(code("/namespaces/shop/slos/web-availability", reader) == 200, "reader, shop SLO page")
            check(code("/", reader) == 403, "reader may not see every namespace")
            check(code("/namespaces/ops/slos/pay-availability", reader) == 403, "reader, ops")
            check(code("/namespaces/shop/", editor) == 200, "editor, shop")
            check(code("/namespaces/ops/", editor) == 403, "editor, ops")
            c, _, headers = fetch(leader + "/namespaces/shop/")
            check(c == 401 and headers.get("WWW-Authenticate") == "Bearer", f"no token: {c} {headers}")
            check(code("/namespaces/shop/", "not-a-token") == 401, "bad token")
            check(code("/namespaces/shop/", reader, "POST") == 405, "POST")
            check(code("/nowhere", reader) == 404, "unknown path")
            check(code("/namespaces/shop/slos/missing", reader) == 404, "unknown SLO")
            c, body, _ = fetch(leader + "/namespaces/shop/slos/web-availability", reader)
            check('class="burn-down"' in body, "the leader draws the burn-down too")

        @suite.check("an unauthenticated flood gets no page; the reader is still served")
        def _():
            results = {}
            lock = threading.Lock()

            def client():
                for _ in range(50):
                    c = fetch(leader + "/namespaces/shop/", secrets.token_hex(24))[0]
                    with lock:
                        results[c] = results.get(c, 0) + 1
            started = time.time()
            threads = [threading.Thread(target=client) for _ in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            took = time.time() - started
            log(f"800 requests with random tokens in {took:.1f}s: {results}")
            check(sum(results.values()) == 800, f"answers {results}")
            check(results.get(200, 0) == 0, f"a random token got a page: {results}")
            check(set(results) <= {401, 429}, f"unexpected answers {results}")
            check(took < 60, f"the flood took {took:.0f}s")
            check(fetch(leader + "/namespaces/shop/", reader)[0] == 200, "the reader after the flood")

        @suite.check("the replica's exec credential plugin ran once for all its clients and watches")
        def _():
            runs = plugin_runs(work)
            log(f"exec plugin runs: {runs}")
            check(runs == 1, f"the plugin ran {runs} times (its token is valid for an hour)")

        @suite.check("the replica reached the API server only through its kubeconfig's proxy-url")
        def _():
            served = proxy.served()
            api = yaml_server(cp.kubeconfig)
            target = api.split("://", 1)[1].rstrip("/")
            log(f"proxy tunnels: {served}; refused: {proxy.refused}")
            check(served.get(target, 0) >= 1, f"no CONNECT to {target}: {served}")
            check(set(served) == {target} and not proxy.refused, f"{served} {proxy.refused}")
            # A socks5 proxy (kubectl takes it; budgetgate's client cannot) is refused clearly.
            import yaml
            with open(replica_kubeconfig) as f:
                config = yaml.safe_load(f)
            config["clusters"][0]["cluster"]["proxy-url"] = "socks5://127.0.0.1:1080"
            socks = os.path.join(work, "socks.kubeconfig")
            with open(socks, "w") as f:
                yaml.safe_dump(config, f)
            r = budgetgate("operator", "--kubeconfig", socks, "--prometheus", prom.url, timeout=30)
            check(r.returncode == 2 and "supports http:// proxies" in r.stderr, f"{r.returncode}: {r.stderr}")

        @suite.check("--status-auth none is refused on an address other than loopback")
        def _():
            r = budgetgate("operator", "--kubeconfig", cp.kubeconfig, "--prometheus", prom.url,
                           "--status-address", "0.0.0.0:0", "--status-auth", "none", timeout=30)
            check(r.returncode == 2 and "loopback" in r.stderr, f"{r.returncode}: {r.stderr}")

        log(f"screenshots: {out_dir}")
        shutil.copy(path, os.path.join(out_dir, "scenario.yaml"))
        suite.finish()


def exec_kubeconfig(cp, work, proxy_url=None):
    """A kubeconfig for the ServiceAccount budgetgate/replica (cluster-admin) whose user is an
    exec credential plugin: a script that prints an ExecCredential with the account's token,
    valid for an hour, and appends a line to plugin-runs.txt each time it runs."""
    import yaml
    cp.kubectl("create", "serviceaccount", "replica", "-n", "budgetgate")
    cp.kubectl("create", "clusterrolebinding", "budgetgate-replica", "--clusterrole=cluster-admin",
               "--serviceaccount=budgetgate:replica")
    token = cp.kubectl("create", "token", "replica", "-n", "budgetgate", "--duration=2h").stdout.strip()
    with open(os.path.join(work, "replica-token"), "w") as f:
        f.write(token)
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    plugin = os.path.join(work, "token-plugin.sh")
    with open(plugin, "w") as f:
        f.write(f"""#!/bin/sh
echo "$KUBERNETES_EXEC_INFO" >> "{work}/plugin-runs.txt"
printf '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"%s","expirationTimestamp":"{expires}"}}}}' "$(cat "{work}/replica-token")"
""")
    os.chmod(plugin, 0o755)
    with open(cp.kubeconfig) as f:
        config = yaml.safe_load(f)
    config["users"] = [{"name": "replica", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": plugin, "args": ["--token"],
        "interactiveMode": "Never"}}}]
    config["contexts"][0]["context"]["user"] = "replica"
    if proxy_url:
        config["clusters"][0]["cluster"]["proxy-url"] = proxy_url
    path = os.path.join(work, "replica.kubeconfig")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    return path


def yaml_server(kubeconfig):
    import yaml
    with open(kubeconfig) as f:
        return yaml.safe_load(f)["clusters"][0]["cluster"]["server"]


def plugin_runs(work):
    try:
        with open(os.path.join(work, "plugin-runs.txt")) as f:
            return len(f.read().splitlines())
    except FileNotFoundError:
        return 0


def scenario_incident_start(path):
    import yaml
    with open(path) as f:
        doc = yaml.safe_load(f)
    return doc["services"][0]["incidents"][0]["start"]


if __name__ == "__main__":
    main()
