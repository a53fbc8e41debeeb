"""The one-command platform, live: a demo tenant's predictive campaign runs on
the simulated carrier with simulated agent desktops, and what happens is shown
every few seconds until Ctrl-C. Everything it creates is kept in the run
directory's Redis, so the next start resumes the same campaign where it was.

Used by tools/demo.py (the default of tools/run.sh); tests/e2e/live_platform_test.py
drives it as a user would.
"""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib"))

import dialgrid_client as dc  # noqa: E402
from dialgrid_client import grpc, tenancy_pb2, tenancy_pb2_grpc  # noqa: E402
from dialgrid_client import contacts_pb2, contacts_pb2_grpc  # noqa: E402
from dialgrid_client import agentstate_pb2, agentstate_pb2_grpc  # noqa: E402
from dialgrid_client import dialing_pb2, dialing_pb2_grpc  # noqa: E402
from dialgrid_client import compliance_pb2, compliance_pb2_grpc, date_pb2  # noqa: E402
from google.protobuf import duration_pb2  # noqa: E402

TENANT = "tenants/acme-insurance"
CAMPAIGN = f"{TENANT}/campaigns/live-predictive"
LIST = f"{TENANT}/contactLists/live-leads"
CONTACTS = 2000
AGENTS = 10
# What the simulated agents answer, in turn (a sale about one call in four).
CODES = ["no-thanks", "sale", "no-thanks", "callback-later", "sale", "no-thanks", "no-thanks",
         "stop-calling"]
CONNECTED_CODES = {"sale", "no-thanks", "callback-later", "stop-calling"}
Code = grpc.StatusCode


def _exists_ok(fn, request, metadata):
    """Creates, or leaves what an earlier start created."""
    try:
        return fn(request, metadata=metadata, timeout=10)
    except grpc.RpcError as e:
        if e.code() != Code.ALREADY_EXISTS:
            raise
        return None


