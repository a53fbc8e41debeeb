#!/usr/bin/python3
"""Two replicas of every service behind one address each, one of them killed
with SIGKILL in the middle of a load: nothing acknowledged is lost and the
other replica carries on.

The platform is the local one (tools/pylib/dialgrid_local.py) with each of
tenancy, contacts, compliance, agent-state and dialing started twice against
the same redis-server and broker. Every service reaches its peers, and this
test reaches the services, through one gRPC target per service naming both
replicas ("ipv4:127.0.0.1:a,127.0.0.1:b") with round-robin balancing, as a
headless Kubernetes Service would give them. For each service a stream of
acknowledged writes (each with its idempotency key, retried as a client
would when its replica dies) runs while one replica is killed; then every
acknowledged write must be readable, exactly once, and its event must be on
Kafka. Dialing: two running campaigns are spread one per replica; when one
replica dies the other takes its campaign over.

Run:  DIALGRID_BUILD_DIR=build /usr/bin/python3 tests/e2e/multi_replica_test.py -v
"""
import os
import signal
import sys
import time
import unittest
import urllib.request
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from dialgrid_local import BUILD, Platform, wait_for  # noqa: E402

if not os.path.exists(os.path.join(BUILD, "python", "dialgrid", "tenancy", "v1", "tenancy_pb2.py")):
    sys.exit(f"no Python stubs under {BUILD}/python; build the dialgrid_python_protos target")

import dialgrid_client as dc  # noqa: E402
from dialgrid_client import grpc, health_pb2, health_pb2_grpc, tenancy_pb2, tenancy_pb2_grpc  # noqa: E402
from dialgrid.agentstate.v1 import agentstate_pb2, agentstate_pb2_grpc  # noqa: E402
from dialgrid.compliance.v1 import compliance_pb2, compliance_pb2_grpc  # noqa: E402
from dialgrid.contacts.v1 import contacts_pb2, contacts_pb2_grpc  # noqa: E402
from dialgrid.dialing.v1 import dialing_pb2, dialing_pb2_grpc  # noqa: E402
from demo import read_topic_when_drained  # noqa: E402

REPLICATED = ["tenancy", "contacts", "compliance", "agent-state", "dialing"]
TENANT = "tenants/replica-co"
RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
ROUND_ROBIN = [("grpc.lb_policy_name", "round_robin")]


class ReplicatedPlatform(Platform):
    """The local platform with two replicas of each service in REPLICATED;
    endpoints[name]["grpc"] is the target naming both."""

    def __init__(self):
        super().__init__()
        self.suffix = ""
        self.replicas = {}  # service -> [{"proc", "grpc", "admin", "log"}]

    def log_path(self, name):
        return os.path.join(self.run_dir, f"{name}{self.suffix}.log")

    def up(self):
        self.start_redis()
        self.start_broker()
        self.make_secrets()
        for name in REPLICATED:
            for i in range(2):
                self.suffix = f"-{i + 1}"
                proc = self.start_service(name)
                ep = self.endpoints[name]
                self.replicas.setdefault(name, []).append(
                    {"proc": proc, "grpc": ep["grpc"], "admin": ep["admin"],
                     "log": self.log_path(name)})
            self.suffix = ""
            both = self.replicas[name]
            self.endpoints[name] = {"grpc": "ipv4:" + ",".join(r["grpc"] for r in both),
                                    "admin": both[0]["admin"]}
        return self

    def kill(self, name, index):
        r = self.replicas[name][index]
        os.kill(r["proc"].pid, signal.SIGKILL)
        r["proc"].wait()


def retried(fn, request, metadata, attempts=50):
    """A client's retry: the same request (same idempotency key) again while
    the replica that had it is gone."""
    for i in range(attempts):
        try:
            return fn(request, metadata=metadata, timeout=5)
        except grpc.RpcError as e:
            if e.code() not in RETRYABLE or i == attempts - 1:
                raise
            time.sleep(0.2)


def served(admin, service, method):
    """Requests of `method` a replica has answered (its rpc counter, all codes)."""
    body = urllib.request.urlopen(f"http://{admin}/metrics", timeout=5).read().decode()
    prefix = f"dialgrid_{service.replace('-', '')}_rpc_requests_total{{"
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith(prefix) and f'method="{method}"' in line)


