#!/usr/bin/python3
"""The wallboard page in a real browser: Debian's chromium, headless, driven
over the DevTools protocol (a small WebSocket client on the standard
library), against the wallboard and the platform's services running as
processes (services/wallboard/tests/wallboard_platform.py).

The page is opened with the tenant and its supervisor's credential in the
address's fragment; the test checks the page moved them to sessionStorage and
out of the address, shows the tenant's agents with their states, its running
campaign with live figures and today's KPIs, nothing of another tenant, and
follows agents' state changes made over gRPC, and shows the campaigns as
unavailable (not stale) while dialing does not answer. It saves a screenshot
(wallboard.png in the build directory; with --update-docs also
docs/img/wallboard.png). Then another tenant's credential is refused and
nothing of the board stays on the page, and the sign-in form brings it back.

Run:  DIALGRID_BUILD_DIR=build /usr/bin/python3 tests/e2e/wallboard_browser_test.py [--update-docs] -v
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import unittest
import urllib.request
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "services", "wallboard", "tests"))

from wallboard_platform import BUILD, Bench, wait_for  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENSHOT = os.path.join(ROOT, "docs", "img", "wallboard.png")
UPDATE_DOCS = "--update-docs" in sys.argv
if UPDATE_DOCS:
    sys.argv.remove("--update-docs")
WIDTH, HEIGHT = 1360, 580


class WebSocket:
    """Just enough RFC 6455 for the DevTools protocol: text frames, client
    masking, fragmented and large messages, ping/pong, close."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url, timeout=30):
        assert url.startswith("ws://"), url
        hostport, _, path = url[len("ws://"):].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the DevTools socket closed during the handshake")
            head += chunk
        head, _, self.buffer = head.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        if " 101 " not in lines[0]:
            raise ConnectionError(f"WebSocket handshake refused: {lines[0]}")
        want = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        if headers.get("sec-websocket-accept") != want:
            raise ConnectionError("bad Sec-WebSocket-Accept")

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError("the DevTools socket closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        parts = []
        while True:
            b0, b1 = self._read(2)
            fin, opcode = b0 & 0x80, b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise ConnectionError("the DevTools socket was closed by the browser")
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            parts.append(payload)
            if fin:
                return b"".join(parts).decode()

    def close(self):
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class Browser:
    """Headless chromium with one page, driven over the DevTools protocol."""

    def __init__(self, workdir):
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
        self.log = open(os.path.join(workdir, "chromium.log"), "wb")
        # --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
             "--disable-sync", "--disable-component-update", "--hide-scrollbars", "--mute-audio",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--window-size={WIDTH},{HEIGHT}", "--user-data-dir=" + self.profile, "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        active = os.path.join(self.profile, "DevToolsActivePort")

        def port():
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            if os.path.exists(active):
                lines = open(active).read().split("\n")
                return lines[0] if len(lines) >= 2 and lines[0].isdigit() else None
            return None
        self.port = wait_for(port, 30, "chromium's DevTools port")

        def page():
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None
        self.ws = WebSocket(wait_for(page, 15, "chromium's page target"))
        self.next_id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        self.next_id += 1
        want = self.next_id
        self.ws.send(json.dumps({"id": want, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url):
        self.call("Page.navigate", url=url)

    def screenshot(self):
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self):
        try:
            self.call("Browser.close")
        except (OSError, ConnectionError, RuntimeError):
            pass
        self.ws.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# What the page shows, read in the page (JSON round trip).
# The page may be mid-parse when sampled (navigation, reload): until the
# document has finished loading it counts as "loading", and an element not
# there yet reads as empty instead of failing the script.
SNAPSHOT_JS = """(() => {
const text = id => { const e = document.getElementById(id); return e ? e.textContent : ''; };
if (!document.body || document.readyState !== 'complete' || document.getElementById('live') === null)
  return JSON.stringify({view: 'loading', updates: 0, agents: [], campaigns: [], error: '', text: ''});
return JSON.stringify({
  view: document.body.dataset.view,
  updates: Number(document.body.dataset.updates || 0),
  href: location.href,
  stored: sessionStorage.getItem('dialgrid.wallboard.credential'),
  tenant: text('tenant-name'),
  live: text('live'),
  error: text('sign-in-error'),
  text: document.body.innerText,
  agents: Array.from(document.querySelectorAll('#agents-table tbody tr')).map(tr => ({
    id: tr.dataset.agent, state: tr.dataset.state,
    cells: Array.from(tr.cells).map(c => c.textContent)})),
  counts: Array.from(document.querySelectorAll('#agent-counts .tile')).map(t => t.innerText),
  today: Array.from(document.querySelectorAll('#today-tiles .tile')).map(t => t.innerText),
  campaigns: Array.from(document.querySelectorAll('#campaigns-table tbody tr')).map(tr => ({
    id: tr.dataset.campaign, state: tr.dataset.state, dialing: tr.dataset.dialing,
    cells: Array.from(tr.cells).map(c => c.textContent)})),
  unavailable: Array.from(document.querySelectorAll('.unavailable')).filter(p => !p.hidden)
    .map(p => p.textContent),
});
})()"""


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


class WallboardBrowserTest(unittest.TestCase):
    bench = None
    browser = None
    run_dir = None
    failed = False

    @classmethod
    def setUpClass(cls):
        warnings.filterwarnings("ignore", category=ResourceWarning)
        if not os.access(CHROMIUM, os.X_OK):
            raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (tools/packages.txt)")
        cls.run_dir = tempfile.mkdtemp(prefix="dialgrid-wallboard-browser-")
        cls.bench = Bench(cls.run_dir)
        try:
            cls.bench.up()
            # ACME: a predictive campaign over 60 London numbers, four agents
            # taking its calls, and Sam and Lee (off the campaign) whose
            # states the test changes.
            cls.a = cls.bench.seed_tenant(
                "acme", "ACME Insurance", "America/Chicago",
                [("maria", "Maria Lopez", "renewals", "ready", ""),
                 ("tom", "Tom Baker", "renewals", "ready", ""),
                 ("ines", "Ines Duarte", "renewals", "ready", ""),
                 ("omar", "Omar Haddad", "renewals", "not_ready", "lunch"),
                 ("sam", "Sam Carter", "claims", "ready", ""),
                 ("lee", "Lee Wong", "claims", "logged_out", "")],
                campaign=("spring", "Spring renewals"), start=True, contacts=60,
                off_campaign=("sam", "lee"))
            cls.b = cls.bench.seed_tenant(
                "globex", "Globex Energy", "Europe/Berlin",
                [("hans", "Hans Weber", "north", "ready", "")], campaign=("winter", "Winter tariffs"))
            cls.browser = Browser(cls.run_dir)
        except BaseException:
            cls.failed = True
            cls._shutdown()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._shutdown()

    @classmethod
    def _shutdown(cls):
        if cls.browser is not None:
            cls.browser.close()
            cls.browser = None
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

    def snapshot(self):
        return json.loads(self.browser.evaluate(SNAPSHOT_JS))

    def wait_page(self, predicate, timeout, what):
        last = {}

        def check():
            last["s"] = self.snapshot()
            return last["s"] if predicate(last["s"]) else None
        try:
            return wait_for(check, timeout, what)
        except TimeoutError:
            raise AssertionError(f"{what}; the page shows: {json.dumps(last.get('s'), indent=1)[:3000]}")

    def open_board(self, tenant, secret):
        self.browser.navigate("about:blank")
        self.browser.navigate(f"{self.bench.http}/#tenant={tenant}&key={secret}")

    def test_the_board_live_in_a_browser(self):
        a, b = self.a, self.b
        self.open_board(a["id"], a["supervisor"])
        s = self.wait_page(lambda s: s["view"] == "board" and s["updates"] >= 1
                           and len(s["agents"]) == 6, 20, "the board with ACME's six agents")
        # The credential moved from the address to this tab's storage.
        self.assertNotIn("#", s["href"])
        self.assertNotIn(a["supervisor"], s["href"])
        self.assertEqual(s["stored"], a["supervisor"])
        self.assertNotIn(a["supervisor"], s["text"])
        self.assertIn("ACME Insurance", s["tenant"])
        self.assertEqual(s["live"], "live")
        self.assertEqual(s["unavailable"], [])
        rows = {r["id"]: r for r in s["agents"]}
        self.assertEqual(sorted(rows), ["ines", "lee", "maria", "omar", "sam", "tom"])
        self.assertEqual(rows["sam"]["state"], "ready")
        self.assertEqual(rows["sam"]["cells"][:3], ["Sam Carter", "claims", "Ready"])
        self.assertEqual(rows["lee"]["state"], "logged_out")
        self.assertIn(rows["omar"]["state"], ("not_ready", "ready", "reserved", "on_call", "wrap_up"))
        # Nothing of the other tenant.
        for leak in ("Hans", "Globex", "winter", b["id"]):
            self.assertNotIn(leak, s["text"])
        # The running campaign with its figures, and today's tiles.
        self.assertEqual([c["id"] for c in s["campaigns"]], ["spring"])
        self.assertEqual(s["campaigns"][0]["state"], "running")
        self.assertTrue(any(t.endswith("Calls handled") for t in s["today"]), s["today"])
        self.assertTrue(any(t.endswith("Dials") for t in s["today"]), s["today"])

        # Agents change state over gRPC; the page follows within seconds.
        self.bench.set_state(a, "sam", "not_ready", "break")
        s = self.wait_page(lambda s: any(r["id"] == "sam" and r["state"] == "not_ready"
                                         for r in s["agents"]), 10, "Sam not ready on the page")
        sam = [r for r in s["agents"] if r["id"] == "sam"][0]
        self.assertEqual(sam["cells"][2:4], ["Not ready", "break"])
        self.bench.set_state(a, "lee", "ready")
        s = self.wait_page(lambda s: any(r["id"] == "lee" and r["state"] == "ready"
                                         for r in s["agents"]), 10, "Lee logged in and ready")
        self.assertEqual([r for r in s["agents"] if r["id"] == "lee"][0]["cells"][4], "ext-lee")

        # The campaign dials on the simulated carrier: wait for figures worth
        # a screenshot (dials counted), then take it.
        s = self.wait_page(lambda s: s["campaigns"] and s["campaigns"][0]["dialing"] == "true"
                           and s["campaigns"][0]["cells"][7] not in ("0", "—"), 45,
                           "the running campaign's dials on the page")
        # The picture once the page has drawn a board after this moment.
        seen = s["updates"]
        self.wait_page(lambda s: s["updates"] >= seen + 2, 10, "two more polls of the board")
        png = self.browser.screenshot()
        self.assertEqual(png_size(png), (WIDTH, HEIGHT))
        out = os.path.join(BUILD, "wallboard.png")
        with open(out, "wb") as f:
            f.write(png)
        if UPDATE_DOCS:
            os.makedirs(os.path.dirname(DOCS_SCREENSHOT), exist_ok=True)
            with open(DOCS_SCREENSHOT, "wb") as f:
                f.write(png)

        # A service that does not answer: its part says so, the rest stays live.
        dialing = [proc for name, proc in self.bench.platform.procs if name == "dialing"][0]
        os.kill(dialing.pid, signal.SIGSTOP)
        try:
            s = self.wait_page(lambda s: any(u.startswith("Dialing unavailable") for u in s["unavailable"]),
                               15, "the campaigns shown as unavailable while dialing does not answer")
        finally:
            os.kill(dialing.pid, signal.SIGCONT)
        self.assertEqual(s["campaigns"], [], "no stale campaign figures")
        self.assertEqual(len(s["agents"]), 6, "agent state still shown")
        self.wait_page(lambda s: not s["unavailable"] and s["campaigns"], 20,
                       "the campaigns back once dialing answers")

        # Another tenant's credential on ACME's board: refused, nothing left.
        self.open_board(a["id"], b["supervisor"])
        s = self.wait_page(lambda s: s["view"] == "sign-in" and "Refused" in s["error"], 15,
                           "the refusal of Globex's credential")
        self.assertIn("403", s["error"])
        self.assertIn("TENANT_MISMATCH", s["error"])
        self.assertIsNone(s["stored"], "a refused credential is dropped")
        self.assertEqual(s["agents"], [])
        self.assertEqual(s["campaigns"], [])
        for leak in ("Maria", "Sam Carter", "Spring renewals"):
            self.assertNotIn(leak, s["text"])

        # The sign-in form: tenant id and credential typed in.
        self.browser.evaluate(
            "document.getElementById('tenant-input').value = " + json.dumps(a["id"]) + ";"
            "document.getElementById('key-input').value = " + json.dumps(a["supervisor"]) + ";"
            "document.getElementById('sign-in-form').requestSubmit(); true")
        s = self.wait_page(lambda s: s["view"] == "board" and len(s["agents"]) == 6, 15,
                           "the board again after signing in with the form")
        self.assertNotIn(a["supervisor"], s["text"])


if __name__ == "__main__":
    unittest.main()
