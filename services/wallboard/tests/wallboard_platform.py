"""The wallboard's test bench: the local platform (tools/pylib/dialgrid_local.py)
with the services a board reads (tenancy, agent-state, dialing, and the
contacts and compliance services dialing needs), the dialgrid-wallboard
binary, and two tenants with agents and a campaign each, set up through the
public gRPC API with Debian's python3-grpcio. Shared by
services/wallboard/tests/wallboard_http_test.py and
tests/e2e/wallboard_browser_test.py.
"""
import json
import os
import sys
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))

from dialgrid_local import BUILD, Platform, read_kv_file, wait_for  # noqa: E402

if not os.path.exists(os.path.join(BUILD, "python", "dialgrid", "tenancy", "v1", "tenancy_pb2.py")):
    sys.exit(f"no Python stubs under {BUILD}/python; build them with "
             f"`cmake --build {BUILD} --target dialgrid_python_protos` "
             f"(DIALGRID_BUILD_DIR selects the build directory)")

import dialgrid_client as dc  # noqa: E402
from dialgrid_client import (agentstate_pb2, agentstate_pb2_grpc, compliance_pb2,  # noqa: E402
                             compliance_pb2_grpc, contacts_pb2, contacts_pb2_grpc, dialing_pb2,
                             dialing_pb2_grpc, grpc, tenancy_pb2, tenancy_pb2_grpc)
from google.protobuf import duration_pb2  # noqa: E402

WALLBOARD_BIN = os.path.join(BUILD, "services", "wallboard", "dialgrid-wallboard")
# The services a board needs, in start order (dialing calls the other three).
SERVICES = ["tenancy", "contacts", "compliance", "agent-state", "dialing", "reporting"]
TIMEOUT = 5  # seconds, per RPC


