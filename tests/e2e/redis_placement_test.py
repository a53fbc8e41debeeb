#!/usr/bin/python3
"""Tenants placed on Redis deployments of their own: two tenants on two
redis-servers, and nothing of one on the other.

The local platform (tools/pylib/dialgrid_local.py) with a second
redis-server and a placement file ("globex-energy <its address>") given to
every service (--redis_placement_file). Both tenants go through every
service: tenancy (the tenant, credentials), contacts (a list and contacts),
compliance (a rule set, opt-outs, decisions), agent state (agents going
ready, watched live), dialing (a campaign started) and recording (a
recording written and read back). Then:
  - every key on the placed tenant's Redis is that tenant's ({t:globex-energy});
  - no key on the default Redis is that tenant's;
  - neither Redis' append-only file holds a byte of the other tenant's data
    (its phone numbers, names, reasons: unique markers written by this test);
  - both tenants' events reached Kafka (each Redis' outboxes are relayed).

Run:  DIALGRID_BUILD_DIR=build /usr/bin/python3 tests/e2e/redis_placement_test.py -v
"""
import os
import subprocess
import time
import sys
import threading
import unittest
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from dialgrid_local import BUILD, Platform, free_port, wait_for  # noqa: E402

if not os.path.exists(os.path.join(BUILD, "python", "dialgrid", "tenancy", "v1", "tenancy_pb2.py")):
    sys.exit(f"no Python stubs under {BUILD}/python; build the dialgrid_python_protos target")

import dialgrid_client as dc  # noqa: E402
from dialgrid_client import grpc, tenancy_pb2, tenancy_pb2_grpc  # noqa: E402
from dialgrid.agentstate.v1 import agentstate_pb2, agentstate_pb2_grpc  # noqa: E402
from dialgrid.compliance.v1 import compliance_pb2, compliance_pb2_grpc  # noqa: E402
from dialgrid.contacts.v1 import contacts_pb2, contacts_pb2_grpc  # noqa: E402
from dialgrid.dialing.v1 import dialing_pb2, dialing_pb2_grpc  # noqa: E402
from dialgrid.recording.v1 import recording_pb2, recording_pb2_grpc  # noqa: E402
from dialgrid.type.v1 import dialing_mode_pb2  # noqa: E402
from demo import read_topic  # noqa: E402

# The services this test drives each tenant through, in start order.
EXERCISED = ["tenancy", "contacts", "compliance", "agent-state", "dialing", "recording"]
DEFAULT_TENANT = "acme-insurance"   # stays on the platform's Redis
PLACED_TENANT = "globex-energy"     # on a Redis of its own
# Per tenant: strings only its data carries (phone numbers, names, reasons).
MARKERS = {
    DEFAULT_TENANT: {"phone_base": "+1312555", "word": "Acmemarker"},
    PLACED_TENANT: {"phone_base": "+1415555", "word": "Globexmarker"},
}


class PlacedPlatform(Platform):
    """The local platform with PLACED_TENANT's keys on a second redis-server."""

    def start_placed_redis(self):
        port = free_port()
        data = os.path.join(self.run_dir, "redis-placed")
        os.makedirs(data, exist_ok=True)
        proc = self.spawn("redis-placed", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                           "--dir", data, "--save", "", "--appendonly", "yes",
                                           "--appendfsync", "always", "--daemonize", "no"])

        def pong():
            self.check_alive("redis-placed", proc)
            r = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
            return r.stdout.strip() == "PONG"
        wait_for(pong, 10, "the placed tenant's redis-server")
        self.placed_redis = f"127.0.0.1:{port}"
        self.placement_file = os.path.join(self.run_dir, "redis-placement")
        with open(self.placement_file, "w") as f:
            f.write(f"# tenant   its Redis\n{PLACED_TENANT} {self.placed_redis}\n")

    def up(self):
        self.start_redis()
        self.start_placed_redis()
        self.start_broker()
        self.make_secrets()
        for name in EXERCISED:
            self.start_service(name, ["--redis_placement_file=" + self.placement_file])
        return self


def keys_of(address):
    host, port = address.rsplit(":", 1)
    out = subprocess.run(["redis-cli", "-h", host, "-p", port, "--scan"], capture_output=True,
                         text=True, timeout=30).stdout
    return [k for k in out.split("\n") if k]


def aof_bytes(directory):
    data = b""
    for root, _, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data += f.read()
    return data


class RedisPlacementTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.p = PlacedPlatform()
        try:
            cls.p.up()
        except Exception:
            cls.p.stop()
            print(f"logs in {cls.p.run_dir}", file=sys.stderr)
            raise
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

    def drained(self, service):
        """No outbox of `service` on either Redis holds an event."""
        for address in (self.p.redis_address, self.p.placed_redis):
            host, port = address.rsplit(":", 1)
            for key in keys_of(address):
                if key.endswith(f":outbox:{service}"):
                    n = subprocess.run(["redis-cli", "-h", host, "-p", port, "LLEN", key],
                                       capture_output=True, text=True, timeout=10).stdout.strip()
                    if n not in ("", "0"):
                        return False
        return True

    def channel(self, service):
        return grpc.insecure_channel(self.p.endpoints[service]["grpc"])

    def exercise(self, tenant):
        """The tenant through every service, with its markers in the data."""
        m = MARKERS[tenant]
        parent = f"tenants/{tenant}"
        admin = dc.bearer(self.p.admin_secret)
        tenancy = tenancy_pb2_grpc.TenancyServiceStub(self.channel("tenancy"))
        tenancy.CreateTenant(tenancy_pb2.CreateTenantRequest(
            tenant_id=tenant, tenant=tenancy_pb2.Tenant(
                display_name=f"{m['word']} Company", time_zone="America/Chicago",
                quota=tenancy_pb2.Quota(max_agents=20, max_concurrent_lines=10, max_contacts=1000,
                                        max_requests_per_second=500,
                                        max_recording_storage_bytes=1 << 24))),
            metadata=admin, timeout=5)
        office = dc.bearer(tenancy.CreateCredential(tenancy_pb2.CreateCredentialRequest(
            parent=parent, credential=tenancy_pb2.Credential(
                display_name=f"{m['word']} back office", roles=[tenancy_pb2.ROLE_TENANT_ADMIN])),
            metadata=admin, timeout=5).secret)

        contacts = contacts_pb2_grpc.ContactsServiceStub(self.channel("contacts"))
        lst = contacts.CreateContactList(contacts_pb2.CreateContactListRequest(
            parent=parent, contact_list_id="leads",
            contact_list=contacts_pb2.ContactList(display_name=f"{m['word']} leads")),
            metadata=office, timeout=5)
        for i in range(20):
            contacts.CreateContact(contacts_pb2.CreateContactRequest(
                parent=lst.name, contact=contacts_pb2.Contact(
                    external_id=f"{m['word']}-{i}",
                    phones=[contacts_pb2.ContactPhone(
                        number=dc.phone_number_pb2.PhoneNumber(e164=f"{m['phone_base']}{i:04d}"))])),
                metadata=office, timeout=5)

        comp = compliance_pb2_grpc.ComplianceServiceStub(self.channel("compliance"))
        comp.AddDoNotCallNumbers(compliance_pb2.AddDoNotCallNumbersRequest(
            parent=parent, phone_numbers=[f"{m['phone_base']}0099"], reason=f"{m['word']} opt-out"),
            metadata=office, timeout=5)
        listed = comp.CheckDoNotCall(compliance_pb2.CheckDoNotCallRequest(
            parent=parent, phone_number=f"{m['phone_base']}0099"), metadata=office, timeout=5)
        self.assertTrue(listed.entries)
        comp.UpdateRuleSet(compliance_pb2.UpdateRuleSetRequest(rule_set=compliance_pb2.RuleSet(
            name=f"{parent}/ruleSet", max_abandon_rate=0.03), expected_version=0),
            metadata=office, timeout=5)
        decision = comp.CheckDial(compliance_pb2.CheckDialRequest(
            campaign=f"{parent}/campaigns/spring", phone_number=f"{m['phone_base']}0099",
            dialing_mode=dialing_mode_pb2.DIALING_MODE_PREVIEW),
            metadata=dc.bearer(self.p.service_secret), timeout=5)
        self.assertFalse(decision.allowed)  # on the tenant's own list

        agents = agentstate_pb2_grpc.AgentStateServiceStub(self.channel("agent-state"))
        desk = dc.bearer(tenancy.CreateCredential(tenancy_pb2.CreateCredentialRequest(
            parent=parent, credential=tenancy_pb2.Credential(
                display_name=f"{m['word']} desktops", roles=[tenancy_pb2.ROLE_AGENT])),
            metadata=admin, timeout=5).secret)
        agent = agents.CreateAgent(agentstate_pb2.CreateAgentRequest(
            parent=parent, agent_id="a1", agent=agentstate_pb2.Agent(
                display_name=f"{m['word']} Agent", campaigns=[f"{parent}/campaigns/spring"])),
            metadata=office, timeout=5)
        # A supervisor's live watch sees the agent go ready (the change feed
        # of the tenant's own Redis).
        seen = threading.Event()
        watch = agents.WatchAgents(agentstate_pb2.WatchAgentsRequest(parent=parent),
                                   metadata=office, timeout=30)

        def follow():
            try:
                for msg in watch:
                    for st in msg.statuses:
                        if st.agent == agent.name and st.state == agentstate_pb2.STATE_READY:
                            seen.set()
                            return
            except grpc.RpcError:
                pass
        t = threading.Thread(target=follow, daemon=True)
        t.start()
        agents.Login(agentstate_pb2.LoginRequest(name=agent.name, station="desk-1"), metadata=desk,
                     timeout=5)
        agents.SetReady(agentstate_pb2.SetReadyRequest(name=agent.name), metadata=desk, timeout=5)
        self.assertTrue(seen.wait(15), f"{tenant}'s watch never saw its agent ready")
        watch.cancel()

        dialing = dialing_pb2_grpc.DialingServiceStub(self.channel("dialing"))
        dialing.CreateCampaign(dialing_pb2.CreateCampaignRequest(
            parent=parent, campaign_id="spring", campaign=dialing_pb2.Campaign(
                display_name=f"{m['word']} spring", contact_lists=[lst.name],
                mode=dialing_pb2.CAMPAIGN_MODE_PREVIEW, max_lines=2, caller_ids=["+13125550100"],
                dispositions=[dialing_pb2.Disposition(
                    code="sale", outcome=dialing_pb2.DISPOSITION_OUTCOME_SUCCESS)])),
            metadata=office, timeout=5)
        dialing.StartCampaign(dialing_pb2.StartCampaignRequest(name=f"{parent}/campaigns/spring"),
                              metadata=office, timeout=5)

        rec = recording_pb2_grpc.RecordingServiceStub(self.channel("recording"))
        started = rec.StartRecording(recording_pb2.StartRecordingRequest(
            parent=parent, recording=recording_pb2.Recording(
                call_id=f"{m['word'].lower()}1", audio_format=recording_pb2.AUDIO_FORMAT_PCM_S16LE_8K)),
            metadata=office, timeout=5)
        self.assertTrue(started.name)

    def test_two_tenants_on_two_redis_servers_share_nothing(self):
        for tenant in (DEFAULT_TENANT, PLACED_TENANT):
            self.exercise(tenant)
        # The audit log follows the changes through Kafka: wait for the
        # placed tenant's to appear (on its own Redis, checked below).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                ":audit" in k for k in keys_of(self.p.placed_redis)):
            time.sleep(0.25)
        placed_keys = keys_of(self.p.placed_redis)
        default_keys = keys_of(self.p.redis_address)
        tag = "{t:%s}" % PLACED_TENANT
        self.assertTrue(placed_keys, "nothing was written on the placed tenant's Redis")
        self.assertEqual([k for k in placed_keys if not k.startswith(tag)], [])
        self.assertEqual([k for k in default_keys if k.startswith(tag)], [])
        self.assertTrue(any(k.startswith("{t:%s}" % DEFAULT_TENANT) for k in default_keys))
        # Each service that keeps tenant data kept the placed tenant's there.
        for what in (":tenant", ":credential:", ":lists", ":dnc", ":agent:", ":campaign:", ":rec:",
                     ":audit"):
            self.assertTrue(any(k.startswith(tag) and what in k for k in placed_keys),
                            f"no {what} key on the placed Redis: {sorted(placed_keys)[:40]}")
        # Not a byte of one tenant's data in the other's append-only file.
        default_aof = aof_bytes(os.path.join(self.p.run_dir, "redis"))
        placed_aof = aof_bytes(os.path.join(self.p.run_dir, "redis-placed"))
        for tenant, aof, other in ((PLACED_TENANT, default_aof, "default"),
                                   (DEFAULT_TENANT, placed_aof, "placed")):
            m = MARKERS[tenant]
            for marker in (m["word"], m["phone_base"][1:] + "0099", m["phone_base"] + "0007"):
                self.assertNotIn(marker.encode(), aof, f"{tenant}'s {marker!r} on the {other} Redis")
        self.assertIn(MARKERS[PLACED_TENANT]["word"].encode(), placed_aof)
        self.assertIn(MARKERS[DEFAULT_TENANT]["word"].encode(), default_aof)
        # Both tenants' events reached Kafka (the relay drains both Redis).
        for topic, service in (("contacts", "contacts"), ("tenancy", "tenancy"),
                               ("compliance", "compliance")):
            wait_for(lambda: self.drained(service), 20, f"{service}'s outboxes on both Redis")
            events = read_topic(self.p.kafka, topic)
            tenants = {e.tenant for e in events}
            self.assertIn(PLACED_TENANT, tenants, f"no {topic} event of the placed tenant")
            self.assertIn(DEFAULT_TENANT, tenants, f"no {topic} event of the default tenant")


if __name__ == "__main__":
    unittest.main()
