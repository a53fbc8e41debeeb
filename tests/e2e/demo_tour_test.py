#!/usr/bin/python3
"""The README's first command with --exit (what tools/run.sh --exit runs
after building): the scripted tour of every service in a fresh run
directory, exit code 0. Then no secret leaked: no file the run wrote (every
process's log, Redis' append-only file, the broker's log) and nothing it
printed holds a credential secret (dgk_<id>_<43 characters>) except the two
bootstrap secret files themselves (mode 0600), nor the bootstrap secrets in
any other form. The compliance steps print the refusals they claim (oral
consent, a day ban, the vendor suppression list, the attempt cap).

Run:  DIALGRID_BUILD_DIR=build /usr/bin/python3 tests/e2e/demo_tour_test.py -v
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = re.compile(rb"dgk_[a-z0-9]{16}_[A-Za-z0-9_-]{43}")
# Where a secret belongs: the bootstrap secret files the operator mounts.
SECRET_FILES = {"admin.secret", "service.secret"}


class DemoTourTest(unittest.TestCase):
    def test_tour_runs_and_leaks_no_secret(self):
        run_dir = tempfile.mkdtemp(prefix="dialgrid-tour-")
        ok = False
        try:
            out = subprocess.run(
                [sys.executable, os.path.join(ROOT, "tools", "demo.py"), "--run-dir", run_dir, "--exit"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=360)
            text = out.stdout
            self.assertEqual(out.returncode, 0, text[-4000:].decode(errors="replace"))
            self.assertIn(b"== Stopping", text)
            # The compliance steps show what they claim: oral consent does not
            # meet the written-consent rule, a Sunday call to Alabama is a day
            # ban, the vendor's suppression list refuses Globex's dial.
            for pattern in (rb"oral consent only +DENIED CONSENT_REQUIRED",
                            rb"with consent +ALLOWED",
                            rb"\(Birmingham\) DENIED DAY_BANNED US-AL",
                            rb"report +complete=True: 3 applied, 1 rejected",
                            rb"Globex dials \+12025550191 +DENIED VENDOR_SUPPRESSION litigators",
                            rb"DIAL 4 of \+12025550177 +DENIED ATTEMPT_CAP_NUMBER"):
                self.assertRegex(text, re.compile(pattern, re.IGNORECASE), pattern)

            bootstrap = []
            for name in sorted(SECRET_FILES):
                path = os.path.join(run_dir, name)
                self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, name)
                with open(path, "rb") as f:
                    bootstrap.append(f.read().strip())
            leaks = []
            if SECRET.search(text) or any(s in text for s in bootstrap):
                leaks.append("the tour's output")
            scanned = 0
            for dirpath, _, files in os.walk(run_dir):
                for name in files:
                    path = os.path.join(dirpath, name)
                    if dirpath == run_dir and name in SECRET_FILES:
                        continue
                    with open(path, "rb") as f:
                        data = f.read()
                    scanned += 1
                    if SECRET.search(data) or any(s in data for s in bootstrap):
                        leaks.append(os.path.relpath(path, run_dir))
            self.assertGreater(scanned, 10, "the run wrote fewer files than the services it started")
            self.assertEqual(leaks, [], "files holding a credential secret")
            sys.stderr.write(f"[{scanned} files scanned] ")
            ok = True
        finally:
            if ok:
                shutil.rmtree(run_dir, ignore_errors=True)
            else:
                print(f"run directory kept: {run_dir}", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
