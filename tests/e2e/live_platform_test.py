#!/usr/bin/python3
"""The one-command platform as its user meets it: tools/demo.py without
flags (what tools/run.sh runs after building) starts every service, runs a
predictive campaign with simulated agents and shows it live; Ctrl-C stops
it and leaves no process behind; the next start from the same run directory
resumes the same campaign.

Checked: the live view shows dials; calls the dialer placed were each
allowed by compliance before they were dialed (their decision is in
compliance's dial records, allowed, timed before the dial); SIGINT (Ctrl-C)
ends every process of the run; a second start says "resumed", keeps the
contacts reached so far and dials again.

Run:  DIALGRID_BUILD_DIR=build /usr/bin/python3 tests/e2e/live_platform_test.py -v
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from dialgrid_local import BUILD  # noqa: E402

if not os.path.exists(os.path.join(BUILD, "python", "dialgrid", "tenancy", "v1", "tenancy_pb2.py")):
    sys.exit(f"no Python stubs under {BUILD}/python; build the dialgrid_python_protos target")

import dialgrid_client as dc  # noqa: E402
from dialgrid_client import grpc, compliance_pb2, compliance_pb2_grpc, dialing_pb2  # noqa: E402
from demo import read_topic  # noqa: E402

DIALS = re.compile(r"dials (\d+), answered (\d+)")
REACHED = re.compile(r"contacts reached (\d+)/")


class Run:
    """One start of the platform the way a user starts it."""

    def __init__(self, run_dir, name):
        self.log_path = os.path.join(run_dir, f"live-{name}.out")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "demo.py"),
                                      "--run-dir", run_dir], stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_for(self, pattern, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the platform exited ({self.proc.returncode}):\n{self.text()[-3000:]}")
            values = [tuple(int(g) for g in m.groups()) for m in pattern.finditer(self.text())]
            if values and predicate(values[-1]):
                return values[-1]
            time.sleep(1)
        raise AssertionError(f"timed out waiting for {pattern.pattern}:\n{self.text()[-3000:]}")

    def ctrl_c(self):
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=90)
        self.log.close()
        return code


def processes_of(run_dir):
    """Processes whose command line names the run directory or its Redis."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if run_dir in cmd:
            out.append(f"{pid}: {cmd[:160]}")
    return out


class LivePlatformTest(unittest.TestCase):
    def setUp(self):
        self.run_dir = tempfile.mkdtemp(prefix="dialgrid-live-")
        self.ok = False

    def tearDown(self):
        for line in processes_of(self.run_dir):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        if self.ok:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        else:
            print(f"run directory kept: {self.run_dir}", file=sys.stderr)

    def test_starts_dials_legally_stops_on_ctrl_c_and_resumes(self):
        first = Run(self.run_dir, "1")
        dials, _ = first.wait_for(DIALS, lambda v: v[0] >= 15, 240)
        text = first.text()
        self.assertIn("created: tenants/acme-insurance/campaigns/live-predictive", text)
        self.assertIn("logs: ", text)
        # Calls the dialer placed, from the 'calls' topic: each with the
        # decision compliance took before the dial.
        with open(os.path.join(self.run_dir, "kafka.address")) as f:
            kafka = f.read().strip()
        dialed = {}
        for env in read_topic(kafka, "calls"):
            if not env.type.endswith("CallUpdated"):
                continue
            ev = dialing_pb2.CallUpdated()
            env.payload.Unpack(ev)
            if ev.step == "DIALED" and ev.call.campaign.endswith("live-predictive"):
                dialed[ev.call.name] = ev.call
        self.assertGreaterEqual(len(dialed), 10)
        comp = compliance_pb2_grpc.ComplianceServiceStub(grpc.insecure_channel(self.endpoint("compliance")))
        with open(os.path.join(self.run_dir, "admin.secret")) as f:
            admin = dc.bearer(f.read().strip())
        for call in list(dialed.values())[:8]:
            self.assertTrue(call.decision_id, call.name)
            records = comp.ListDialRecords(compliance_pb2.ListDialRecordsRequest(
                parent="tenants/acme-insurance", phone_number=call.phone_number, page_size=100),
                metadata=admin, timeout=10).records
            decisions = [r for r in records if r.HasField("decision")
                         and r.decision.decision_id == call.decision_id]
            self.assertEqual(len(decisions), 1, f"{call.name}: no decision {call.decision_id}")
            self.assertTrue(decisions[0].decision.allowed)
            self.assertLessEqual(decisions[0].time.ToNanoseconds(), call.dial_time.ToNanoseconds())
        # The wallboard the run prints: its address file (owner-only) opens
        # the demo tenant's board, which shows the running campaign.
        board_file = os.path.join(self.run_dir, "wallboard.url")
        self.assertIn(f"open the address in {board_file}", text)
        self.assertEqual(os.stat(board_file).st_mode & 0o777, 0o600)
        with open(board_file) as f:
            url = urllib.parse.urlsplit(f.read().strip())
        frag = dict(urllib.parse.parse_qsl(url.fragment))
        req = urllib.request.Request(f"http://{url.netloc}/api/v1/tenants/{frag['tenant']}/board",
                                     headers={"Authorization": "Bearer " + frag["key"]})
        with urllib.request.urlopen(req, timeout=15) as resp:
            board = json.load(resp)
        live = [c for c in board["campaigns"]["items"] if c["id"] == "live-predictive"]
        self.assertEqual(len(live), 1, board["campaigns"])
        self.assertEqual(live[0]["state"], "running")
        self.assertGreater(board["agents"]["counts"]["total"], 0, board["agents"])
        self.assertIsInstance(board["today"]["sales"], int, board["today"])  # from reporting
        reached = first.wait_for(REACHED, lambda v: v[0] >= 1, 60)[0]
        # Ctrl-C: everything stops, nothing is left running.
        self.assertEqual(first.ctrl_c(), 0)
        self.assertIn("== Stopping", first.text())
        self.assertEqual(processes_of(self.run_dir), [])
        # The next start resumes the same campaign with what it had reached.
        second = Run(self.run_dir, "2")
        second.wait_for(DIALS, lambda v: v[0] >= 5, 240)
        text = second.text()
        self.assertIn("resumed: tenants/acme-insurance/campaigns/live-predictive (CAMPAIGN_STATE_RUNNING)",
                      text)
        self.assertNotIn("importing", text)  # the contacts were kept
        again = [int(m.group(1)) for m in REACHED.finditer(text)]
        self.assertGreaterEqual(again[0], reached)
        self.assertEqual(second.ctrl_c(), 0)
        self.assertEqual(processes_of(self.run_dir), [])
        self.ok = True

    def endpoint(self, service):
        with open(os.path.join(self.run_dir, f"{service}.ports")) as f:
            return dict(line.split("=", 1) for line in f.read().split())["grpc"]


if __name__ == "__main__":
    unittest.main()