def metric(admin, name):
    body = urllib.request.urlopen(f"http://{admin}/metrics", timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{}"):
            return float(line.rsplit(" ", 1)[1])
    return None


class MultiReplicaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.p = ReplicatedPlatform()
        try:
            cls.p.up()
        except Exception:
            cls.p.stop()
            print(f"logs in {cls.p.run_dir}", file=sys.stderr)
            raise
        cls.ch = {name: grpc.insecure_channel(cls.p.endpoints[name]["grpc"], options=ROUND_ROBIN)
                  for name in REPLICATED}
        tenancy = tenancy_pb2_grpc.TenancyServiceStub(cls.ch["tenancy"])
        admin = dc.bearer(cls.p.admin_secret)
        retried(tenancy.CreateTenant, tenancy_pb2.CreateTenantRequest(
            tenant_id="replica-co", tenant=tenancy_pb2.Tenant(
                display_name="Replica Co", time_zone="America/Chicago",
                quota=tenancy_pb2.Quota(max_agents=200, max_concurrent_lines=50, max_contacts=100000,
                                        max_requests_per_second=5000))), admin)
        cls.office = dc.bearer(retried(tenancy.CreateCredential, tenancy_pb2.CreateCredentialRequest(
            parent=TENANT, credential=tenancy_pb2.Credential(
                display_name="back office", roles=[tenancy_pb2.ROLE_TENANT_ADMIN])), admin).secret)
        cls.failed = False

    @classmethod
    def tearDownClass(cls):
        cls.p.stop()
        if cls.failed:
            print(f"logs in {cls.p.run_dir}", file=sys.stderr)

    def run(self, result=None):
        result = super().run(result)
        if result is not None and (result.failures or result.errors):
            type(self).failed = True
        return result

    def serving(self, name, index):
        ch = grpc.insecure_channel(self.p.replicas[name][index]["grpc"])
        status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""),
                                                       timeout=5).status
        return status == health_pb2.HealthCheckResponse.SERVING

    def test_1_contacts_created_while_a_replica_dies_are_all_kept_once_with_their_events(self):
        contacts = contacts_pb2_grpc.ContactsServiceStub(self.ch["contacts"])
        lst = retried(contacts.CreateContactList, contacts_pb2.CreateContactListRequest(
            parent=TENANT, contact_list_id="replicas", request_id="list-1",
            contact_list=contacts_pb2.ContactList(display_name="Replicas")), self.office)
        acknowledged = {}
        for i in range(150):
            if i == 50:
                # Round robin: both replicas took a share of the load so far.
                for r in self.p.replicas["contacts"]:
                    self.assertGreater(served(r["admin"], "contacts", "CreateContact"), 10)
                self.p.kill("contacts", 0)
            c = retried(contacts.CreateContact, contacts_pb2.CreateContactRequest(
                parent=lst.name, request_id=f"contact-{i}",
                contact=contacts_pb2.Contact(external_id=f"r{i}", phones=[contacts_pb2.ContactPhone(
                    number=dc.phone_number_pb2.PhoneNumber(e164=f"+1312555{i:04d}"))])),
                self.office)
            acknowledged[c.name] = i
        self.assertTrue(self.serving("contacts", 1))
        stored = []
        token = ""
        while True:
            page = retried(contacts.ListContacts, contacts_pb2.ListContactsRequest(
                parent=lst.name, page_size=100, page_token=token), self.office)
            stored += [c.name for c in page.contacts]
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(len(stored), len(set(stored)))
        self.assertEqual(set(stored), set(acknowledged))
        self.assertEqual(len(stored), 150)
        subjects = {e.subject for e in read_topic_when_drained(self.p, "contacts", "contacts")
                    if e.type.endswith("ContactCreated")}
        missing = set(acknowledged) - subjects
        self.assertFalse(missing, f"{len(missing)} acknowledged contacts have no event on Kafka")

    def test_2_opt_outs_added_while_a_replica_dies_all_hold(self):
        comp = compliance_pb2_grpc.ComplianceServiceStub(self.ch["compliance"])
        numbers = [f"+1202555{i:04d}" for i in range(60)]
        for i, n in enumerate(numbers):
            if i == 20:
                self.p.kill("compliance", 0)
            retried(comp.AddDoNotCallNumbers, compliance_pb2.AddDoNotCallNumbersRequest(
                parent=TENANT, phone_numbers=[n], reason="asked on the phone"), self.office)
        self.assertTrue(self.serving("compliance", 1))
        for n in numbers:
            r = retried(comp.CheckDoNotCall, compliance_pb2.CheckDoNotCallRequest(
                parent=TENANT, phone_number=n), self.office)
            self.assertTrue(r.entries, f"{n} acknowledged but not on the list")

    def test_3_agents_created_while_a_replica_dies_are_all_kept(self):
        agents = agentstate_pb2_grpc.AgentStateServiceStub(self.ch["agent-state"])
        made = set()
        for i in range(40):
            if i == 15:
                self.p.kill("agent-state", 0)
            a = retried(agents.CreateAgent, agentstate_pb2.CreateAgentRequest(
                parent=TENANT, agent_id=f"agent-{i}", request_id=f"agent-{i}",
                agent=agentstate_pb2.Agent(display_name=f"Agent {i}")), self.office)
            made.add(a.name)
        self.assertTrue(self.serving("agent-state", 1))
        listed = retried(agents.ListAgents, agentstate_pb2.ListAgentsRequest(
            parent=TENANT, page_size=100), self.office)
        self.assertEqual({a.name for a in listed.agents}, made)

    def test_4_credentials_made_while_a_tenancy_replica_dies_all_work(self):
        tenancy = tenancy_pb2_grpc.TenancyServiceStub(self.ch["tenancy"])
        admin = dc.bearer(self.p.admin_secret)
        secrets = []
        for i in range(20):
            if i == 8:
                self.p.kill("tenancy", 0)
            c = retried(tenancy.CreateCredential, tenancy_pb2.CreateCredentialRequest(
                parent=TENANT, credential=tenancy_pb2.Credential(
                    display_name=f"integration {i}", roles=[tenancy_pb2.ROLE_INTEGRATION])), admin)
            secrets.append(c.secret)
        self.assertTrue(self.serving("tenancy", 1))
        # Each works against the other services (which verify it with the
        # surviving tenancy replica).
        contacts = contacts_pb2_grpc.ContactsServiceStub(self.ch["contacts"])
        for s in secrets:
            retried(contacts.ListContactLists, contacts_pb2.ListContactListsRequest(parent=TENANT),
                    dc.bearer(s))

    def test_5_campaigns_spread_over_dialing_replicas_and_the_survivor_takes_both(self):
        dialing = dialing_pb2_grpc.DialingServiceStub(self.ch["dialing"])
        contacts = contacts_pb2_grpc.ContactsServiceStub(self.ch["contacts"])
        retried(contacts.CreateContactList, contacts_pb2.CreateContactListRequest(
            parent=TENANT, contact_list_id="campaign-list", request_id="list-2",
            contact_list=contacts_pb2.ContactList(display_name="Campaign list")), self.office)
        for cid in ("spring", "autumn"):
            retried(dialing.CreateCampaign, dialing_pb2.CreateCampaignRequest(
                parent=TENANT, campaign_id=cid, campaign=dialing_pb2.Campaign(
                    display_name=cid, contact_lists=[f"{TENANT}/contactLists/campaign-list"],
                    mode=dialing_pb2.CAMPAIGN_MODE_PROGRESSIVE, max_lines=5,
                    caller_ids=["+13125550100"],
                    dispositions=[dialing_pb2.Disposition(
                        code="sale", outcome=dialing_pb2.DISPOSITION_OUTCOME_SUCCESS)])),
                self.office)
            retried(dialing.StartCampaign, dialing_pb2.StartCampaignRequest(
                name=f"{TENANT}/campaigns/{cid}"), self.office)
        replicas = self.p.replicas["dialing"]
        owned = lambda r: metric(r["admin"], "dialgrid_dialing_campaigns_owned")  # noqa: E731
        wait_for(lambda: [owned(r) for r in replicas] == [1.0, 1.0], 30,
                 "one campaign on each dialing replica")
        self.p.kill("dialing", 0)
        wait_for(lambda: owned(replicas[1]) == 2.0, 30, "the surviving replica to take both")
        for cid in ("spring", "autumn"):
            c = retried(dialing.GetCampaign, dialing_pb2.GetCampaignRequest(
                name=f"{TENANT}/campaigns/{cid}"), self.office)
            self.assertEqual(c.state, dialing_pb2.CAMPAIGN_STATE_RUNNING)


if __name__ == "__main__":
    unittest.main()
