#!/usr/bin/python3
"""A real Prometheus scrapes the local platform, with Dialgrid's rules loaded.

1. `promtool check rules` and `promtool test rules` on
   deploy/monitoring/dialgrid-alerts.yml and its unit tests.
2. The local platform (tools/pylib/dialgrid_local.py: redis-server, the
   Kafka-protocol broker, every service as a process) and Debian's
   `prometheus` on a free loopback port, with a temporary storage directory, a
   generated scrape config naming every service's admin endpoint (1 s scrape
   and rule evaluation interval) and the rules file.
3. A little traffic, through Debian's python3-grpcio: one tenant, a contact
   list of 40 UK numbers, three agents whose simulated desktops take calls,
   a predictive campaign on the simulated carrier, and a few RPCs a second on
   every service.
4. Prometheus' HTTP API: every target up; a request rate for every service
   from its own dialgrid_<service>_rpc_requests_total; the platform's abandon
   rate (the rules file's recording rule, once the campaign had live answers);
   every rule evaluating without error on the real series; every metric name
   the rules use exported by the services today; no alert firing on the
   healthy platform; and DialgridServiceDown pending for a service once it is
   stopped.

Run:  DIALGRID_BUILD_DIR=build /usr/bin/python3 tests/e2e/prometheus_scrape_test.py -v
Needs the service and broker binaries and the dialgrid_python_protos stubs in
the build directory, redis-server, and Debian's `prometheus` (prometheus and
promtool). Logs and data go to a temporary directory, removed at the end
unless a test failed (its path is printed then).
"""
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))

from dialgrid_local import BUILD, SERVICES, Platform, free_port, wait_for  # noqa: E402

if not os.path.exists(os.path.join(BUILD, "python", "dialgrid", "tenancy", "v1", "tenancy_pb2.py")):
    sys.exit(f"no Python stubs under {BUILD}/python; build them with "
             f"`cmake --build {BUILD} --target dialgrid_python_protos` "
             f"(DIALGRID_BUILD_DIR selects the build directory)")

import dialgrid_client as dc  # noqa: E402
from dialgrid_client import (agentstate_pb2, agentstate_pb2_grpc, compliance_pb2,  # noqa: E402
                             compliance_pb2_grpc, contacts_pb2, contacts_pb2_grpc, dialing_pb2,
                             dialing_pb2_grpc, grpc, phone_number_pb2, recording_pb2,
                             recording_pb2_grpc, tenancy_pb2, tenancy_pb2_grpc)
from google.protobuf import duration_pb2  # noqa: E402

RULES = os.path.join(ROOT, "deploy", "monitoring", "dialgrid-alerts.yml")
RULE_TESTS = os.path.join(ROOT, "deploy", "monitoring", "dialgrid-alerts.test.yml")
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
TIMEOUT = 5  # seconds, per RPC and per HTTP request
# Stop everything (and keep the logs) well before ctest's TIMEOUT of 180 s.
WATCHDOG_SECONDS = 160


def job_of(service):
    """The scrape job of a service, named as the Helm chart's ServiceMonitors
    name theirs (<release fullname>-<service>)."""
    return f"dialgrid-{service}"


def metric_prefix(service):
    return f"dialgrid_{service.replace('-', '')}"