def new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Bench:
    """The platform, the wallboard and the grpc stubs; stop() in reverse."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.platform = Platform(run_dir=run_dir)
        self.wallboard = None
        self.http = None
        self.admin_http = None
        self.channels = []

    # ------------------------------------------------------------ processes

    def up(self):
        p = self.platform
        p.start_redis()
        p.start_broker()
        p.make_secrets()
        for name in SERVICES:
            p.start_service(name)
        self.admin = dc.bearer(p.admin_secret)
        self.tenancy = tenancy_pb2_grpc.TenancyServiceStub(self.channel("tenancy"))
        self.agents = agentstate_pb2_grpc.AgentStateServiceStub(self.channel("agent-state"))
        self.dialing = dialing_pb2_grpc.DialingServiceStub(self.channel("dialing"))
        self.contacts = contacts_pb2_grpc.ContactsServiceStub(self.channel("contacts"))
        self.compliance = compliance_pb2_grpc.ComplianceServiceStub(self.channel("compliance"))
        self.start_wallboard()
        return self

    def channel(self, service):
        ch = grpc.insecure_channel(self.platform.endpoints[service]["grpc"])
        grpc.channel_ready_future(ch).result(timeout=10)
        self.channels.append(ch)
        return ch

    def wallboard_args(self, port_file):
        p = self.platform
        return [WALLBOARD_BIN, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                "--port_file=" + port_file,
                "--tenancy_address=" + p.endpoints["tenancy"]["grpc"],
                "--agent_state_address=" + p.endpoints["agent-state"]["grpc"],
                "--dialing_address=" + p.endpoints["dialing"]["grpc"],
                "--reporting_address=" + p.endpoints["reporting"]["grpc"]]

    def start_wallboard(self, extra_args=(), name="wallboard"):
        """dialgrid-wallboard on free loopback ports, as an operator starts it
        (the flags the launcher would pass); its endpoints {"http", "admin"}.
        The first one started is the bench's (self.http, self.admin_http)."""
        p = self.platform
        port_file = os.path.join(self.run_dir, f"{name}.ports")
        if os.path.exists(port_file):
            os.remove(port_file)
        proc = p.spawn(name, self.wallboard_args(port_file) + list(extra_args))

        def ports():
            p.check_alive(name, proc)
            return read_kv_file(port_file)
        ep = wait_for(ports, 20, f"the wallboard ({name})")
        if self.wallboard is None:
            self.wallboard = proc
            self.http = "http://" + ep["http"]
            self.admin_http = "http://" + ep["admin"]
        p.endpoints[name] = ep
        return ep

    def stop(self):
        for ch in self.channels:
            ch.close()
        self.channels = []
        self.platform.stop()

    # ---------------------------------------------------------------- HTTP

    def get(self, path, credential=None, headers=None, base=None, timeout=10):
        """(status, headers, body text) of GET path; credential -> Bearer."""
        h = dict(headers or {})
        if credential is not None:
            h["Authorization"] = f"Bearer {credential}"
        req = urllib.request.Request((base or self.http) + path, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode(errors="replace")

    def board(self, tenant, credential, **kw):
        """(status, parsed JSON, raw text) of a tenant's board."""
        status, _, text = self.get(f"/api/v1/tenants/{tenant}/board", credential, **kw)
        return status, json.loads(text), text

    # --------------------------------------------------------------- tenants

    def create_tenant(self, prefix, display_name, time_zone):
        tenant_id = new_id(prefix)
        self.tenancy.CreateTenant(tenancy_pb2.CreateTenantRequest(
            tenant_id=tenant_id,
            tenant=tenancy_pb2.Tenant(display_name=display_name, time_zone=time_zone,
                                      quota=tenancy_pb2.Quota(max_agents=20, max_concurrent_lines=10,
                                                              max_contacts=1000))),
            metadata=self.admin, timeout=TIMEOUT)
        return tenant_id

    def credential(self, tenant_id, role, name="wallboard test"):
        return self.tenancy.CreateCredential(tenancy_pb2.CreateCredentialRequest(
            parent=f"tenants/{tenant_id}",
            credential=tenancy_pb2.Credential(display_name=name, roles=[role])),
            metadata=self.admin, timeout=TIMEOUT)

    def seed_tenant(self, prefix, display_name, time_zone, agents, campaign=None, start=False,
                    contacts=0, off_campaign=()):
        """A tenant with a tenant-admin, a supervisor and an agent-desktop
        credential, `agents` [(id, display name, team, state, reason)] logged
        in (state "ready", "not_ready" with reason, or "logged_out"), and
        optionally a predictive campaign (id, display name) over a list of
        `contacts` London numbers, started if `start`. Agents take the
        campaign's calls unless their id is in `off_campaign`."""
        t = {"id": self.create_tenant(prefix, display_name, time_zone)}
        t["display_name"] = display_name
        t["office"] = self.credential(t["id"], tenancy_pb2.ROLE_TENANT_ADMIN, "back office").secret
        t["supervisor"] = self.credential(t["id"], tenancy_pb2.ROLE_SUPERVISOR, "wallboard").secret
        t["desk"] = self.credential(t["id"], tenancy_pb2.ROLE_AGENT, "agent desktops").secret
        parent = f"tenants/{t['id']}"
        office = dc.bearer(t["office"])
        t["campaign"] = None
        if campaign:
            cid, cname = campaign
            lst = f"{parent}/contactLists/{cid}"
            self.contacts.CreateContactList(contacts_pb2.CreateContactListRequest(
                parent=parent, contact_list_id=cid,
                contact_list=contacts_pb2.ContactList(display_name=cname)), metadata=office, timeout=TIMEOUT)
            c = self.dialing.CreateCampaign(dialing_pb2.CreateCampaignRequest(
                parent=parent, campaign_id=cid, campaign=dialing_pb2.Campaign(
                    display_name=cname, contact_lists=[lst], mode=dialing_pb2.CAMPAIGN_MODE_PREDICTIVE,
                    max_lines=6, caller_ids=["+442079460998"], time_zone="Europe/London",
                    ring_timeout=duration_pb2.Duration(seconds=15))),
                metadata=office, timeout=TIMEOUT)
            t["campaign"] = c.name
            for i in range(contacts):  # Ofcom's drama range, 020 7946 0000-0999
                self.contacts.CreateContact(contacts_pb2.CreateContactRequest(
                    parent=lst, contact=contacts_pb2.Contact(
                        external_id=f"c-{i:03d}", first_name="Caller", last_name=f"{i:03d}",
                        time_zone="Europe/London", country="GB",
                        phones=[contacts_pb2.ContactPhone(number=dc.phone_number_pb2.PhoneNumber(
                            e164=f"+442079460{i:03d}"))])),
                    metadata=office, timeout=TIMEOUT)
            if contacts:
                # Compliance is fail-closed: no rule set, no dial. The UK has
                # no statutory calling hours, so this dials at any hour.
                self.compliance.UpdateRuleSet(compliance_pb2.UpdateRuleSetRequest(
                    rule_set=compliance_pb2.RuleSet(
                        name=f"{parent}/ruleSet", max_abandon_rate=0.03,
                        abandon_quiet_period=duration_pb2.Duration(seconds=72 * 3600),
                        number_caps=[compliance_pb2.AttemptCap(
                            id="3-PER-24H", max_attempts=3, window=duration_pb2.Duration(seconds=86400))]),
                    expected_version=0), metadata=office, timeout=TIMEOUT)
            if start:
                self.dialing.StartCampaign(dialing_pb2.StartCampaignRequest(name=c.name),
                                           metadata=office, timeout=TIMEOUT)
        t["agents"] = {}
        for aid, display, team, state, reason in agents:
            a = self.agents.CreateAgent(agentstate_pb2.CreateAgentRequest(
                parent=parent, agent_id=aid, agent=agentstate_pb2.Agent(
                    display_name=display, team=team,
                    campaigns=[t["campaign"]] if t["campaign"] and aid not in off_campaign else [])),
                metadata=office, timeout=TIMEOUT)
            t["agents"][aid] = a.name
            self.set_state(t, aid, state, reason)
        return t

    def set_state(self, t, aid, state, reason=""):
        """Drives agent `aid` of tenant `t` to `state` as its desktop would."""
        name = t["agents"][aid]
        desk = dc.bearer(t["desk"])
        current = self.agents.GetAgent(agentstate_pb2.GetAgentRequest(name=name),
                                       metadata=dc.bearer(t["office"]), timeout=TIMEOUT).status.state
        if state == "logged_out":
            if current != agentstate_pb2.STATE_LOGGED_OUT:
                self.agents.Logout(agentstate_pb2.LogoutRequest(name=name), metadata=desk, timeout=TIMEOUT)
            return
        if current == agentstate_pb2.STATE_LOGGED_OUT:
            self.agents.Login(agentstate_pb2.LoginRequest(name=name, station=f"ext-{aid}"),
                              metadata=desk, timeout=TIMEOUT)
        if state == "ready":
            self.agents.SetReady(agentstate_pb2.SetReadyRequest(name=name), metadata=desk, timeout=TIMEOUT)
        elif state == "not_ready":
            self.agents.SetNotReady(agentstate_pb2.SetNotReadyRequest(name=name, reason_code=reason),
                                    metadata=desk, timeout=TIMEOUT)
        else:
            raise ValueError(state)
