#!/usr/bin/python3
"""The wallboard's HTTP API against the running local platform.

The real dialgrid-wallboard binary serves two tenants' boards from the real
services (tenancy, agent-state, dialing, with contacts and compliance behind
dialing), started by tools/pylib/dialgrid_local.py; the tenants, agents and
campaigns are made through the public gRPC API (Debian's python3-grpcio) and
the boards read with urllib, as the page reads them.

Checks: each tenant's credential sees only its own agents and campaigns, a
credential of one tenant on another's board is 403 with nothing else, a
missing, malformed or unknown credential is 401, an agent's credential is 403,
a tenant id that is not one is 400; a state change shows on the next board;
a service that does not answer shows as unavailable within the deadline
instead of hanging; the page and its assets carry no third-party reference;
the admin port's metrics; the credential is never logged.

Run:  DIALGRID_BUILD_DIR=build /usr/bin/python3 services/wallboard/tests/wallboard_http_test.py -v
"""
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import warnings
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wallboard_platform as wp  # noqa: E402
from wallboard_platform import Bench, tenancy_pb2, wait_for  # noqa: E402


class WallboardHttpTest(unittest.TestCase):
    bench = None
    run_dir = None
    failed = False

    @classmethod
    def setUpClass(cls):
        warnings.filterwarnings("ignore", category=ResourceWarning)
        cls.run_dir = tempfile.mkdtemp(prefix="dialgrid-wallboard-")
        cls.bench = Bench(cls.run_dir)
        try:
            cls.bench.up()
            cls.a = cls.bench.seed_tenant(
                "acme", "ACME Insurance", "America/Chicago",
                [("maria", "Maria Lopez", "renewals", "ready", ""),
                 ("tom", "Tom Baker", "renewals", "not_ready", "lunch"),
                 ("ines", "Ines Duarte", "claims", "logged_out", "")],
                campaign=("spring", "Spring renewals"), start=True)
            cls.b = cls.bench.seed_tenant(
                "globex", "Globex Energy", "Europe/Berlin",
                [("hans", "Hans Weber", "north", "ready", "")],
                campaign=("winter", "Winter tariffs"))
        except BaseException:
            cls.failed = True
            cls._shutdown()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._shutdown()

    @classmethod
    def _shutdown(cls):
        if cls.bench is not None:
            cls.bench.stop()
            cls.bench = None
        if cls.run_dir is None:
            return
        if cls.failed:
            sys.stderr.write(f"\n[wallboard] a test failed; logs kept in {cls.run_dir}\n")
        else:
            shutil.rmtree(cls.run_dir, ignore_errors=True)
        cls.run_dir = None

    def run(self, result=None):
        result = result or self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            type(self).failed = True
        return result

    # ------------------------------------------------------------- helpers

    def assert_refused(self, tenant, credential, status, reason, raw_header=None):
        headers = {"Authorization": raw_header} if raw_header is not None else None
        code, hdrs, text = self.bench.get(f"/api/v1/tenants/{tenant}/board",
                                          credential if raw_header is None else None,
                                          headers=headers)
        self.assertEqual(code, status, text)
        body = json.loads(text)
        self.assertEqual(list(body), ["error"], f"a refusal carries nothing but the error: {text}")
        self.assertEqual(body["error"]["reason"], reason, text)
        self.assertEqual(body["error"]["http_status"], status)
        if status == 401:
            self.assertEqual(hdrs.get("WWW-Authenticate"), "Bearer")
        for secret in (self.a["supervisor"], self.b["supervisor"]):
            self.assertNotIn(secret, text)
        return body, text

    def agent_ids(self, board):
        return sorted(a["id"] for a in board["agents"]["items"])

    # --------------------------------------------------------------- tests

    def test_page_and_assets_are_served_from_the_binary(self):
        code, hdrs, html = self.bench.get("/")
        self.assertEqual(code, 200)
        self.assertTrue(hdrs["Content-Type"].startswith("text/html"))
        self.assertIn('<script src="/wallboard.js"', html)
        csp = hdrs["Content-Security-Policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertEqual(hdrs["Cache-Control"], "no-store")
        self.assertEqual(hdrs["Referrer-Policy"], "no-referrer")
        for path, kind in (("/wallboard.js", "text/javascript"), ("/wallboard.css", "text/css")):
            code, hdrs, body = self.bench.get(path)
            self.assertEqual(code, 200, path)
            self.assertTrue(hdrs["Content-Type"].startswith(kind), path)
            self.assertGreater(len(body), 1000, path)
            # Nothing fetched from elsewhere: no CDN, no internet.
            self.assertIsNone(re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", body), path)
        code, _, body = self.bench.get("/no/such/page")
        self.assertEqual(code, 404)
        self.assertIn("NOT_FOUND_PATH", body)

    def test_a_tenant_sees_its_own_agents_campaigns_and_today(self):
        a = self.a
        chicago = zoneinfo.ZoneInfo("America/Chicago")
        days = {str(datetime.datetime.now(chicago).date())}
        code, board, _ = self.bench.board(a["id"], a["supervisor"])
        days.add(str(datetime.datetime.now(chicago).date()))
        self.assertEqual(code, 200, board)
        self.assertEqual(board["tenant"]["id"], a["id"])
        self.assertEqual(board["tenant"]["display_name"], "ACME Insurance")
        self.assertEqual(board["tenant"]["time_zone"], "America/Chicago")
        self.assertTrue(board["agents"]["available"], board["agents"])
        self.assertEqual(self.agent_ids(board), ["ines", "maria", "tom"])
        by_id = {x["id"]: x for x in board["agents"]["items"]}
        self.assertEqual(by_id["maria"]["state"], "ready")
        self.assertEqual(by_id["maria"]["station"], "ext-maria")
        self.assertEqual(by_id["maria"]["team"], "renewals")
        self.assertEqual(by_id["tom"]["state"], "not_ready")
        self.assertEqual(by_id["tom"]["reason_code"], "lunch")
        self.assertEqual(by_id["ines"]["state"], "logged_out")
        counts = board["agents"]["counts"]
        self.assertEqual((counts["total"], counts["ready"], counts["not_ready"], counts["logged_out"]),
                         (3, 1, 1, 1))
        # Today: the tenant's day (Chicago), from agent-state's KPIs.
        self.assertTrue(board["today"]["available"], board["today"])
        self.assertIn(board["today"]["day"], days)
        self.assertGreaterEqual(board["today"]["logged_in_seconds"], 0)
        # Sales from reporting: none yet, counted since the UTC hour of
        # Chicago's midnight.
        self.assertEqual(board["today"]["sales"], 0, board["today"])
        since = datetime.datetime.fromisoformat(board["today"]["sales_since"].replace("Z", "+00:00"))
        self.assertEqual((since.minute, since.second), (0, 0))
        self.assertIn(str(since.astimezone(chicago).date()), days)
        # The running campaign with its live figures from dialing.
        self.assertTrue(board["campaigns"]["available"], board["campaigns"])
        items = board["campaigns"]["items"]
        self.assertEqual([c["id"] for c in items], ["spring"])
        c = items[0]
        self.assertEqual((c["display_name"], c["mode"], c["state"]),
                         ("Spring renewals", "predictive", "running"))
        self.assertTrue(c["figures"]["available"], c["figures"])

        # Until a dialing replica has claimed the campaign its figures are
        # the last known (none yet); then the replica's own.
        def claimed():
            _, b, _ = self.bench.board(a["id"], a["supervisor"])
            f = b["campaigns"]["items"][0]["figures"]
            return f if f["available"] and f["dialing"] else None
        f = wait_for(claimed, 20, "a dialing replica's figures of the running campaign")
        self.assertEqual(f["max_lines"], 6)
        self.assertEqual(f["dialing_mode"], "predictive")
        self.assertTrue(f["hopper_dry"], "an empty list leaves the hopper dry")
        for key in ("calls_in_progress", "dials", "connected", "abandoned", "hopper_contacts",
                    "lines_per_agent", "ledger_known"):
            self.assertIn(key, c["figures"])
        self.assertEqual(board["campaigns"]["totals"]["running"], 1)

    def test_another_tenant_never_sees_the_first(self):
        a, b = self.a, self.b
        code, board, raw = self.bench.board(b["id"], b["supervisor"])
        self.assertEqual(code, 200, board)
        self.assertEqual(self.agent_ids(board), ["hans"])
        self.assertEqual([c["id"] for c in board["campaigns"]["items"]], ["winter"])
        self.assertEqual(board["campaigns"]["items"][0]["figures"]["reason"], "CAMPAIGN_NOT_STARTED")
        for leak in (a["id"], "Maria Lopez", "Tom Baker", "spring", "ACME"):
            self.assertNotIn(leak, raw)
        # B's credential on A's board: 403 and nothing of A.
        _, text = self.assert_refused(a["id"], b["supervisor"], 403, "TENANT_MISMATCH")
        for leak in ("Maria", "maria", "spring", "ACME"):
            self.assertNotIn(leak, text)
        # And the other way round.
        self.assert_refused(b["id"], a["supervisor"], 403, "TENANT_MISMATCH")
        # A tenant that does not exist answers the same as another tenant's.
        self.assert_refused(wp.new_id("nobody"), a["supervisor"], 403, "TENANT_MISMATCH")

    def test_missing_malformed_or_unknown_credential_is_401(self):
        a = self.a
        self.assert_refused(a["id"], None, 401, "MISSING_CREDENTIAL")
        self.assert_refused(a["id"], None, 401, "MALFORMED_CREDENTIAL", raw_header="Basic dXNlcjpwdw==")
        self.assert_refused(a["id"], None, 401, "MALFORMED_CREDENTIAL", raw_header="Bearer a;b")
        # Well-formed for us, not a Dialgrid credential: the service says so.
        self.assert_refused(a["id"], "not-a-credential", 401, "MALFORMED_CREDENTIAL")
        # The right shape, an id that does not exist.
        unknown = "dgk_k0123456789abcde_" + "A" * 43
        self.assert_refused(a["id"], unknown, 401, "CREDENTIAL_UNKNOWN")
        # The right id with a wrong secret part.
        forged = a["supervisor"][:21] + ("B" if a["supervisor"][21] != "B" else "C") + a["supervisor"][22:]
        self.assert_refused(a["id"], forged, 401, "CREDENTIAL_UNKNOWN")

    def test_a_revoked_credential_is_refused(self):
        a = self.a
        created = self.bench.credential(a["id"], tenancy_pb2.ROLE_SUPERVISOR, "short-lived wallboard")
        code, _, _ = self.bench.board(a["id"], created.secret)
        self.assertEqual(code, 200)
        self.bench.tenancy.RevokeCredential(tenancy_pb2.RevokeCredentialRequest(
            name=created.credential.name), metadata=self.bench.admin, timeout=5)

        def refused():
            status, _, _ = self.bench.get(f"/api/v1/tenants/{a['id']}/board", created.secret)
            return status == 401
        wait_for(refused, 20, "the revoked credential to be refused")
        self.assert_refused(a["id"], created.secret, 401, "CREDENTIAL_REVOKED")

    def test_an_agents_credential_may_not_see_the_board(self):
        # Tenancy lets any role read its tenant; agent-state does not let an
        # agent list agents: the whole board is refused, nothing partial.
        self.assert_refused(self.a["id"], self.a["desk"], 403, "ROLE_NOT_ALLOWED")

    def test_a_tenant_id_that_is_not_one_is_400(self):
        for bad in ("AB", "acme_insurance", "-acme", "acme%20x"):
            self.assert_refused(bad, self.a["supervisor"], 400, "INVALID_ID")

    def test_a_state_change_shows_on_the_next_board(self):
        a = self.a
        self.bench.set_state(a, "maria", "not_ready", "training")

        def shown():
            _, board, _ = self.bench.board(a["id"], a["supervisor"])
            m = [x for x in board["agents"]["items"] if x["id"] == "maria"][0]
            return m if (m["state"], m["reason_code"]) == ("not_ready", "training") else None
        m = wait_for(shown, 10, "maria not ready (training) on the board")
        self.assertLessEqual(m["seconds_in_state"], 10)
        self.bench.set_state(a, "maria", "ready")
        wait_for(lambda: [x for x in self.bench.board(a["id"], a["supervisor"])[1]["agents"]["items"]
                          if x["id"] == "maria"][0]["state"] == "ready", 10, "maria ready again")

    def test_a_service_that_does_not_answer_is_unavailable_not_a_hang(self):
        a = self.a
        dialing = [proc for name, proc in self.bench.platform.procs if name == "dialing"][0]
        os.kill(dialing.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            code, board, _ = self.bench.board(a["id"], a["supervisor"])
            took = time.monotonic() - started
        finally:
            os.kill(dialing.pid, signal.SIGCONT)
        self.assertEqual(code, 200, board)
        self.assertLess(took, 3.5, "the board waits at most its deadline")
        self.assertFalse(board["campaigns"]["available"])
        self.assertIn(board["campaigns"]["reason"], ("PEER_DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"))
        self.assertNotIn("items", board["campaigns"])
        self.assertTrue(board["agents"]["available"])
        self.assertEqual(self.agent_ids(board), ["ines", "maria", "tom"])

        def back():
            c, b, _ = self.bench.board(a["id"], a["supervisor"])
            return c == 200 and b["campaigns"]["available"]
        wait_for(back, 20, "dialing answering again")

    def test_admin_port_metrics_and_health(self):
        self.bench.board(self.a["id"], self.a["supervisor"])
        self.bench.get(f"/api/v1/tenants/{self.a['id']}/board", None)
        code, _, text = self.bench.get("/metrics", base=self.bench.admin_http)
        self.assertEqual(code, 200)
        self.assertRegex(text, r'dialgrid_wallboard_http_requests_total\{[^}]*route="board"[^}]*status="200"')
        self.assertRegex(text, r'dialgrid_wallboard_http_requests_total\{[^}]*route="board"[^}]*status="401"')
        self.assertRegex(text, r'dialgrid_wallboard_peer_calls_total\{code="OK",peer="agent-state"\}')
        self.assertIn("dialgrid_wallboard_http_duration_seconds_bucket", text)
        self.assertIn("dialgrid_wallboard_boards_in_flight 0", text)
        self.assertNotIn(self.a["id"], text, "no per-tenant labels")
        self.assertEqual(self.bench.get("/healthz", base=self.bench.admin_http)[0], 200)
        self.assertEqual(self.bench.get("/readyz", base=self.bench.admin_http)[0], 200)

    def test_https_with_the_operators_certificate(self):
        key = os.path.join(self.run_dir, "wallboard-tls.key")
        cert = os.path.join(self.run_dir, "wallboard-tls.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        ep = self.bench.start_wallboard(["--tls_cert_file=" + cert, "--tls_key_file=" + key],
                                        name="wallboard-tls")
        tls = ssl.create_default_context(cafile=cert)
        with urllib.request.urlopen(f"https://{ep['http']}/", context=tls, timeout=10) as resp:
            self.assertEqual(resp.status, 200)
            self.assertIn(b"wallboard.js", resp.read())
        req = urllib.request.Request(f"https://{ep['http']}/api/v1/tenants/{self.a['id']}/board",
                                     headers={"Authorization": f"Bearer {self.a['supervisor']}"})
        with urllib.request.urlopen(req, context=tls, timeout=10) as resp:
            self.assertEqual(json.load(resp)["tenant"]["id"], self.a["id"])
        # Plain HTTP to the HTTPS port gets no board.
        code = None
        try:
            self.bench.get(f"/api/v1/tenants/{self.a['id']}/board", self.a["supervisor"],
                           base=f"http://{ep['http']}", timeout=5)
        except (OSError, http.client.HTTPException) as err:
            code = type(err).__name__
        self.assertIsNotNone(code, "plain HTTP must not be answered on the HTTPS port")
        # Half a TLS configuration does not start.
        out = subprocess.run(self.bench.wallboard_args(os.path.join(self.run_dir, "half.ports"))
                             + ["--tls_cert_file=" + cert], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 1)
        self.assertIn("TLS_FILES_INVALID", out.stderr)

    def test_a_renewed_certificate_is_served_without_a_restart(self):
        d = os.path.join(self.run_dir, "tls-reload")
        os.makedirs(d, exist_ok=True)
        key, cert = os.path.join(d, "tls.key"), os.path.join(d, "tls.crt")

        def make_pair(cn, key_out, cert_out, reuse_key=None):
            args = ["openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", f"/CN={cn}",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-out", cert_out]
            args += ["-key", reuse_key] if reuse_key else ["-newkey", "rsa:2048", "-keyout", key_out]
            subprocess.run(args, check=True, capture_output=True)

        def served(ep):
            host, port = ep["http"].rsplit(":", 1)
            return ssl.get_server_certificate((host, int(port)))

        def same(pem_a, pem_b):
            return ssl.PEM_cert_to_DER_cert(pem_a) == ssl.PEM_cert_to_DER_cert(pem_b)

        make_pair("first", key, cert)
        ep = self.bench.start_wallboard(["--tls_cert_file=" + cert, "--tls_key_file=" + key,
                                         "--tls_reload_seconds=1"], name="wallboard-reload")
        first = open(cert).read()
        self.assertTrue(same(served(ep), first))
        # Renewed in place (key first, then certificate, as a Secret update may
        # land): new connections get the new pair within a few seconds.
        make_pair("second", key + ".new", cert + ".new")
        os.replace(key + ".new", key)
        os.replace(cert + ".new", cert)
        second = open(cert).read()
        wait_for(lambda: same(served(ep), second), 15, "the renewed certificate")
        tls = ssl.create_default_context(cafile=cert)
        req = urllib.request.Request(f"https://{ep['http']}/api/v1/tenants/{self.a['id']}/board",
                                     headers={"Authorization": f"Bearer {self.a['supervisor']}"})
        with urllib.request.urlopen(req, context=tls, timeout=10) as resp:
            self.assertEqual(json.load(resp)["tenant"]["id"], self.a["id"])
        # A certificate whose key is not the one on disk is refused: the
        # second pair keeps serving, and the refusal is counted.
        other_key = os.path.join(d, "other.key")
        make_pair("mismatched", other_key, cert + ".new")
        os.replace(cert + ".new", cert)

        def refused():
            text = urllib.request.urlopen(f"http://{ep['admin']}/metrics", timeout=5).read().decode()
            m = re.search(r'dialgrid_wallboard_tls_reloads_total\{result="refused"\} (\S+)', text)
            return text if m and float(m.group(1)) >= 1 else None
        text = wait_for(refused, 15, "the mismatched pair refused")
        self.assertTrue(same(served(ep), second))
        m = re.search(r'dialgrid_wallboard_tls_reloads_total\{result="taken"\} (\S+)', text)
        self.assertGreaterEqual(float(m.group(1)), 1)
        m = re.search(r"^dialgrid_wallboard_tls_certificate_expiry_timestamp_seconds (\S+)", text, re.M)
        self.assertGreater(float(m.group(1)), time.time())

    def test_zz_credentials_are_never_logged(self):
        # Last (zz): after the other tests made their refused and failed calls.
        self.bench.get(f"/api/v1/tenants/{self.a['id']}/board", self.b["supervisor"])
        log = open(self.bench.platform.log_path("wallboard"), encoding="utf-8").read()
        self.assertIn("board refused", log)
        for t in (self.a, self.b):
            for key in ("supervisor", "desk", "office"):
                self.assertNotIn(t[key], log)
                self.assertNotIn(t[key][21:], log)


if __name__ == "__main__":
    unittest.main()