class PrometheusScrapeTest(unittest.TestCase):
    run_dir = None
    platform = None
    prometheus = None
    prometheus_url = None
    traffic_stop = None
    traffic_threads = ()
    traffic_errors = None
    channels = {}
    campaign = None
    failed = False

    # ----------------------------------------------------------- lifecycle

    @classmethod
    def setUpClass(cls):
        for tool in (PROMETHEUS, PROMTOOL):
            if not os.access(tool, os.X_OK):
                raise RuntimeError(f"{tool} is not installed (apt-get install prometheus; "
                                   f"tools/setup.sh installs tools/packages.txt)")
        warnings.filterwarnings("ignore", category=ResourceWarning,
                                message=r"unclosed file .*dialgrid-prom-")
        cls.run_dir = tempfile.mkdtemp(prefix="dialgrid-prom-")
        cls.traffic_errors = []
        try:
            cls.platform = Platform(run_dir=os.path.join(cls.run_dir, "platform"))
            cls.platform.up()
            cls.start_prometheus()
            cls.wait_for_targets()
            cls.start_traffic()
        except BaseException:
            cls.failed = True
            cls._shutdown()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._shutdown()

    @classmethod
    def _shutdown(cls):
        """Stops the traffic, Prometheus and the platform; removes the run
        directory unless a test failed. Safe to call more than once."""
        if cls.traffic_stop is not None:
            cls.traffic_stop.set()
            for t in cls.traffic_threads:
                t.join(timeout=10)
            cls.traffic_stop = None
        for channel in cls.channels.values():
            channel.close()
        cls.channels = {}
        if cls.prometheus is not None:
            if cls.prometheus.poll() is None:
                cls.prometheus.send_signal(signal.SIGTERM)
                try:
                    cls.prometheus.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    cls.prometheus.kill()
                    cls.prometheus.wait()
            cls.prometheus = None
        if cls.platform is not None:
            cls.platform.stop()
            cls.platform = None
        if cls.run_dir is None:
            return
        if cls.failed:
            sys.stderr.write(f"\n[prometheus e2e] a test failed; logs and data kept in {cls.run_dir}\n")
            tail = _tail(os.path.join(cls.run_dir, "prometheus.log"), 20)
            if tail:
                sys.stderr.write("[prometheus e2e] last lines of prometheus.log:\n" + tail + "\n")
        else:
            shutil.rmtree(cls.run_dir, ignore_errors=True)
        cls.run_dir = None

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = self._bad_outcomes(result)
        super().run(result)
        if self._bad_outcomes(result) > before:
            type(self).failed = True
        return result

    @staticmethod
    def _bad_outcomes(result):
        return (len(result.failures) + len(result.errors)
                + len(getattr(result, "unexpectedSuccesses", ())))

    # ---------------------------------------------------------- Prometheus

    @classmethod
    def scrape_config(cls):
        """The generated configuration: one job per service, its admin
        endpoint's /metrics; JSON, which is YAML too."""
        return {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": [RULES],
            "scrape_configs": [
                {"job_name": job_of(svc), "metrics_path": "/metrics", "scheme": "http",
                 "static_configs": [{"targets": [cls.platform.endpoints[svc]["admin"]]}]}
                for svc in SERVICES],
        }

    @classmethod
    def start_prometheus(cls):
        config = os.path.join(cls.run_dir, "prometheus.yml")
        with open(config, "w") as f:
            json.dump(cls.scrape_config(), f, indent=1)
        check = subprocess.run([PROMTOOL, "check", "config", config], capture_output=True, text=True)
        if check.returncode != 0:
            raise AssertionError(f"promtool check config failed:\n{check.stdout}{check.stderr}")
        last_error = None
        for _ in range(3):  # the free port may be taken between the probe and the bind
            port = free_port()
            log = open(os.path.join(cls.run_dir, "prometheus.log"), "ab")
            cls.prometheus = subprocess.Popen(
                [PROMETHEUS, "--config.file=" + config,
                 "--storage.tsdb.path=" + os.path.join(cls.run_dir, "prometheus-data"),
                 "--storage.tsdb.retention.time=1h",
                 "--web.listen-address=127.0.0.1:" + str(port),
                 "--log.level=info"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            cls.prometheus_url = f"http://127.0.0.1:{port}"

            def ready():
                if cls.prometheus.poll() is not None:
                    return "exited"
                try:
                    with urllib.request.urlopen(cls.prometheus_url + "/-/ready", timeout=1) as r:
                        return "ready" if r.status == 200 else None
                except (urllib.error.URLError, OSError):
                    return None
            state = wait_for(ready, 30, "prometheus to be ready")
            if state == "ready":
                return
            last_error = _tail(os.path.join(cls.run_dir, "prometheus.log"), 10)
        raise AssertionError(f"prometheus did not start:\n{last_error}")

    @classmethod
    def api(cls, path, **params):
        """GET /api/v1/<path>; returns `data`, failing on an API error."""
        url = f"{cls.prometheus_url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as err:
            raise AssertionError(f"GET {url}: HTTP {err.code} {err.read().decode(errors='replace')}")
        if body.get("status") != "success":
            raise AssertionError(f"GET {url}: {body}")
        return body["data"]

    @classmethod
    def query(cls, promql):
        """An instant query; returns [(labels, float value)] of its vector."""
        data = cls.api("query", query=promql)
        if data["resultType"] != "vector":
            raise AssertionError(f"{promql}: result type {data['resultType']}, want vector")
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    @classmethod
    def wait_for_targets(cls):
        """Until every service's target was scraped and is healthy."""
        def healthy():
            targets = cls.api("targets", state="active")["activeTargets"]
            by_job = {t["labels"]["job"]: t for t in targets}
            return all(by_job.get(job_of(s), {}).get("health") == "up" for s in SERVICES)
        try:
            wait_for(healthy, 30, "every service's target to be up")
        except TimeoutError:
            targets = cls.api("targets", state="active")["activeTargets"]
            raise AssertionError("targets not up: " + "; ".join(
                f"{t['labels']['job']} {t['scrapeUrl']} {t['health']} {t['lastError']}" for t in targets))

    def eventually(self, fn, timeout, what):
        """fn() until it returns something true; fails with `what` and fn's last
        value otherwise."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = fn()
            if last:
                return last
            if time.monotonic() > deadline:
                self.fail(f"{what} (after {timeout} s; last: {last!r})")
            time.sleep(0.5)

    # ------------------------------------------------------------- traffic

    @classmethod
    def start_traffic(cls):
        """A tenant, 40 UK contacts, 3 agents and a running predictive
        campaign; then a thread per simulated desktop loop and one that calls
        every service a few times a second until the end."""
        p = cls.platform
        ch = {svc: grpc.insecure_channel(p.endpoints[svc]["grpc"]) for svc in SERVICES}
        cls.channels = ch
        admin = dc.bearer(p.admin_secret)
        tenancy = tenancy_pb2_grpc.TenancyServiceStub(ch["tenancy"])
        contacts = contacts_pb2_grpc.ContactsServiceStub(ch["contacts"])
        compliance = compliance_pb2_grpc.ComplianceServiceStub(ch["compliance"])
        agents = agentstate_pb2_grpc.AgentStateServiceStub(ch["agent-state"])
        dialing = dialing_pb2_grpc.DialingServiceStub(ch["dialing"])
        recording = recording_pb2_grpc.RecordingServiceStub(ch["recording"])

        tenant_id = f"mon-{uuid.uuid4().hex[:10]}"
        tenant = f"tenants/{tenant_id}"
        tenancy.CreateTenant(tenancy_pb2.CreateTenantRequest(
            tenant_id=tenant_id, tenant=tenancy_pb2.Tenant(
                display_name="Monitoring Co", time_zone="Europe/London",
                quota=tenancy_pb2.Quota(max_agents=10, max_concurrent_lines=30, max_contacts=1000))),
            metadata=admin, timeout=TIMEOUT)

        def credential(role, name):
            return dc.bearer(tenancy.CreateCredential(tenancy_pb2.CreateCredentialRequest(
                parent=tenant, credential=tenancy_pb2.Credential(display_name=name, roles=[role])),
                metadata=admin, timeout=TIMEOUT).secret)
        office = credential(tenancy_pb2.ROLE_TENANT_ADMIN, "back office")
        desk = credential(tenancy_pb2.ROLE_AGENT, "agent desktops")
        # Nothing is dialed for a tenant without a rule set; the registries
        # are the vendor's to choose.
        compliance.UpdateRuleSet(compliance_pb2.UpdateRuleSetRequest(
            rule_set=compliance_pb2.RuleSet(name=f"{tenant}/ruleSet", max_abandon_rate=0.03,
                                            do_not_call_registries=["us-national"]),
            expected_version=0), metadata=admin, timeout=TIMEOUT)

        campaign = f"{tenant}/campaigns/uk-monitoring"
        cls.campaign = campaign
        lst = f"{tenant}/contactLists/uk-monitoring"
        contacts.CreateContactList(contacts_pb2.CreateContactListRequest(
            parent=tenant, contact_list_id="uk-monitoring",
            contact_list=contacts_pb2.ContactList(display_name="UK monitoring")),
            metadata=office, timeout=TIMEOUT)
        for i in range(40):  # Ofcom's drama range, 020 7946 0100-0139
            contacts.CreateContact(contacts_pb2.CreateContactRequest(parent=lst, contact=contacts_pb2.Contact(
                external_id=f"uk-{i:03d}", first_name="Caller", last_name=f"{i:03d}",
                time_zone="Europe/London", country="GB",
                phones=[contacts_pb2.ContactPhone(number=phone_number_pb2.PhoneNumber(
                    e164=f"+4420794601{i:02d}"))])),
                metadata=office, timeout=TIMEOUT)
        names = []
        for i in range(3):
            a = agents.CreateAgent(agentstate_pb2.CreateAgentRequest(
                parent=tenant, agent_id=f"uk-{i + 1}",
                agent=agentstate_pb2.Agent(display_name=f"UK agent {i + 1}", campaigns=[campaign])),
                metadata=office, timeout=TIMEOUT)
            agents.Login(agentstate_pb2.LoginRequest(name=a.name, station=f"ext-4{i:02d}"),
                         metadata=desk, timeout=TIMEOUT)
            agents.SetReady(agentstate_pb2.SetReadyRequest(name=a.name), metadata=desk, timeout=TIMEOUT)
            names.append(a.name)
        dialing.CreateCampaign(dialing_pb2.CreateCampaignRequest(
            parent=tenant, campaign_id="uk-monitoring", campaign=dialing_pb2.Campaign(
                display_name="UK monitoring", contact_lists=[lst],
                mode=dialing_pb2.CAMPAIGN_MODE_PREDICTIVE, max_lines=6,
                caller_ids=["+442079460999"], time_zone="Europe/London",
                ring_timeout=duration_pb2.Duration(seconds=15),
                dispositions=[dialing_pb2.Disposition(
                    code="no-thanks", outcome=dialing_pb2.DISPOSITION_OUTCOME_NOT_INTERESTED)])),
            metadata=office, timeout=TIMEOUT)

        stop = threading.Event()
        cls.traffic_stop = stop
        errors = cls.traffic_errors

        def desktops():
            """Each agent in wrap-up gives a disposition and goes ready again;
            a heartbeat every few seconds keeps the sessions."""
            beat = time.monotonic()
            while not stop.is_set():
                try:
                    listed = agents.ListAgents(agentstate_pb2.ListAgentsRequest(parent=tenant, page_size=10),
                                               metadata=office, timeout=TIMEOUT).agents
                    for a in listed:
                        if time.monotonic() - beat > 5:
                            agents.Heartbeat(agentstate_pb2.HeartbeatRequest(
                                name=a.name, station=a.status.station), metadata=desk, timeout=TIMEOUT)
                        if a.status.state != agentstate_pb2.STATE_WRAP_UP:
                            continue
                        try:
                            dialing.SetDisposition(dialing_pb2.SetDispositionRequest(
                                name=a.status.call_id, code="no-thanks"), metadata=desk, timeout=TIMEOUT)
                        except grpc.RpcError:
                            pass  # the call's wrap-up ended meanwhile
                        agents.SetReady(agentstate_pb2.SetReadyRequest(name=a.name), metadata=desk,
                                        timeout=TIMEOUT)
                    if time.monotonic() - beat > 5:
                        beat = time.monotonic()
                except grpc.RpcError as err:
                    if not stop.is_set():
                        errors.append(f"desktops: {err.code().name} {err.details()}")
                stop.wait(0.2)

        def requests():
            """A read on every service, twice a second: each service's
            request counter moves while Prometheus scrapes it."""
            calls = [
                ("tenancy", lambda: tenancy.GetTenant(
                    tenancy_pb2.GetTenantRequest(name=tenant), metadata=office, timeout=TIMEOUT)),
                ("contacts", lambda: contacts.GetContactList(
                    contacts_pb2.GetContactListRequest(name=lst), metadata=office, timeout=TIMEOUT)),
                ("compliance", lambda: compliance.GetAbandonRate(
                    compliance_pb2.GetAbandonRateRequest(campaign=campaign), metadata=office,
                    timeout=TIMEOUT)),
                ("agent-state", lambda: agents.GetAgent(
                    agentstate_pb2.GetAgentRequest(name=names[0]), metadata=office, timeout=TIMEOUT)),
                ("dialing", lambda: dialing.GetCampaign(
                    dialing_pb2.GetCampaignRequest(name=campaign), metadata=office, timeout=TIMEOUT)),
                ("recording", lambda: recording.ListRecordings(
                    recording_pb2.ListRecordingsRequest(parent=tenant), metadata=office,
                    timeout=TIMEOUT)),
            ]
            # Services without a call above: their first unary method, found
            # by reflection, with an empty request (answered with an error,
            # and counted like any other RPC).
            for svc in SERVICES:
                if svc not in {name for name, _ in calls}:
                    try:
                        method = first_unary_method(ch[svc])
                    except (AssertionError, grpc.RpcError) as err:
                        errors.append(f"{svc}: no method to call: {err}")
                        continue
                    raw = ch[svc].unary_unary(method, request_serializer=lambda m: m,
                                              response_deserializer=lambda b: b)
                    calls.append((svc, lambda raw=raw: _ignore_rpc_error(
                        raw, b"", metadata=office, timeout=TIMEOUT)))
            while not stop.is_set():
                for svc, call in calls:
                    if stop.is_set():
                        break
                    try:
                        call()
                    except grpc.RpcError as err:
                        # A service stopped on purpose (the service-down test)
                        # answers UNAVAILABLE; anything else is a failure.
                        if err.code() != grpc.StatusCode.UNAVAILABLE or not cls.stopped(svc):
                            errors.append(f"{svc}: {err.code().name} {err.details()}")
                stop.wait(0.5)

        cls.traffic_threads = [threading.Thread(target=desktops, daemon=True),
                               threading.Thread(target=requests, daemon=True)]
        for t in cls.traffic_threads:
            t.start()
        dialing.StartCampaign(dialing_pb2.StartCampaignRequest(name=campaign), metadata=office,
                              timeout=TIMEOUT)

    @classmethod
    def stopped(cls, service):
        return any(name == service and proc.poll() is not None
                   for name, proc in (cls.platform.procs if cls.platform else ()))

    # --------------------------------------------------------------- tests

    def test_01_promtool_check_rules(self):
        r = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, f"promtool check rules:\n{r.stdout}{r.stderr}")
        self.assertIn("SUCCESS", r.stdout)

    def test_02_promtool_test_rules(self):
        r = subprocess.run([PROMTOOL, "test", "rules", RULE_TESTS], capture_output=True, text=True,
                           cwd=os.path.dirname(RULE_TESTS))
        self.assertEqual(r.returncode, 0, f"promtool test rules:\n{r.stdout}{r.stderr}")
        self.assertIn("SUCCESS", r.stdout)

    def test_03_every_service_up(self):
        up = {labels["job"]: value for labels, value in self.query("up")}
        self.assertEqual(up, {job_of(s): 1.0 for s in SERVICES},
                         "up per scrape job (every service's admin endpoint, and nothing else)")

    def test_04_request_rate_per_service(self):
        for svc in SERVICES:
            with self.subTest(service=svc):
                promql = f"sum(rate({metric_prefix(svc)}_rpc_requests_total[10s]))"

                def rate():
                    got = self.query(promql)
                    return got if got and got[0][1] > 0 else None
                got = self.eventually(rate, 30, f"{promql}: no positive request rate")
                self.assertEqual(len(got), 1)
        # The rules file's recording rule: a series per job, from the same counters.
        def recorded():
            got = {l["job"]: v for l, v in self.query("job:dialgrid_rpc_requests:rate5m")}
            return got if set(got) == {job_of(s) for s in SERVICES} and all(
                v > 0 for v in got.values()) else None
        self.eventually(recorded, 20, "job:dialgrid_rpc_requests:rate5m: not a positive rate for every job")
        self.assertEqual(self.traffic_errors, [], "RPCs of the traffic failed")

    def test_05_abandon_rate(self):
        """The campaign's live answers make the platform's abandon rate
        defined: the recording rule returns a number between 0 and 1."""
        def live():
            got = self.query("dialgrid:dialing_live_answers:increase1h")
            return got if got and got[0][1] > 0 else None
        self.eventually(live, 90, "dialgrid:dialing_live_answers:increase1h: the campaign had no live "
                                  "answer (dialing's call_steps_total{step=\"answered\"})")

        def rate():
            return self.query("dialgrid:dialing_abandon_rate:ratio1h")
        got = self.eventually(rate, 15, "dialgrid:dialing_abandon_rate:ratio1h returned no data")
        self.assertEqual(len(got), 1, got)
        value = got[0][1]
        self.assertTrue(math.isfinite(value) and 0 <= value <= 1, f"abandon rate {value}")
        # The counters it is made of, straight from dialing's export.
        steps = {l["step"] for l, _ in self.query('dialgrid_dialing_call_steps_total{job="dialgrid-dialing"}')}
        for step in ("abandoned", "answered", "machine", "message_played", "checked", "check_failed",
                     "placed", "hopper_dry"):
            self.assertIn(step, steps)
        sys.stderr.write(f"[abandon rate {value:.3f}] ")

    # Families a service declares but exports only from their first sample
    # (a labelled family with no series yet): the declaring source file and
    # the name (or name suffix) it registers.
    # Also the TLS families: declared only when a gRPC port (or the
    # wallboard's HTTPS port) serves TLS with reload (the local platform is
    # plaintext); their export is checked by
    # services/common/tests/tls_reload_test.cc and the wallboard's
    # wallboard_http_test.py.
    DECLARED_ON_FIRST_USE = {
        "dialgrid_[a-z]+_rpc_shed_total": ("services/common/server/metrics.cc", '"_rpc_shed_total"'),
        "dialgrid_[a-z]+_tls_certificate_expiry_timestamp_seconds": (
            "services/common/tls/tls_metrics.cc", '"_tls_certificate_expiry_timestamp_seconds"'),
        "dialgrid_[a-z]+_tls_reloads_total": ("services/common/tls/tls_metrics.cc", '"_tls_reloads_total"'),
    }

    def test_06_rules_use_only_exported_metrics(self):
        """Every dialgrid_* name in the rules file is a metric family some
        service exports now (its /metrics TYPE lines); the runtime's RPC name
        patterns match a family of every service, the others of some service.
        The exception: families declared in the code that appear with their
        first sample (DECLARED_ON_FIRST_USE), checked in their source."""
        families = {}
        for svc in SERVICES:
            url = f"http://{self.platform.endpoints[svc]['admin']}/metrics"
            with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
                text = resp.read().decode()
            families[svc] = set(re.findall(r"^# TYPE (\S+) \S+$", text, re.M))
        exported = set().union(*families.values())
        with open(RULES) as f:
            rules = f.read()
        exprs = "\n".join(re.findall(r"expr: (\|\n(?:\s{10}.*\n)+|.*)", rules))
        patterns = set(re.findall(r'__name__=~"([^"]+)"', exprs))
        names = {m for m in re.findall(r"(?<![\w:])dialgrid_[a-z0-9_]+(?![\w:])", exprs)}
        self.assertTrue(names and patterns, "no metric names found in the rules file")
        missing = sorted(names - exported)
        self.assertEqual(missing, [], "metric names in the rules file that no service exports")
        for pattern in sorted(patterns):
            if pattern in self.DECLARED_ON_FIRST_USE:
                path, declared = self.DECLARED_ON_FIRST_USE[pattern]
                with self.subTest(pattern=pattern), open(os.path.join(ROOT, path)) as f:
                    self.assertIn(declared, f.read(), f"{path} no longer declares {pattern}")
                continue
            with self.subTest(pattern=pattern):
                matched = {svc for svc in SERVICES if any(re.fullmatch(pattern, f) for f in families[svc])}
                # The runtime's RPC metrics are every service's; the rest
                # (outbox relay) at least some service's.
                want = set(SERVICES) if "_rpc_" in pattern else matched or {"some service"}
                self.assertEqual(matched, want, f"services exporting a metric named {pattern}")

    def test_07_rules_evaluate_without_errors(self):
        def evaluated():
            groups = self.api("rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return groups if rules and all(r.get("lastEvaluation", "").startswith("20")
                                           for r in rules) else None
        groups = self.eventually(evaluated, 15, "rules not all evaluated yet")
        self.assertEqual({g["name"] for g in groups},
                         {"dialgrid.records", "dialgrid.platform", "dialgrid.call-path", "dialgrid.recording"})
        for g in groups:
            for r in g["rules"]:
                with self.subTest(rule=r["name"]):
                    self.assertEqual(r["health"], "ok", f"{r['name']}: {r.get('lastError')}")
        alerts = [r for g in groups for r in g["rules"] if r["type"] == "alerting"]
        self.assertGreaterEqual(len(alerts), 12)
        firing = [a["labels"] for a in self.api("alerts")["alerts"] if a["state"] == "firing"]
        self.assertEqual(firing, [], "alerts firing on a healthy platform")

    def test_zz_service_down_alert(self):
        """Stopping a service turns its target down and its DialgridServiceDown
        alert pending (it fires after its `for:` of 2 minutes)."""
        victim = "recording"
        procs = [proc for name, proc in self.platform.procs if name == victim]
        self.assertEqual(len(procs), 1)
        procs[0].send_signal(signal.SIGTERM)
        procs[0].wait(timeout=20)

        def down():
            got = self.query(f'up{{job="{job_of(victim)}"}} == 0')
            return got or None
        self.eventually(down, 15, f"up of {job_of(victim)} never went to 0")

        def pending():
            return [a for a in self.api("alerts")["alerts"]
                    if a["labels"].get("alertname") == "DialgridServiceDown"] or None
        alerts = self.eventually(pending, 15, "DialgridServiceDown not raised")
        self.assertEqual([(a["labels"]["job"], a["state"], a["labels"]["severity"]) for a in alerts],
                         [(job_of(victim), "pending", "critical")])
        self.assertIn(job_of(victim), alerts[0]["annotations"]["summary"])


def first_unary_method(channel):
    """/<package>.<Service>/<Method> of the first unary method of the
    dialgrid service a server lists through reflection."""
    from google.protobuf import descriptor_pb2
    from grpc.reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
    services = [s for s in dc.list_services_by_reflection(channel) if s.startswith("dialgrid.")]
    if not services:
        raise AssertionError("no dialgrid service listed by reflection")
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=services[0])
    for response in stub.ServerReflectionInfo(iter([request]), timeout=TIMEOUT):
        for blob in response.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto.FromString(blob)
            for svc in fd.service:
                if f"{fd.package}.{svc.name}" != services[0]:
                    continue
                for m in svc.method:
                    if not m.client_streaming and not m.server_streaming:
                        return f"/{services[0]}/{m.name}"
    raise AssertionError(f"{services[0]}: no unary method found by reflection")


def _ignore_rpc_error(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except grpc.RpcError:
        pass


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def _tail(path, n):
    return "\n".join(_read(path).splitlines()[-n:])


def _abort(signum, frame):
    # Unwinds through unittest (which re-raises KeyboardInterrupt) to main's
    # finally, which stops everything: no process is left behind.
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    signal.signal(signal.SIGTERM, _abort)
    signal.signal(signal.SIGALRM, _abort)
    signal.alarm(WATCHDOG_SECONDS)
    try:
        unittest.main(verbosity=2)
    except KeyboardInterrupt:
        PrometheusScrapeTest.failed = True
        sys.stderr.write("\n[prometheus e2e] interrupted (signal or watchdog)\n")
        sys.exit(2)
    finally:
        signal.alarm(0)
        PrometheusScrapeTest._shutdown()


if __name__ == "__main__":
    main()