class LivePlatform:
    def __init__(self, p, out=sys.stdout):
        self.p = p
        self.out = out
        ch = lambda s: grpc.insecure_channel(p.endpoints[s]["grpc"])  # noqa: E731
        self.tenancy = tenancy_pb2_grpc.TenancyServiceStub(ch("tenancy"))
        self.contacts = contacts_pb2_grpc.ContactsServiceStub(ch("contacts"))
        self.comp = compliance_pb2_grpc.ComplianceServiceStub(ch("compliance"))
        self.agents = agentstate_pb2_grpc.AgentStateServiceStub(ch("agent-state"))
        self.dialing = dialing_pb2_grpc.DialingServiceStub(ch("dialing"))
        self.stop = threading.Event()
        self.names = [f"{TENANT}/agents/live-{i + 1}" for i in range(AGENTS)]
        self.disposed = 0

    def say(self, text):
        print(text, file=self.out, flush=True)

    # --- set-up: each step creates what is missing, so a restart resumes ----

    def credentials(self):
        """The demo tenant's back-office and agent-desktop secrets, made once
        and kept in the run directory (mode 0600)."""
        path = os.path.join(self.p.run_dir, "live-credentials.json")
        if os.path.exists(path):
            with open(path) as f:
                saved = json.load(f)
            try:  # still valid (the same Redis)?
                self.tenancy.GetTenant(tenancy_pb2.GetTenantRequest(name=TENANT),
                                       metadata=dc.bearer(saved["office"]), timeout=5)
                return saved, True
            except grpc.RpcError:
                pass
        admin = dc.bearer(self.p.admin_secret)
        _exists_ok(self.tenancy.CreateTenant, tenancy_pb2.CreateTenantRequest(
            tenant_id=TENANT.split("/")[1], tenant=tenancy_pb2.Tenant(
                display_name="ACME Insurance", time_zone="Europe/London",
                quota=tenancy_pb2.Quota(max_agents=50, max_concurrent_lines=150, max_contacts=2_000_000,
                                        max_requests_per_second=2000,
                                        max_recording_storage_bytes=1 << 30))), admin)
        saved = {}
        for key, role, display in (("office", tenancy_pb2.ROLE_TENANT_ADMIN, "live back office"),
                                   ("desk", tenancy_pb2.ROLE_AGENT, "live agent desktops")):
            saved[key] = self.tenancy.CreateCredential(tenancy_pb2.CreateCredentialRequest(
                parent=TENANT, credential=tenancy_pb2.Credential(display_name=display, roles=[role])),
                metadata=admin, timeout=5).secret
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(saved, f)
        return saved, False

    def wallboard_url(self):
        """Writes the wallboard's address for the demo tenant, with the back
        office's credential in its fragment (the page moves it to the tab's
        session storage), to a file only its owner reads; its path, so the
        secret never reaches the terminal. None without a wallboard."""
        http = self.p.endpoints.get("wallboard", {}).get("http")
        if not http:
            return None
        path = os.path.join(self.p.run_dir, "wallboard.url")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"http://{http}/#tenant={TENANT.split('/')[1]}&key={self.office_secret}\n")
        return path

    def set_up(self):
        saved, resumed = self.credentials()
        self.office_secret = saved["office"]
        self.office = dc.bearer(saved["office"])
        self.desk = dc.bearer(saved["desk"])
        office = self.office
        try:
            version = self.comp.GetRuleSet(compliance_pb2.GetRuleSetRequest(name=f"{TENANT}/ruleSet"),
                                           metadata=office, timeout=5).version
        except grpc.RpcError:
            version = 0
        if version == 0:
            self.comp.UpdateRuleSet(compliance_pb2.UpdateRuleSetRequest(
                rule_set=compliance_pb2.RuleSet(name=f"{TENANT}/ruleSet", max_abandon_rate=0.03),
                expected_version=0), metadata=office, timeout=5)
        created = _exists_ok(self.contacts.CreateContactList, contacts_pb2.CreateContactListRequest(
            parent=TENANT, contact_list_id=LIST.rsplit("/", 1)[1],
            contact_list=contacts_pb2.ContactList(display_name="Live leads (London)")), office)
        have = self.contacts.GetContactList(contacts_pb2.GetContactListRequest(name=LIST),
                                            metadata=office, timeout=5).contact_count
        if have < CONTACTS:
            self.say(f"  importing {CONTACTS - have} London contacts (Ofcom's drama range) ...")
            for i in range(have, CONTACTS):
                _exists_ok(self.contacts.CreateContact, contacts_pb2.CreateContactRequest(
                    parent=LIST, request_id=f"live-contact-{i}", contact=contacts_pb2.Contact(
                        external_id=f"live-{i:04d}", first_name="Caller", last_name=f"{i:04d}",
                        time_zone="Europe/London", country="GB",
                        phones=[contacts_pb2.ContactPhone(number=dc.phone_number_pb2.PhoneNumber(
                            e164=f"+44113496{i:04d}"))])), office)
        for i, name in enumerate(self.names):
            _exists_ok(self.agents.CreateAgent, agentstate_pb2.CreateAgentRequest(
                parent=TENANT, agent_id=name.rsplit("/", 1)[1], agent=agentstate_pb2.Agent(
                    display_name=f"Live agent {i + 1}", campaigns=[CAMPAIGN])), office)
        _exists_ok(self.dialing.CreateCampaign, dialing_pb2.CreateCampaignRequest(
            parent=TENANT, campaign_id=CAMPAIGN.rsplit("/", 1)[1], campaign=dialing_pb2.Campaign(
                display_name="Live predictive", contact_lists=[LIST],
                mode=dialing_pb2.CAMPAIGN_MODE_PREDICTIVE, max_lines=25,
                caller_ids=["+441134960999"], time_zone="Europe/London",
                ring_timeout=duration_pb2.Duration(seconds=15),
                dispositions=[
                    dialing_pb2.Disposition(code="sale", outcome=dialing_pb2.DISPOSITION_OUTCOME_SUCCESS,
                                            sale=True),
                    dialing_pb2.Disposition(code="no-thanks",
                                            outcome=dialing_pb2.DISPOSITION_OUTCOME_NOT_INTERESTED),
                    dialing_pb2.Disposition(code="callback-later",
                                            outcome=dialing_pb2.DISPOSITION_OUTCOME_NOT_INTERESTED),
                    dialing_pb2.Disposition(code="stop-calling",
                                            outcome=dialing_pb2.DISPOSITION_OUTCOME_DO_NOT_CALL)])),
            office)
        c = self.dialing.GetCampaign(dialing_pb2.GetCampaignRequest(name=CAMPAIGN), metadata=office,
                                     timeout=5)
        if c.state == dialing_pb2.CAMPAIGN_STATE_DRAFT:
            c = self.dialing.StartCampaign(dialing_pb2.StartCampaignRequest(name=CAMPAIGN),
                                           metadata=office, timeout=5)
        elif c.state == dialing_pb2.CAMPAIGN_STATE_PAUSED:
            c = self.dialing.ResumeCampaign(dialing_pb2.ResumeCampaignRequest(name=CAMPAIGN),
                                            metadata=office, timeout=5)
        return resumed, c

    # --- the agents' desktops -------------------------------------------------

    def desktops(self):
        """Each agent logs in and is ready; in wrap-up it gives the call's
        disposition and is ready again; a heartbeat keeps its session."""
        beat = 0.0
        while not self.stop.is_set():
            try:
                listed = self.agents.ListAgents(agentstate_pb2.ListAgentsRequest(
                    parent=TENANT, page_size=100), metadata=self.office, timeout=5).agents
                heartbeat = time.monotonic() - beat > 5
                for a in listed:
                    if a.name not in self.names:
                        continue
                    st = a.status.state
                    if st == agentstate_pb2.STATE_LOGGED_OUT:
                        self.agents.Login(agentstate_pb2.LoginRequest(
                            name=a.name, station=f"live-{a.name.rsplit('-', 1)[1]}"),
                            metadata=self.desk, timeout=5)
                        self.agents.SetReady(agentstate_pb2.SetReadyRequest(name=a.name),
                                             metadata=self.desk, timeout=5)
                        continue
                    if heartbeat:
                        self.agents.Heartbeat(agentstate_pb2.HeartbeatRequest(
                            name=a.name, station=a.status.station), metadata=self.desk, timeout=5)
                    if st == agentstate_pb2.STATE_NOT_READY:
                        self.agents.SetReady(agentstate_pb2.SetReadyRequest(name=a.name),
                                             metadata=self.desk, timeout=5)
                    if st != agentstate_pb2.STATE_WRAP_UP:
                        continue
                    code = CODES[self.disposed % len(CODES)]
                    try:
                        self.dialing.SetDisposition(dialing_pb2.SetDispositionRequest(
                            name=a.status.call_id, code=code), metadata=self.desk, timeout=5)
                        self.disposed += 1
                    except grpc.RpcError:
                        pass  # not awaiting one (an abandoned call's wrap-up)
                    self.agents.SetReady(agentstate_pb2.SetReadyRequest(name=a.name),
                                         metadata=self.desk, timeout=5)
                if heartbeat:
                    beat = time.monotonic()
            except grpc.RpcError:
                pass  # a service restarting: try again
            self.stop.wait(0.1)

    # --- the live view ------------------------------------------------------------

    def snapshot(self):
        """The figures the view shows, from the platform's own APIs."""
        office = self.office
        progress = next(iter(self.dialing.WatchCampaign(
            dialing_pb2.WatchCampaignRequest(name=CAMPAIGN), metadata=office, timeout=10)))
        by_state = {}
        for a in self.agents.ListAgents(agentstate_pb2.ListAgentsRequest(parent=TENANT, page_size=100),
                                        metadata=office, timeout=5).agents:
            if a.name in self.names:
                s = agentstate_pb2.State.Name(a.status.state).replace("STATE_", "").lower()
                by_state[s] = by_state.get(s, 0) + 1
        today = time.gmtime()
        kpis = self.agents.GetTeamKpis(agentstate_pb2.GetTeamKpisRequest(
            parent=TENANT, day=date_pb2.Date(year=today.tm_year, month=today.tm_mon, day=today.tm_mday)),
            metadata=office, timeout=5).total
        reached = sales = 0
        token = ""
        while True:
            page = self.contacts.ListContacts(contacts_pb2.ListContactsRequest(
                parent=LIST, page_size=1000, page_token=token), metadata=office, timeout=10)
            for ct in page.contacts:
                reached += ct.last_outcome in CONNECTED_CODES
                sales += ct.last_outcome == "sale"
            token = page.next_page_token
            if not token:
                break
        return {"progress": progress, "agents": by_state, "occupancy": kpis.occupancy,
                "reached": reached, "sales": sales}

    def show(self, s):
        pr = s["progress"]
        agents = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(s["agents"].items()))
        ratio = (pr.calls_in_progress / pr.agents_ready) if pr.agents_ready else 0.0
        self.say(f"{time.strftime('%H:%M:%S')}  {'dialing' if pr.dialing else 'not dialing'}: "
                 f"{pr.calls_in_progress} calls in flight (max {pr.max_lines}), "
                 f"{pr.lines_last_tick} lines last decision; agents {agents or 'none'}")
        self.say(f"          dials {pr.dials}, answered {pr.answered}, connected {pr.connected}, "
                 f"abandoned {pr.abandoned}; answer rate {pr.answer_rate:.0%}, "
                 f"lines per ready agent {ratio:.1f}")
        ledger = (f"abandon rate today {pr.abandon_rate_24h:.1%} ({pr.abandoned_24h}/{pr.live_answers_24h}), "
                  f"30 days {pr.abandon_rate_30d:.1%} (cap {pr.max_abandon_rate:.0%})"
                  if pr.ledger_known else "abandon ledger: compliance not answering")
        self.say(f"          {ledger}; talk occupancy {s['occupancy']:.0%}; "
                 f"contacts reached {s['reached']}/{CONTACTS}; sales {s['sales']}")

    def run(self, period=3.0, until=None):
        """Set up (or resume), then show the campaign every `period` seconds
        until `until` (a threading.Event) is set or Ctrl-C."""
        self.say("\n== Live: a predictive campaign on the simulated carrier (Ctrl-C stops everything)")
        resumed, c = self.set_up()
        self.say(f"  {'resumed' if resumed else 'created'}: {CAMPAIGN} "
                 f"({dialing_pb2.CampaignState.Name(c.state)}), {AGENTS} simulated agents, "
                 f"{CONTACTS} contacts; every dial checked by compliance just before it")
        self.say(f"  logs: {self.p.run_dir}/<service>.log; data kept there for the next start")
        board = self.wallboard_url()
        if board:
            self.say(f"  wallboard (agents, the campaign and today's KPIs, live): open the address in {board}")
        worker = threading.Thread(target=self.desktops, daemon=True)
        worker.start()
        try:
            while until is None or not until.is_set():
                try:
                    self.show(self.snapshot())
                except (grpc.RpcError, StopIteration) as e:
                    self.say(f"{time.strftime('%H:%M:%S')}  (waiting for the platform: "
                             f"{getattr(e, 'code', lambda: e)()})")
                if until is not None:
                    if until.wait(period):
                        break
                else:
                    time.sleep(period)
        finally:
            self.stop.set()
            worker.join(timeout=10)
