#!/usr/bin/python3
"""Starts the local platform and shows it doing its job, as a client company's
systems and the vendor's operators would see it. Run through tools/run.sh.

By default a live predictive campaign (tools/live.py) until Ctrl-C, resumed
by the next start from the same run directory; --exit runs the scripted tour
of every service and stops (what CI runs), --tour runs it and keeps going.
"""
import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zoneinfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib"))

from dialgrid_local import Platform  # noqa: E402
import dialgrid_client as dc  # noqa: E402
from dialgrid_client import grpc, tenancy_pb2, tenancy_pb2_grpc, health_pb2, health_pb2_grpc  # noqa: E402
from dialgrid_client import contacts_pb2, contacts_pb2_grpc  # noqa: E402
from dialgrid_client import agentstate_pb2, agentstate_pb2_grpc  # noqa: E402
from dialgrid_client import dialing_pb2, dialing_pb2_grpc  # noqa: E402
from dialgrid_client import recording_pb2, recording_pb2_grpc  # noqa: E402
from dialgrid_client import compliance_pb2, compliance_pb2_grpc, call_events_pb2, date_pb2, dialing_mode_pb2, time_zone_source_pb2  # noqa: E402
from dialgrid.event.v1 import envelope_pb2  # noqa: E402
from google.protobuf import any_pb2, duration_pb2, timestamp_pb2  # noqa: E402
import datetime  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402


def step(text):
    print(f"\n== {text}", flush=True)


def show(label, value):
    print(f"   {label:<34} {value}", flush=True)


# The file ACME's back office exports from its CRM: 8 data rows. Row 5 has a
# phone number that cannot exist, row 7 repeats row 2's CRM id (with the
# mobile number added), row 2's phone is national format (the import's
# default country is US), and the rows show each way a time zone is found:
# ZIP code, state, explicit zone, phone number.
ACME_CSV = """\
crm_id,first_name,last_name,phone,mobile,zip,state,time_zone,priority,segment
A-1001,Maria,Lopez,+1 312 555 0101,,60601,,,5,renewal
A-1002,James,Carter,(212) 555-0102,,,,,9,upsell
A-1003,Wei,Chen,+1 512 555 0103,,,TX,,5,renewal
A-1004,Olivia,Brown,+1 602 555 0104,,,,America/Phoenix,5,renewal
A-1005,Tom,Reed,555-12,,,,,5,renewal
A-1006,Emma,Wilson,+44 20 7946 0958,,,,,5,winback
A-1002,James,Carter,(212) 555-0102,(917) 555-0134,,,,9,upsell
A-1007,Sam,"O'Neil, Jr.",+1 415 555 0107,,94105,,,7,renewal
"""


def short_enum(enum_type, value, prefix):
    return enum_type.Name(value)[len(prefix):]


def zone_text(c):
    if c.time_zone:
        return c.time_zone
    if c.candidate_time_zones:
        return "ambiguous: " + " | ".join(c.candidate_time_zones)
    return "(unknown)"


def counts_text(cl):
    counts = ", ".join(f"{k} {v}" for k, v in sorted(cl.counts_by_status.items()))
    return f"{cl.contact_count} contacts ({counts or 'none'})"


def read_topic(kafka, topic):
    """Every record of `topic` as decoded Envelopes, oldest first. kcat prints
    each value's length before it, so binary values are read exactly."""
    out = subprocess.run(["kcat", "-C", "-b", kafka, "-t", topic, "-o", "beginning", "-e", "-q",
                          "-f", "%S\\n%s\\n"], capture_output=True, timeout=30).stdout
    events, pos = [], 0
    while pos < len(out):
        nl = out.index(b"\n", pos)
        length = int(out[pos:nl])
        env = envelope_pb2.Envelope()
        env.ParseFromString(out[nl + 1:nl + 1 + max(length, 0)])
        events.append(env)
        pos = nl + 1 + max(length, 0) + 1
    return sorted(events, key=lambda e: (e.time.seconds, e.time.nanos))


def outbox_drained(p, service):
    """True once no tenant's outbox of `service` holds an event: every change
    is then on Kafka (the relay pops only what Kafka acknowledged). Services
    store each change with its event and a relay publishes it a moment later,
    so a reader that must see every event waits for this first."""
    host, port = p.redis_address.rsplit(":", 1)
    cli = ["redis-cli", "-h", host, "-p", port]
    keys = subprocess.run(cli + ["--scan", "--pattern", f"*:outbox:{service}"],
                          capture_output=True, text=True, timeout=10).stdout.split()
    for key in keys:
        n = subprocess.run(cli + ["LLEN", key], capture_output=True, text=True, timeout=10).stdout
        if n.strip() not in ("", "0"):
            return False
    return True


def read_topic_when_drained(p, topic, service):
    eventually(lambda: outbox_drained(p, service), 15)
    return read_topic(p.kafka, topic)


def run_demo(p):
    tenancy = p.endpoints["tenancy"]
    channel = grpc.insecure_channel(tenancy["grpc"])
    stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
    contacts_channel = grpc.insecure_channel(p.endpoints["contacts"]["grpc"])
    contacts = contacts_pb2_grpc.ContactsServiceStub(contacts_channel)
    admin = dc.bearer(p.admin_secret)

    step("Platform processes")
    show("redis-server", p.redis_address)
    show("Kafka-protocol broker", p.kafka)
    for name, ep in p.endpoints.items():
        if "grpc" in ep:
            show(f"{name} gRPC / admin HTTP", f"{ep['grpc']} / {ep['admin']}")
        else:  # the wallboard: a web page
            show(f"{name} page / admin HTTP", f"http://{ep['http']}/ / {ep['admin']}")
    show("logs and secrets in", p.run_dir)

    step("Health and reflection (what Kubernetes probes and grpcurl see)")
    compliance_channel = grpc.insecure_channel(p.endpoints["compliance"]["grpc"])
    for name, ch, full in (("tenancy", channel, "dialgrid.tenancy.v1.TenancyService"),
                           ("contacts", contacts_channel, "dialgrid.contacts.v1.ContactsService"),
                           ("compliance", compliance_channel, "dialgrid.compliance.v1.ComplianceService")):
        health = health_pb2_grpc.HealthStub(ch)
        states = []
        for svc in ("liveness", "", full):
            status = health.Check(health_pb2.HealthCheckRequest(service=svc), timeout=5).status
            states.append(f"{svc or '(readiness)'} {health_pb2.HealthCheckResponse.ServingStatus.Name(status)}")
        show(f"{name} health", ", ".join(states))
        show(f"{name} services by reflection", ", ".join(dc.list_services_by_reflection(ch)))

    step("The vendor onboards two client companies")
    for tid, name, zone in (("acme-insurance", "ACME Insurance", "America/Chicago"),
                            ("globex-energy", "Globex Energy", "Europe/London")):
        try:
            t = stub.CreateTenant(tenancy_pb2.CreateTenantRequest(
                tenant_id=tid, tenant=tenancy_pb2.Tenant(
                    display_name=name, time_zone=zone,
                    quota=tenancy_pb2.Quota(max_agents=50, max_concurrent_lines=150,
                                            max_contacts=2_000_000, max_requests_per_second=500,
                                            max_recording_storage_bytes=1 << 30))),
                metadata=admin, timeout=5)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
            t = stub.GetTenant(tenancy_pb2.GetTenantRequest(name=f"tenants/{tid}"), metadata=admin, timeout=5)
        show(t.name, f"{t.display_name}, {t.time_zone}, {t.quota.max_agents} agents, "
                     f"{t.quota.max_contacts:,} contacts, {tenancy_pb2.Tenant.State.Name(t.state)}")

    step("Credentials (each secret is shown once, stored hashed)")
    creds = {}
    for key, parent, display in (("acme", "tenants/acme-insurance", "ACME CRM integration"),
                                 ("acme_office", "tenants/acme-insurance", "ACME back office"),
                                 ("globex", "tenants/globex-energy", "Globex admin")):
        created = stub.CreateCredential(tenancy_pb2.CreateCredentialRequest(
            parent=parent,
            credential=tenancy_pb2.Credential(display_name=display,
                                              roles=[tenancy_pb2.ROLE_TENANT_ADMIN])),
            metadata=admin, timeout=5)
        creds[key] = created
        show(display, f"{created.credential.name}  secret {created.secret[:12]}…")
    acme = dc.bearer(creds["acme"].secret)
    office = dc.bearer(creds["acme_office"].secret)
    globex = dc.bearer(creds["globex"].secret)

    step("Tenant isolation: ACME's credential against its own and Globex's resources")
    t = stub.GetTenant(tenancy_pb2.GetTenantRequest(name="tenants/acme-insurance"), metadata=acme, timeout=5)
    show("GetTenant tenants/acme-insurance", f"OK ({t.display_name})")
    for label, fn, req in (
            ("GetTenant tenants/globex-energy", stub.GetTenant,
             tenancy_pb2.GetTenantRequest(name="tenants/globex-energy")),
            ("ListCredentials tenants/globex-energy", stub.ListCredentials,
             tenancy_pb2.ListCredentialsRequest(parent="tenants/globex-energy")),
            ("GetTenant tenants/no-such-company", stub.GetTenant,
             tenancy_pb2.GetTenantRequest(name="tenants/no-such-company")),
            ("ListTenants (vendor only)", stub.ListTenants, tenancy_pb2.ListTenantsRequest())):
        code, reason = dc.call_error(fn, req, metadata=acme, timeout=5)
        show(label, f"{code.name} ({reason})")
    code, reason = dc.call_error(stub.GetTenant, tenancy_pb2.GetTenantRequest(name="tenants/acme-insurance"), timeout=5)
    show("no credential at all", f"{code.name} ({reason})")

    step("Suspension and revocation take effect at once")
    stub.SuspendTenant(tenancy_pb2.SuspendTenantRequest(name="tenants/acme-insurance", reason="demo"),
                       metadata=admin, timeout=5)
    code, reason = dc.call_error(stub.GetTenant, tenancy_pb2.GetTenantRequest(name="tenants/acme-insurance"),
                                 metadata=acme, timeout=5)
    show("ACME call while suspended", f"{code.name} ({reason})")
    stub.ResumeTenant(tenancy_pb2.ResumeTenantRequest(name="tenants/acme-insurance"), metadata=admin, timeout=5)
    stub.GetTenant(tenancy_pb2.GetTenantRequest(name="tenants/acme-insurance"), metadata=acme, timeout=5)
    show("ACME call after resume", "OK")
    stub.RevokeCredential(tenancy_pb2.RevokeCredentialRequest(name=creds["acme"].credential.name),
                          metadata=admin, timeout=5)
    code, reason = dc.call_error(stub.GetTenant, tenancy_pb2.GetTenantRequest(name="tenants/acme-insurance"),
                                 metadata=acme, timeout=5)
    show("CRM integration after revocation", f"{code.name} ({reason})")
    stub.GetTenant(tenancy_pb2.GetTenantRequest(name="tenants/acme-insurance"), metadata=office, timeout=5)
    show("ACME back office (not revoked)", "OK")

    step("Events on Kafka topic 'tenancy' (read with kcat, a client that is not ours; oldest first)")
    events = read_topic_when_drained(p, "tenancy", "tenancy")
    for env in events:
        show(env.type.rsplit(".", 1)[-1], f"{env.tenant}/{env.subject}")  # = the record key
    show("events in all", len(events))

    run_contacts(p, contacts, office, globex)
    run_compliance(p, compliance_channel, contacts, office, globex, admin)
    run_agents(p, stub, admin, office, globex)
    run_campaigns(p, office, globex)
    call = run_live_campaign(p, stub, admin, office)
    run_recording(p, stub, admin, office, globex, call)

    step("Metrics (admin HTTP /metrics, Prometheus text)")
    for service in ("tenancy", "contacts", "compliance", "agent-state", "dialing", "recording"):
        body = urllib.request.urlopen(f"http://{p.endpoints[service]['admin']}/metrics", timeout=5).read().decode()
        prefix = f"dialgrid_{service.replace('-', '')}_rpc_requests_total{{"
        show(prefix + "method,code}", "")
        by_method = {}
        for line in body.splitlines():
            if line.startswith(prefix):
                labels = dict(kv.split("=", 1) for kv in line.split("{", 1)[1].split("}")[0].split(","))
                by_method.setdefault(labels["method"].strip('"'), []).append(
                    f"{labels['code'].strip(chr(34))} {line.rsplit(' ', 1)[1]}")
        for method in sorted(by_method):
            show(f"  {method}", ", ".join(sorted(by_method[method])))


def run_contacts(p, contacts, office, globex):
    """The contacts service as ACME's back office and a dialer see it."""
    tenant = "tenants/acme-insurance"
    list_name = f"{tenant}/contactLists/spring-renewals"

    step("Contacts: ACME's back office creates a contact list")
    create = contacts_pb2.CreateContactListRequest(
        parent=tenant, contact_list_id="spring-renewals",
        contact_list=contacts_pb2.ContactList(display_name="Spring renewals",
                                              description="Policies up for renewal, from the CRM"))
    try:
        cl = contacts.CreateContactList(create, metadata=office, timeout=5)
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
        # Left over from an earlier demo on the same run directory: start afresh.
        contacts.DeleteContactList(contacts_pb2.DeleteContactListRequest(name=list_name),
                                   metadata=office, timeout=30)
        cl = contacts.CreateContactList(create, metadata=office, timeout=5)
    show(cl.name, f'"{cl.display_name}", {counts_text(cl)}')

    step("Import: the CRM export (8 rows) streamed in 3 chunks with ImportContacts")
    for line in ACME_CSV.splitlines():
        print(f"     {line}")
    data = ACME_CSV.encode()
    cuts = [0, 150, 400, len(data)]  # chunks end mid-line: records may span chunks
    chunks = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    header = contacts_pb2.ImportHeader(
        parent=list_name, import_id="crm-2026-03-02", format=contacts_pb2.IMPORT_FORMAT_CSV,
        default_country="US", duplicate_policy=contacts_pb2.DUPLICATE_POLICY_EXTERNAL_ID,
        mapping=contacts_pb2.ColumnMapping(
            external_id="crm_id", first_name="first_name", last_name="last_name",
            phones=["phone", "mobile"], postal_code="zip", region="state",
            time_zone="time_zone", priority="priority", attributes={"segment": "segment"}))

    def stream():
        yield contacts_pb2.ImportContactsRequest(header=header)
        for chunk in chunks:
            yield contacts_pb2.ImportContactsRequest(chunk=chunk)

    show("1st message: header", f"import id {header.import_id}, default country US, upsert by crm_id")
    show("then chunks (cut mid-row)", " + ".join(str(len(c)) for c in chunks) + " bytes")
    report = contacts.ImportContacts(stream(), metadata=office, timeout=30)
    show("rows read / committed", f"{report.rows_read} / {report.rows_committed}")
    show("accepted (new) / updated / rejected",
         f"{report.rows_accepted} / {report.rows_updated} / {report.rows_rejected}")
    show("duplicates merged within the file", f"{report.duplicates_merged} (the later row wins)")
    for r in report.rejections:
        show(f"rejected row {r.row}", f"{r.reason}: {r.message}")
    again = contacts.ImportContacts(stream(), metadata=office, timeout=30)
    show("same file, same import id again", f"{again.rows_skipped} rows skipped, "
                                            f"{again.rows_accepted} accepted (no duplicates)")

    step("The list's counts")
    cl = contacts.GetContactList(contacts_pb2.GetContactListRequest(name=list_name),
                                 metadata=office, timeout=5)
    show("GetContactList", counts_text(cl))

    step("The contacts: E.164 phones, time zone and where it came from")
    listed = contacts.ListContacts(contacts_pb2.ListContactsRequest(parent=list_name, page_size=50),
                                   metadata=office, timeout=10).contacts
    by_id = {c.external_id: c for c in listed}
    for c in listed:
        source = short_enum(time_zone_source_pb2.TimeZoneSource, c.time_zone_source, "TIME_ZONE_SOURCE_")
        phones = " ".join(ph.number.e164 for ph in c.phones)
        show(f"{c.external_id} {c.first_name} {c.last_name}"[:34], f"{phones}  prio {c.priority}")
        show("", f"{zone_text(c)}  (source: {source.lower().replace('_', ' ')})")

    step("A dialer leases the next 2 contacts (highest priority first) and reports outcomes")
    show("holder", "demo-dialer (ACME's credential here; later the dialing service's)")
    leases = contacts.LeaseContacts(contacts_pb2.LeaseContactsRequest(
        parent=list_name, count=2, holder="demo-dialer",
        lease_duration=duration_pb2.Duration(seconds=60)), metadata=office, timeout=5).leases
    for lc in leases:
        c = lc.contact
        show(f"leased {c.external_id} (prio {c.priority})",
             f"{c.name.rsplit('/', 1)[-1]}, lease {lc.lease_id}, "
             f"{short_enum(contacts_pb2.ContactStatus, c.status, 'CONTACT_STATUS_')} for 60 s")
    cl = contacts.GetContactList(contacts_pb2.GetContactListRequest(name=list_name), metadata=office, timeout=5)
    show("list while leased", counts_text(cl))
    retry_at = timestamp_pb2.Timestamp(seconds=int(time.time()) + 3600)
    for lc, kind, outcome in zip(leases, (contacts_pb2.OUTCOME_KIND_RETRY, contacts_pb2.OUTCOME_KIND_COMPLETED),
                                 ("NO_ANSWER", "SALE")):
        c = contacts.ReportOutcome(contacts_pb2.ReportOutcomeRequest(
            name=lc.contact.name, lease_id=lc.lease_id, kind=kind, outcome=outcome,
            next_callable_time=retry_at if kind == contacts_pb2.OUTCOME_KIND_RETRY else None),
            metadata=office, timeout=5)
        kind_name = short_enum(contacts_pb2.OutcomeKind, kind, "OUTCOME_KIND_")
        after = short_enum(contacts_pb2.ContactStatus, c.status, "CONTACT_STATUS_")
        extra = " again in 1 h" if kind == contacts_pb2.OUTCOME_KIND_RETRY else ""
        show(f"{c.external_id}: {kind_name} {outcome}", f"now {after}{extra}, attempts {c.attempts}")
    code, reason = dc.call_error(contacts.ReportOutcome, contacts_pb2.ReportOutcomeRequest(
        name=leases[0].contact.name, lease_id=leases[0].lease_id,
        kind=contacts_pb2.OUTCOME_KIND_COMPLETED, outcome="SALE"), metadata=office, timeout=5)
    show("the same lease reported twice", f"{code.name} ({reason})")
    cl = contacts.GetContactList(contacts_pb2.GetContactListRequest(name=list_name), metadata=office, timeout=5)
    show("list after the outcomes", counts_text(cl))

    step("Tenant isolation: Globex's admin credential against ACME's contacts")
    for label, fn, req in (
            ("GetContactList (ACME's list)", contacts.GetContactList,
             contacts_pb2.GetContactListRequest(name=list_name)),
            ("LeaseContacts (ACME's list)", contacts.LeaseContacts,
             contacts_pb2.LeaseContactsRequest(parent=list_name, count=1, holder="globex")),
            ("GetContactList (no such ACME list)", contacts.GetContactList,
             contacts_pb2.GetContactListRequest(name=f"{tenant}/contactLists/no-such-list")),
            ("EraseContactData (ACME)", contacts.EraseContactData,
             contacts_pb2.EraseContactDataRequest(parent=tenant, external_id="A-1001"))):
        code, reason = dc.call_error(fn, req, metadata=globex, timeout=5)
        show(label, f"{code.name} ({reason})")

    step("Erasure: James Carter asks ACME to erase his data (he gives his mobile number)")
    erased = contacts.EraseContactData(contacts_pb2.EraseContactDataRequest(
        parent=tenant, phone_number="(917) 555-0134", default_country="US"), metadata=office, timeout=10)
    for name in erased.erased_contacts:
        show("erased", name)
    show("numbers kept for do-not-call", ", ".join(erased.do_not_call_numbers))
    code, reason = dc.call_error(contacts.GetContact, contacts_pb2.GetContactRequest(
        name=by_id["A-1002"].name), metadata=office, timeout=5)
    show("GetContact on the erased contact", f"{code.name} ({reason})")
    cl = contacts.GetContactList(contacts_pb2.GetContactListRequest(name=list_name), metadata=office, timeout=5)
    show("list after the erasure", counts_text(cl))

    step("Events on Kafka topic 'contacts' (read with kcat, Envelopes decoded; oldest first)")
    events = read_topic_when_drained(p, "contacts", "contacts")
    for env in events:
        etype = env.type.rsplit(".", 1)[-1]
        detail = env.subject
        if etype == "ContactListImported":
            ev = contacts_pb2.ContactListImported()
            env.payload.Unpack(ev)
            detail += f"  ({ev.report.rows_accepted} accepted, {ev.report.rows_skipped} skipped)"
        elif etype == "ContactErased":
            ev = contacts_pb2.ContactErased()
            env.payload.Unpack(ev)
            detail += f"  do-not-call {', '.join(ev.do_not_call_numbers)}"
        elif etype == "ContactUpdated":
            ev = contacts_pb2.ContactUpdated()
            env.payload.Unpack(ev)
            detail = f"{detail.rsplit('/', 1)[-1]} {ev.contact.external_id} " \
                     f"{short_enum(contacts_pb2.ContactStatus, ev.contact.status, 'CONTACT_STATUS_')}" \
                     f" ({ev.contact.last_outcome})"
        show(etype, detail)
    show("events in all", len(events))


MODE = dialing_mode_pb2.DialingMode


def decision_text(d):
    if d.allowed:
        return "ALLOWED"
    reasons = ", ".join(f"{r.code}" + (f" {r.rule}" if r.rule and r.rule not in ("tenant",) else "")
                        + (f" @{r.detail}" if r.code == "OUTSIDE_CALLING_HOURS" and r.detail else "")
                        for r in d.reasons)
    nxt = ""
    if d.HasField("next_allowed_time"):
        nxt = "; next " + datetime.datetime.fromtimestamp(
            d.next_allowed_time.seconds, datetime.timezone.utc).strftime("%a %H:%M UTC")
    return f"DENIED {reasons}{nxt}"


def local_times(zones, now):
    return ", ".join(f"{now.astimezone(ZoneInfo(z)).strftime('%a %H:%M')} {z.split('/')[-1]}"
                     for z in zones)


def publish_call(kafka, tenant, call):
    """Produces a CallAttemptEnded envelope on 'dialing' with kcat (as the
    dialing service will), one file per message so binary values stay whole."""
    env = envelope_pb2.Envelope(event_id=uuid.uuid4().hex, tenant=tenant.split("/")[1],
                                type="dialgrid.dialing.v1.CallAttemptEnded", subject=call.call,
                                producer="demo-dialer")
    env.time.GetCurrentTime()
    env.payload.Pack(call)
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        f.write(env.SerializeToString())
    try:
        subprocess.run(["kcat", "-P", "-b", kafka, "-t", "dialing", "-k", f"{env.tenant}/{call.call}", f.name],
                       check=True, capture_output=True, timeout=30)
    finally:
        os.unlink(f.name)


def eventually(fn, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    return None


def run_compliance(p, channel, contacts, office, globex, admin):
    """The compliance service: every dial checked, and why."""
    comp = compliance_pb2_grpc.ComplianceServiceStub(channel)
    dialer = dc.bearer(p.service_secret)  # the dialing service's (platform) credential
    acme = "tenants/acme-insurance"
    campaign = f"{acme}/campaigns/spring-renewals"

    step("Compliance: the vendor's national do-not-call registry (mmap-shared index)")
    for r in comp.ListRegistries(compliance_pb2.ListRegistriesRequest(parent="vendor"),
                                 metadata=admin, timeout=5).registries:
        fresh = (f", data of {r.as_of_time.ToDatetime():%Y-%m-%d}, clears dials until "
                 f"{r.stale_time.ToDatetime():%Y-%m-%d %H:%M} UTC ({r.max_age_days}-day limit)"
                 if r.HasField("stale_time") else "")
        show(r.id, f"{compliance_pb2.RegistryKind.Name(r.kind)}, {r.numbers:,} numbers in "
                   f"{r.size_bytes:,} bytes ({r.size_bytes / max(r.numbers, 1):.2f} B/number){fresh}")

    step("ACME's rule set: every calling-hour preset, caps, 72 h quiet period, 3 % abandon cap, consent")
    presets = comp.ListCallingHoursPresets(compliance_pb2.ListCallingHoursPresetsRequest(parent=acme),
                                           metadata=office, timeout=5).presets
    show("calling-hour presets shipped", ", ".join(p_.id for p_ in presets))
    for p_ in presets:
        if p_.id in ("US-FED", "US-FL"):
            show(f"  {p_.id}", f"Mon {p_.weekday_windows[0]}, Sun {p_.weekday_windows[6]}; {p_.source[:60]}")

    def caps(*items):
        return [compliance_pb2.AttemptCap(id=i, max_attempts=n, window=duration_pb2.Duration(seconds=s))
                for i, n, s in items]

    def update_rules(name, metadata, rules):
        try:
            cur = comp.GetRuleSet(compliance_pb2.GetRuleSetRequest(name=name), metadata=metadata, timeout=5).version
        except grpc.RpcError:
            cur = 0
        rules.name = name
        return comp.UpdateRuleSet(compliance_pb2.UpdateRuleSetRequest(rule_set=rules, expected_version=cur),
                                  metadata=metadata, timeout=5)

    rules = compliance_pb2.RuleSet(
        number_caps=caps(("3-PER-24H", 3, 86400), ("7-PER-7D", 7, 7 * 86400)),
        contact_caps=caps(("6-PER-7D", 6, 7 * 86400)),
        abandon_quiet_period=duration_pb2.Duration(seconds=72 * 3600), max_abandon_rate=0.03,
        require_consent_for_automated_wireless=True, do_not_call_registries=["us-national"])
    code, reason = dc.call_error(update_rules, f"{acme}/ruleSet", office, rules)
    show("ACME admin sets registries", f"{code.name} ({reason}): the vendor chooses registries")
    rs = update_rules(f"{acme}/ruleSet", admin, rules)
    show(f"{rs.name} v{rs.version}", f"by {rs.updated_by.rsplit('/', 1)[-1]}, "
                                     f"{len(rs.number_caps)} number caps, registries {list(rs.do_not_call_registries)}")

    now = datetime.datetime.now(datetime.timezone.utc)
    step(f"CheckDial for each contact, now ({now.strftime('%a %H:%M UTC')}), in the callee's time zone")
    listed = contacts.ListContacts(contacts_pb2.ListContactsRequest(
        parent=f"{acme}/contactLists/spring-renewals", page_size=50), metadata=office, timeout=10).contacts
    for c in listed:
        zones = [c.time_zone] if c.time_zone else list(c.candidate_time_zones)
        d = comp.CheckDial(compliance_pb2.CheckDialRequest(
            campaign=campaign, contact=c.name, phone_number=c.phones[0].number.e164,
            dialing_mode=MODE.Value("DIALING_MODE_PREVIEW"),
            callee=compliance_pb2.Callee(time_zones=zones, region=c.region, postal_code=c.postal_code,
                                         country=c.country, time_zone_source=c.time_zone_source)),
            metadata=dialer, timeout=5)
        source = time_zone_source_pb2.TimeZoneSource.Name(d.time_zone_source).replace("TIME_ZONE_SOURCE_", "").lower()
        show(f"{c.external_id} {c.phones[0].number.e164}",
             f"{local_times(zones, now)} (zone from {source}): {decision_text(d)}")

    step("Do-not-call: James Carter's erasure reached compliance through the 'contacts' topic")
    erased = "+19175550134"
    def listed_entry():
        r = comp.CheckDoNotCall(compliance_pb2.CheckDoNotCallRequest(parent=acme, phone_number=erased),
                                metadata=office, timeout=5)
        return r.entries[0] if r.entries else None
    entry = eventually(listed_entry)
    show(f"CheckDoNotCall {erased}", f"{entry.list}: {entry.reason} ({entry.added_by})" if entry else "NOT LISTED")
    for number, label in ((erased, "the erased mobile"), (p.SAMPLE_REGISTRY_NUMBER, "a registry-listed number")):
        d = comp.CheckDial(compliance_pb2.CheckDialRequest(
            campaign=campaign, phone_number=number, dialing_mode=MODE.Value("DIALING_MODE_PREVIEW")),
            metadata=dialer, timeout=5)
        show(f"CheckDial {label}", decision_text(d))
    code, reason = dc.call_error(comp.CheckDial, compliance_pb2.CheckDialRequest(
        campaign=campaign, phone_number=erased, dialing_mode=MODE.Value("DIALING_MODE_PREVIEW")),
        metadata=globex, timeout=5)
    show("Globex checks an ACME campaign", f"{code.name} ({reason})")

    g = "tenants/globex-energy"
    gcampaign = f"{g}/campaigns/winback"
    step("Globex (an around-the-clock custom window, so the rest reads the same at any hour)")
    grules = compliance_pb2.RuleSet(
        calling_hours_presets=["CA-CRTC"],
        custom_calling_hours=[compliance_pb2.CallingHoursRule(
            id="GLOBEX-24X7", jurisdiction="US", weekday_windows=["00:00-24:00"] * 7,
            source="demo only: no real jurisdiction allows this")],
        number_caps=caps(("3-PER-24H", 3, 86400)),
        abandon_quiet_period=duration_pb2.Duration(seconds=72 * 3600), max_abandon_rate=0.03,
        require_consent_for_automated_wireless=True)
    rs = update_rules(f"{g}/ruleSet", globex, grules)
    show(f"{rs.name} v{rs.version}", "custom US window 00:00-24:00, 3 per 24 h, consent for automated wireless")

    def check(number, mode="DIALING_MODE_PREVIEW", request_id=""):
        return comp.CheckDial(compliance_pb2.CheckDialRequest(
            campaign=gcampaign, phone_number=number, dialing_mode=MODE.Value(mode), request_id=request_id),
            metadata=dialer, timeout=5)

    step("Consent: predictive (automated) dials to a possibly-wireless number")
    mobile = "+12025550188"
    show("PREDICTIVE, no consent", decision_text(check(mobile, "DIALING_MODE_PREDICTIVE")))
    show("PREVIEW (a person dials)", decision_text(check(mobile)))
    grant = timestamp_pb2.Timestamp()
    grant.GetCurrentTime()
    grant.seconds -= 86400
    # Consent by type: the TCPA wants written consent for an autodialed
    # telemarketing call to a wireless number; oral consent does not meet it.
    oral = comp.RecordConsent(compliance_pb2.RecordConsentRequest(parent=g, consent=compliance_pb2.Consent(
        phone_number=mobile, type=compliance_pb2.CONSENT_TYPE_PRIOR_EXPRESS, grant_time=grant,
        source="agent notes: said yes on the phone")), metadata=globex, timeout=5)
    show("RecordConsent", f"{oral.name} ({compliance_pb2.ConsentType.Name(oral.type)})")
    show("PREDICTIVE, oral consent only", decision_text(check(mobile, "DIALING_MODE_PREDICTIVE")))
    c = comp.RecordConsent(compliance_pb2.RecordConsentRequest(parent=g, consent=compliance_pb2.Consent(
        phone_number=mobile, type=compliance_pb2.CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN, grant_time=grant,
        source="web form #4411")), metadata=globex, timeout=5)
    show("RecordConsent", f"{c.name} ({compliance_pb2.ConsentType.Name(c.type)})")
    show("PREDICTIVE, with consent", decision_text(check(mobile, "DIALING_MODE_PREDICTIVE")))
    comp.RevokeConsent(compliance_pb2.RevokeConsentRequest(name=c.name, reason="callee revoked by SMS"),
                       metadata=globex, timeout=5)
    show("PREDICTIVE, after revocation", decision_text(check(mobile, "DIALING_MODE_PREDICTIVE")))

    step("Day bans: a Sunday call to Alabama, scrubbed ahead for that time")
    sunday = now + datetime.timedelta(days=(6 - now.weekday()) % 7 or 7)
    sunday = sunday.replace(hour=17, minute=0, second=0, microsecond=0)  # 12:00 in Alabama
    when = timestamp_pb2.Timestamp(seconds=int(sunday.timestamp()))
    r = comp.ScrubNumbers(compliance_pb2.ScrubNumbersRequest(
        campaign=campaign, dialing_mode=MODE.Value("DIALING_MODE_PREVIEW"), dial_time=when,
        entries=[compliance_pb2.ScrubEntry(phone_number="+12055550123")]), metadata=office, timeout=5)
    show(f"ACME, {sunday:%a %Y-%m-%d} 12:00 Central, +12055550123 (Birmingham)",
         decision_text(r.results[0].decision))

    step("A vendor suppression list, created and streamed in over the API, applied to Globex only")
    lit = comp.CreateRegistry(compliance_pb2.CreateRegistryRequest(
        registry_id="litigators", registry=compliance_pb2.Registry(
            kind=compliance_pb2.REGISTRY_KIND_SUPPRESSION,
            number_plan=compliance_pb2.REGISTRY_NUMBER_PLAN_E164,
            tenants=["globex-energy"], description="known TCPA litigators (demo)")),
        metadata=admin, timeout=5)
    show("CreateRegistry", f"{lit.name} ({compliance_pb2.RegistryKind.Name(lit.kind)}) for {list(lit.tenants)}")
    def upload():
        first = compliance_pb2.UploadRegistryNumbersRequest(
            name=lit.name, action=compliance_pb2.REGISTRY_UPLOAD_ACTION_ADD, reason="counsel's list",
            numbers=["+12025550191", "+12025550192"])
        yield first
        yield compliance_pb2.UploadRegistryNumbersRequest(numbers=["not-a-number", "+12025550193"])
    replies = list(comp.UploadRegistryNumbers(upload(), metadata=admin, timeout=10))
    for reply in replies[:-1]:
        show("  progress", f"{reply.received} received, {reply.applied} applied, {reply.rejected} rejected")
    report = replies[-1]
    show("  report", f"complete={report.complete}: {report.applied} applied, {report.rejected} rejected "
                     f"(#{report.rejected_numbers[0].index} '{report.rejected_numbers[0].value}': "
                     f"{report.rejected_numbers[0].reason})")
    show("Globex dials +12025550191", decision_text(check("+12025550191")))
    seen = [r_.id for r_ in comp.ListRegistries(compliance_pb2.ListRegistriesRequest(parent=acme),
                                                 metadata=office, timeout=5).registries]
    show("ACME's registries (the list does not apply to it)", ", ".join(seen))

    step("Attempt caps: an allowed dial counts at once (3 per 24 h)")
    number = "+12025550177"
    for i in range(4):
        d = check(number)
        show(f"dial {i + 1} of {number}", decision_text(d))
    first = check("+12025550199", request_id="dial-42")
    again = check("+12025550199", request_id="dial-42")
    show("retry with request_id dial-42", f"same decision: {first.decision_id == again.decision_id}, counted once")

    step("Call outcomes arrive on the 'dialing' topic: one abandoned call, two connected")
    dropped = "+12025550166"
    d = check(dropped, "DIALING_MODE_PREVIEW")
    for i, (num, outcome, did) in enumerate(((dropped, "CALL_OUTCOME_ABANDONED", d.decision_id),
                                             ("+12025550155", "CALL_OUTCOME_ANSWERED_CONNECTED", ""),
                                             ("+12025550144", "CALL_OUTCOME_ANSWERED_CONNECTED", ""))):
        call = call_events_pb2.CallAttemptEnded(
            call=f"{g}/calls/demo-{uuid.uuid4().hex[:8]}", campaign=gcampaign, phone_number=num,
            decision_id=did, outcome=call_events_pb2.CallOutcome.Value(outcome),
            dialing_mode=MODE.Value("DIALING_MODE_PREDICTIVE"))
        call.dial_time.GetCurrentTime()
        call.end_time.GetCurrentTime()
        publish_call(p.kafka, g, call)
        show(f"published {outcome[13:]}", num)
    rate = eventually(lambda: (lambda r: r if r.last_24_hours.live_answers >= 3 else None)(
        comp.GetAbandonRate(compliance_pb2.GetAbandonRateRequest(campaign=gcampaign), metadata=globex, timeout=5)))
    if rate:
        show("GetAbandonRate 24 h", f"{rate.last_24_hours.abandoned}/{rate.last_24_hours.live_answers} = "
                                    f"{rate.last_24_hours.rate:.1%} (cap {rate.max_abandon_rate:.0%}), over cap: {rate.over_cap}")
    show(f"redial {dropped}", decision_text(check(dropped)))
    consented = "+12025550133"
    comp.RecordConsent(compliance_pb2.RecordConsentRequest(parent=g, consent=compliance_pb2.Consent(
        phone_number=consented, type=compliance_pb2.CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN, grant_time=grant,
        source="web form #4412")), metadata=globex, timeout=5)
    show("PREDICTIVE dial, campaign over its cap", decision_text(check(consented, "DIALING_MODE_PREDICTIVE")))
    show("PROGRESSIVE dial (no abandons possible)", decision_text(check(consented, "DIALING_MODE_PROGRESSIVE")))

    step(f"Audit: what happened to {number} and {dropped}, and why (ListDialRecords)")
    for num in (number, dropped):
        recs = comp.ListDialRecords(compliance_pb2.ListDialRecordsRequest(parent=g, phone_number=num),
                                    metadata=globex, timeout=5).records
        for r in recs:
            when = datetime.datetime.fromtimestamp(r.time.seconds, datetime.timezone.utc).strftime("%H:%M:%S")
            if r.HasField("decision"):
                show(f"{num} {when} decision", f"{decision_text(r.decision)} (rule set v{r.decision.rule_set_version}, "
                                               f"{r.decision.decision_id[:8]}…)")
            else:
                show(f"{num} {when} call", call_events_pb2.CallOutcome.Name(r.call.outcome)[13:])

    step("Events on Kafka topics 'compliance' (every decision is one) and 'compliance-changes' (read with kcat)")
    metrics = urllib.request.urlopen(f"http://{p.endpoints['compliance']['admin']}/metrics", timeout=5).read().decode()
    decided = sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics.splitlines()
                  if line.startswith("dialgrid_compliance_decisions_total{"))
    show("decisions taken (dialgrid_compliance_decisions_total)", decided)

    def all_published():
        ev = read_topic(p.kafka, "compliance")
        return ev if sum(e.type.endswith(".DialDecision") for e in ev) >= decided else None
    events = eventually(all_published, 15) or read_topic(p.kafka, "compliance")
    by_type = {}
    for env in events:
        by_type[env.type.rsplit(".", 1)[-1]] = by_type.get(env.type.rsplit(".", 1)[-1], 0) + 1
    for env in read_topic(p.kafka, "compliance-changes"):
        by_type[env.type.rsplit(".", 1)[-1]] = by_type.get(env.type.rsplit(".", 1)[-1], 0) + 1
    for t, n in sorted(by_type.items()):
        show(t, n)

    step("Audit log: who changed ACME's tenant, credentials, rule set and do-not-call list (ListAuditRecords)")
    comp.AddDoNotCallNumbers(compliance_pb2.AddDoNotCallNumbersRequest(
        parent=acme, phone_numbers=["+13122010199"], reason="asked on the phone not to be called"),
        metadata=office, timeout=5)
    show("ACME's back office adds +13122010199 to its do-not-call list", "OK")
    audit = tenancy_pb2_grpc.TenancyServiceStub(grpc.insecure_channel(p.endpoints["tenancy"]["grpc"]))
    acme_log = tenancy_pb2.ListAuditRecordsRequest(parent="tenants/acme-insurance", page_size=100)

    def all_recorded():
        records = audit.ListAuditRecords(acme_log, metadata=office, timeout=5).records
        return records if any(r.action.endswith(".DoNotCallChanged") for r in records) else None
    records = eventually(all_recorded, 15) or audit.ListAuditRecords(acme_log, metadata=office,
                                                                     timeout=5).records
    records = sorted(records, key=lambda r: (r.time.seconds, r.time.nanos), reverse=True)  # newest first
    for r in records[:9]:
        show(f"{r.time.ToDatetime():%H:%M:%S} {r.action.rsplit('.', 1)[-1]}",
             f"{r.subject.replace(acme, 'ACME')} by {r.actor}")
    if len(records) > 9:
        show("…", f"{len(records) - 9} older records")
    code, reason = dc.call_error(audit.ListAuditRecords, acme_log, metadata=globex, timeout=5)
    show("Globex's admin reads ACME's log", f"{code.name} ({reason})")


def run_agents(p, tenancy, admin, office, globex):
    """Agent state: ACME's agents log in, the dialer reserves one for an answered call."""
    agents = agentstate_pb2_grpc.AgentStateServiceStub(grpc.insecure_channel(p.endpoints["agent-state"]["grpc"]))
    dialer = dc.bearer(p.service_secret)
    desk = dc.bearer(tenancy.CreateCredential(tenancy_pb2.CreateCredentialRequest(
        parent="tenants/acme-insurance",
        credential=tenancy_pb2.Credential(display_name="ACME agent desktops", roles=[tenancy_pb2.ROLE_AGENT])),
        metadata=admin, timeout=5).secret)
    state = lambda st: agentstate_pb2.State.Name(st.state).replace("STATE_", "")  # noqa: E731

    step("Agent state: ACME's back office creates three agents for campaign 'renewals'")
    campaign = "tenants/acme-insurance/campaigns/renewals"
    names = []
    for aid, display, skill in (("maria", "Maria Lopez", "spanish"), ("tom", "Tom Baker", "english"),
                                ("ines", "Ines Duarte", "spanish")):
        a = agents.CreateAgent(agentstate_pb2.CreateAgentRequest(
            parent="tenants/acme-insurance", agent_id=aid,
            agent=agentstate_pb2.Agent(display_name=display, campaigns=[campaign],
                                       skills=[agentstate_pb2.Skill(name=skill, level=7)])),
            metadata=office, timeout=5)
        names.append(a.name)
        show(a.name, f"{a.display_name}, {skill}, {state(a.status)}")

    step("A supervisor's wallboard watches ACME's agents live (WatchAgents: a snapshot, then each change)")
    supervisor = dc.bearer(tenancy.CreateCredential(tenancy_pb2.CreateCredentialRequest(
        parent="tenants/acme-insurance",
        credential=tenancy_pb2.Credential(display_name="ACME wallboard", roles=[tenancy_pb2.ROLE_SUPERVISOR])),
        metadata=admin, timeout=5).secret)
    board = {}  # agent -> the states the wallboard saw, in order
    first = []
    watch = agents.WatchAgents(agentstate_pb2.WatchAgentsRequest(parent="tenants/acme-insurance"),
                               metadata=supervisor, timeout=300)

    def follow():
        try:
            for msg in watch:
                if msg.snapshot and not first:
                    first.append(len(msg.statuses))
                for s in msg.statuses:
                    seen = board.setdefault(s.agent.rsplit("/", 1)[1], [])
                    label = state(s) + (f"({s.reason_code})" if s.reason_code else "")
                    if not seen or seen[-1] != label:
                        seen.append(label)
        except grpc.RpcError:
            pass  # cancelled at the end of this part
    threading.Thread(target=follow, daemon=True).start()
    eventually(lambda: first or None, timeout=10)
    show("snapshot", f"{first[0] if first else 0} agents")

    step("They log in at their stations; Tom and Maria go ready (Tom first), Ines takes a break")
    for name, station in zip(names, ("ext-201", "ext-202", "ext-203")):
        agents.Login(agentstate_pb2.LoginRequest(name=name, station=station), metadata=desk, timeout=5)
    for name in (names[1], names[0]):
        agents.SetReady(agentstate_pb2.SetReadyRequest(name=name), metadata=desk, timeout=5)
        time.sleep(0.01)  # so the two ready times differ
    agents.SetNotReady(agentstate_pb2.SetNotReadyRequest(name=names[2], reason_code="break"),
                       metadata=desk, timeout=5)
    for name in names:
        st = agents.GetAgent(agentstate_pb2.GetAgentRequest(name=name), metadata=office, timeout=5).status
        show(name.rsplit("/", 1)[1], f"{state(st)}{' (' + st.reason_code + ')' if st.reason_code else ''}"
                                     f" at {st.station}")

    step("A call is answered: the dialer reserves the longest-ready agent, retries, confirms, ends")
    r = agents.ReserveAgent(agentstate_pb2.ReserveAgentRequest(campaign=campaign, call_id="call-0001"),
                            metadata=dialer, timeout=5)
    show("ReserveAgent call-0001", f"{r.agent} (ready the longest)")
    again = agents.ReserveAgent(agentstate_pb2.ReserveAgentRequest(campaign=campaign, call_id="call-0001"),
                                metadata=dialer, timeout=5)
    show("the same call again (a retry)", f"{again.agent} (the same agent, nothing counted twice)")
    spanish = agents.ReserveAgent(agentstate_pb2.ReserveAgentRequest(
        campaign=campaign, call_id="call-0002", skills=[agentstate_pb2.Skill(name="spanish", level=5)]),
        metadata=dialer, timeout=5)
    show("call-0002 needing Spanish", spanish.agent)
    st = agents.ConfirmReservation(agentstate_pb2.ConfirmReservationRequest(name=r.agent, call_id="call-0001"),
                                   metadata=dialer, timeout=5)
    show("ConfirmReservation call-0001", state(st))
    try:
        agents.SetReady(agentstate_pb2.SetReadyRequest(name=r.agent), metadata=desk, timeout=5)
    except grpc.RpcError as e:
        show("SetReady while on the call", f"{e.code().name} {dc.reason_of(e)}: {e.details()}")
    st = agents.EndCall(agentstate_pb2.EndCallRequest(name=r.agent, call_id="call-0001"),
                        metadata=dialer, timeout=5)
    show("EndCall call-0001", state(st))
    try:
        agents.ReserveAgent(agentstate_pb2.ReserveAgentRequest(campaign=campaign, call_id="call-0003"),
                            metadata=dialer, timeout=5)
    except grpc.RpcError as e:
        show("call-0003 (nobody ready)", f"{e.code().name} {dc.reason_of(e)}")

    step("A reservation the dialer never confirms is freed by the server's timer (5 s)")
    def freed():
        st = agents.GetAgent(agentstate_pb2.GetAgentRequest(name=spanish.agent), metadata=office, timeout=5).status
        return st if st.state != agentstate_pb2.STATE_RESERVED else None
    st = eventually(freed, timeout=20)
    show(spanish.agent.rsplit("/", 1)[1], f"{state(st)} ({st.reason_code})" if st else "still reserved")

    step("What the wallboard saw, agent by agent (every change, pushed as it happened)")
    time.sleep(0.5)
    watch.cancel()
    for aid in sorted(board):
        show(aid, " > ".join(board[aid]))

    step("KPIs of today (GetAgentKpis; time per state counted from the state history)")
    today = datetime.datetime.now(zoneinfo.ZoneInfo("America/Chicago")).date()  # ACME's zone
    for name in (r.agent, spanish.agent):
        k = agents.GetAgentKpis(agentstate_pb2.GetAgentKpisRequest(
            name=name, day=date_pb2.Date(year=today.year, month=today.month, day=today.day)),
            metadata=supervisor, timeout=5)
        ms = lambda d: d.seconds * 1000 + d.nanos // 1000000  # noqa: E731
        show(name.rsplit("/", 1)[1], f"logged in {ms(k.logged_in)} ms, ready {ms(k.ready)} ms, "
                                     f"talk {ms(k.talk)} ms, calls handled {k.calls_handled}, "
                                     f"missed reservations {k.missed_reservations}")

    step("Tenant isolation: Globex's admin against ACME's agents")
    try:
        agents.GetAgent(agentstate_pb2.GetAgentRequest(name=names[0]), metadata=globex, timeout=5)
    except grpc.RpcError as e:
        show("GetAgent " + names[0], f"{e.code().name} {dc.reason_of(e)}")
    try:
        for _ in agents.WatchAgents(agentstate_pb2.WatchAgentsRequest(parent="tenants/acme-insurance"),
                                    metadata=globex, timeout=5):
            break
    except grpc.RpcError as e:
        show("WatchAgents tenants/acme-insurance", f"{e.code().name} {dc.reason_of(e)}")


def run_campaigns(p, office, globex):
    """Dialing: ACME defines a predictive campaign over its list and runs its lifecycle."""
    dialing = dialing_pb2_grpc.DialingServiceStub(grpc.insecure_channel(p.endpoints["dialing"]["grpc"]))
    acme = "tenants/acme-insurance"

    def campaign(ring_seconds):
        return dialing_pb2.Campaign(
            display_name="Spring renewals", contact_lists=[f"{acme}/contactLists/spring-renewals"],
            mode=dialing_pb2.CAMPAIGN_MODE_PREDICTIVE, max_lines=30, caller_ids=["+13125550100", "+13125550101"],
            ring_timeout=duration_pb2.Duration(seconds=ring_seconds),
            dispositions=[dialing_pb2.Disposition(code="sale", outcome=dialing_pb2.DISPOSITION_OUTCOME_SUCCESS,
                                                  sale=True),
                          dialing_pb2.Disposition(code="stop-calling",
                                                  outcome=dialing_pb2.DISPOSITION_OUTCOME_DO_NOT_CALL)])

    step("Dialing: ACME's back office defines a predictive campaign over its list and runs its lifecycle")
    try:
        dialing.CreateCampaign(dialing_pb2.CreateCampaignRequest(
            parent=acme, campaign_id="renewals", campaign=campaign(10)), metadata=office, timeout=5)
    except grpc.RpcError as e:
        show("ring timeout 10 s", f"{e.code().name} {dc.reason_of(e)}: {e.details()}")
    c = dialing.CreateCampaign(dialing_pb2.CreateCampaignRequest(
        parent=acme, campaign_id="renewals", campaign=campaign(25), request_id="demo-create-renewals-0001"),
        metadata=office, timeout=5)
    show(c.name, f"{dialing_pb2.CampaignState.Name(c.state)}, abandon target "
                 f"{c.abandon_target.max_rate:.0%} ({dialing_pb2.AbandonMeasurement.Name(c.abandon_target.measurement)}),"
                 f" ring {c.ring_timeout.seconds} s, zone {c.time_zone}")
    name = c.name
    c = dialing.StartCampaign(dialing_pb2.StartCampaignRequest(name=name), metadata=office, timeout=5)
    show("StartCampaign", dialing_pb2.CampaignState.Name(c.state))
    c = dialing.PauseCampaign(dialing_pb2.PauseCampaignRequest(name=name, reason="team huddle"),
                              metadata=office, timeout=5)
    show("PauseCampaign", f"{dialing_pb2.CampaignState.Name(c.state)} ({c.state_reason})")
    try:
        dialing.DeleteCampaign(dialing_pb2.DeleteCampaignRequest(name=name), metadata=office, timeout=5)
    except grpc.RpcError as e:
        show("DeleteCampaign while paused", f"{e.code().name} {dc.reason_of(e)}: {e.details()}")
    c = dialing.ResumeCampaign(dialing_pb2.ResumeCampaignRequest(name=name), metadata=office, timeout=5)
    show("ResumeCampaign", dialing_pb2.CampaignState.Name(c.state))
    try:
        dialing.GetCampaign(dialing_pb2.GetCampaignRequest(name=name), metadata=globex, timeout=5)
    except grpc.RpcError as e:
        show("Globex's GetCampaign", f"{e.code().name} {dc.reason_of(e)}")


def run_live_campaign(p, tenancy, admin, office):
    """The call path, live: a predictive campaign dials a list on the simulated
    carrier; simulated agent desktops take the calls, give dispositions and go
    ready again; every dial is checked by compliance just before it."""
    acme = "tenants/acme-insurance"
    name = f"{acme}/campaigns/uk-callbacks"
    dialing = dialing_pb2_grpc.DialingServiceStub(grpc.insecure_channel(p.endpoints["dialing"]["grpc"]))
    agents = agentstate_pb2_grpc.AgentStateServiceStub(grpc.insecure_channel(p.endpoints["agent-state"]["grpc"]))
    contacts = contacts_pb2_grpc.ContactsServiceStub(grpc.insecure_channel(p.endpoints["contacts"]["grpc"]))
    comp = compliance_pb2_grpc.ComplianceServiceStub(grpc.insecure_channel(p.endpoints["compliance"]["grpc"]))
    desk = dc.bearer(tenancy.CreateCredential(tenancy_pb2.CreateCredentialRequest(
        parent=acme, credential=tenancy_pb2.Credential(display_name="ACME UK desktops",
                                                       roles=[tenancy_pb2.ROLE_AGENT])),
        metadata=admin, timeout=5).secret)

    step("The call path live: 200 London contacts (the UK sets no statutory calling hours, so this "
         "reads the same at any hour), 10 agents, a predictive campaign on the simulated carrier")
    lst = f"{acme}/contactLists/uk-callbacks"
    contacts.CreateContactList(contacts_pb2.CreateContactListRequest(
        parent=acme, contact_list_id="uk-callbacks",
        contact_list=contacts_pb2.ContactList(display_name="UK callbacks")), metadata=office, timeout=5)
    for i in range(200):  # Ofcom's drama range, 020 7946 0000-0999
        contacts.CreateContact(contacts_pb2.CreateContactRequest(parent=lst, contact=contacts_pb2.Contact(
            external_id=f"uk-{i:03d}", first_name="Caller", last_name=f"{i:03d}", time_zone="Europe/London",
            country="GB", phones=[contacts_pb2.ContactPhone(number=dc.phone_number_pb2.PhoneNumber(e164=f"+442079460{i:03d}"))])),
            metadata=office, timeout=5)
    show(lst, "200 contacts")
    names = []
    for i in range(10):
        a = agents.CreateAgent(agentstate_pb2.CreateAgentRequest(parent=acme, agent_id=f"uk-{i + 1}",
            agent=agentstate_pb2.Agent(display_name=f"UK agent {i + 1}", campaigns=[name])),
            metadata=office, timeout=5)
        agents.Login(agentstate_pb2.LoginRequest(name=a.name, station=f"ext-3{i:02d}"), metadata=desk, timeout=5)
        agents.SetReady(agentstate_pb2.SetReadyRequest(name=a.name), metadata=desk, timeout=5)
        names.append(a.name)
    show("agents logged in and ready", ", ".join(n.rsplit("/", 1)[1] for n in names))
    c = dialing.CreateCampaign(dialing_pb2.CreateCampaignRequest(parent=acme, campaign_id="uk-callbacks",
        campaign=dialing_pb2.Campaign(
            display_name="UK callbacks", contact_lists=[lst], mode=dialing_pb2.CAMPAIGN_MODE_PREDICTIVE,
            max_lines=20, caller_ids=["+442079460999"], time_zone="Europe/London",
            ring_timeout=duration_pb2.Duration(seconds=15),
            # Blended: callers to this number queue for the same agents,
            # ahead of the outbound dials, and hear the recording notice.
            inbound=dialing_pb2.InboundSettings(numbers=[p.INBOUND_NUMBER], announce_recording=True),
            dispositions=[dialing_pb2.Disposition(code="sale", outcome=dialing_pb2.DISPOSITION_OUTCOME_SUCCESS, sale=True),
                          dialing_pb2.Disposition(code="no-thanks", outcome=dialing_pb2.DISPOSITION_OUTCOME_NOT_INTERESTED),
                          dialing_pb2.Disposition(code="stop-calling", outcome=dialing_pb2.DISPOSITION_OUTCOME_DO_NOT_CALL)])),
        metadata=office, timeout=5)

    # The agents' desktops: an agent in wrap-up gives the call's disposition
    # and goes ready again (a heartbeat every few seconds keeps the session).
    stop = threading.Event()
    disposed = {}
    flagged = {}
    codes = ["no-thanks", "sale", "no-thanks", "no-thanks", "sale", "no-thanks", "stop-calling"]

    def desktops():
        beat = 0.0
        while not stop.is_set():
            try:
                listed = agents.ListAgents(agentstate_pb2.ListAgentsRequest(parent=acme, page_size=100),
                                           metadata=office, timeout=5).agents
                for a in listed:
                    if a.name not in names:
                        continue
                    if time.monotonic() - beat > 5:
                        agents.Heartbeat(agentstate_pb2.HeartbeatRequest(name=a.name, station=a.status.station),
                                         metadata=desk, timeout=5)
                    if (not flagged and a.status.state == agentstate_pb2.STATE_ON_CALL
                            and "/calls/i" in a.status.call_id
                            and time.time() - a.status.state_time.seconds >= 2.5):
                        # The first inbound caller who talks a while turns
                        # abusive (a few seconds recorded): the agent presses the button.
                        try:
                            flagged["call"] = dialing.FlagAbusiveCaller(dialing_pb2.FlagAbusiveCallerRequest(
                                name=a.status.call_id, reason="threatened the agent"), metadata=desk, timeout=5)
                            flagged["agent"] = a.name
                        except grpc.RpcError:
                            pass  # not connected yet, or over already: the next one
                    if a.status.state != agentstate_pb2.STATE_WRAP_UP:
                        continue
                    code = codes[len(disposed) % len(codes)]
                    try:
                        dialing.SetDisposition(dialing_pb2.SetDispositionRequest(name=a.status.call_id, code=code),
                                               metadata=desk, timeout=5)
                        disposed[a.status.call_id] = code
                    except grpc.RpcError:
                        pass
                    agents.SetReady(agentstate_pb2.SetReadyRequest(name=a.name), metadata=desk, timeout=5)
                if time.monotonic() - beat > 5:
                    beat = time.monotonic()
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    worker = threading.Thread(target=desktops, daemon=True)
    worker.start()

    def steps():
        body = urllib.request.urlopen(f"http://{p.endpoints['dialing']['admin']}/metrics", timeout=5).read().decode()
        out = {}
        for line in body.splitlines():
            if line.startswith("dialgrid_dialing_call_steps_total{"):
                out[line.split('step="', 1)[1].split('"', 1)[0]] = int(float(line.rsplit(" ", 1)[1]))
        return out

    c = dialing.StartCampaign(dialing_pb2.StartCampaignRequest(name=name), metadata=office, timeout=5)
    show("StartCampaign", dialing_pb2.CampaignState.Name(c.state))
    started = time.monotonic()
    # A new campaign starts cautious (about one line per free agent) and
    # dials further ahead as its live answers come in without abandons
    # (docs/pacing.md): a minute shows the start of that.
    for _ in range(6):
        time.sleep(10)
        s = steps()
        by_state = {}
        for a in agents.ListAgents(agentstate_pb2.ListAgentsRequest(parent=acme, page_size=100),
                                   metadata=office, timeout=5).agents:
            if a.name in names:
                st = agentstate_pb2.State.Name(a.status.state).replace("STATE_", "").lower()
                by_state[st] = by_state.get(st, 0) + 1
        show(f"after {time.monotonic() - started:4.0f} s",
             f"checked {s.get('checked', 0)}, dialed {s.get('placed', 0)}, answered {s.get('answered', 0)}, "
             f"connected {s.get('connected', 0)}, abandoned {s.get('abandoned', 0)}, ended {s.get('ended', 0)}, "
             f"dispositions {s.get('disposed', 0)}; agents {by_state}")
    c = dialing.PauseCampaign(dialing_pb2.PauseCampaignRequest(name=name, reason="end of the demo's shift"),
                              metadata=office, timeout=5)
    show("PauseCampaign", f"{dialing_pb2.CampaignState.Name(c.state)} ({c.state_reason})")
    time.sleep(3)
    stop.set()
    worker.join(timeout=10)

    step("Blended: inbound callers to " + p.INBOUND_NUMBER + " queued ahead of the outbound dials")
    progress = next(iter(dialing.WatchCampaign(dialing_pb2.WatchCampaignRequest(name=name),
                                               metadata=office, timeout=10)))
    show("inbound calls", f"offered {progress.inbound_offered}, answered {progress.inbound_answered} "
                          f"({progress.inbound_answered_within} within 20 s), callers who hung up waiting "
                          f"{progress.inbound_abandoned}, overflowed {progress.inbound_overflowed}, "
                          f"blocked {progress.inbound_blocked}")
    show("service level", f"{progress.service_level:.0%} against a target of {progress.service_level_target:.0%}")
    if flagged:
        call = dialing.GetCall(dialing_pb2.GetCallRequest(name=flagged["call"].name), metadata=office, timeout=5)
        show("abusive caller flagged", f"{call.name}: {call.phone_number}, by {call.abusive.flagged_by.rsplit('/', 1)[-1]} "
                                       f"({call.abusive.reason}), {call_events_pb2.CallOutcome.Name(call.outcome)[13:]}")
        blocked = dialing.ListBlockedNumbers(dialing_pb2.ListBlockedNumbersRequest(parent=acme),
                                             metadata=office, timeout=5).blocked_numbers
        show("inbound block list", ", ".join(b.number for b in blocked) or "(empty)")
        a = agents.GetAgent(agentstate_pb2.GetAgentRequest(name=flagged["agent"]), metadata=office, timeout=5)
        show(f"agent {a.name.rsplit('/', 1)[1]}",
             f"{agentstate_pb2.State.Name(a.status.state)[6:]} ({a.status.reason_code}), protected until "
             f"{a.status.protected_until.ToDatetime():%H:%M:%S} UTC")
        rec = recording_pb2_grpc.RecordingServiceStub(grpc.insecure_channel(p.endpoints["recording"]["grpc"]))
        call_id = call.name.rsplit("/", 1)[1]

        def recorded():
            r = rec.ListRecordings(recording_pb2.ListRecordingsRequest(parent=acme, call_id=call_id),
                                   metadata=office, timeout=5).recordings
            h = [x for x in rec.ListHolds(recording_pb2.ListHoldsRequest(parent=acme), metadata=office,
                                          timeout=5).holds if x.target == call_id]
            return (r, h) if r and h else None
        found = eventually(recorded, timeout=20)
        if found:
            r, h = found
            show("its recording (from the call's events)",
                 f"{r[0].name.rsplit('/', 1)[1]}: {recording_pb2.State.Name(r[0].state)}, {r[0].audio_bytes:,} bytes, "
                 f"announcement played: {r[0].announcement_played}; held: {h[0].reason}")
    else:
        show("abusive caller", "no inbound call reached an agent in the minute")

    step("What happened: a call, the contacts' outcomes, compliance's ledger and do-not-call list")
    if disposed:
        call = dialing.GetCall(dialing_pb2.GetCallRequest(name=next(iter(disposed))), metadata=office, timeout=5)
        answered = call.answer_time.ToDatetime() - call.dial_time.ToDatetime()
        show(call.name, f"{call.phone_number} from {call.caller_id}, decision {call.decision_id[:8]}..., "
                        f"answered after {answered.total_seconds():.1f} s, agent {call.agent.rsplit('/', 1)[1]}, "
                        f"{call_events_pb2.CallOutcome.Name(call.outcome)[13:]}, disposition {call.disposition}")
    listed = contacts.ListContacts(contacts_pb2.ListContactsRequest(parent=lst, page_size=100),
                                   metadata=office, timeout=5).contacts
    outcomes = {}
    for ct in listed:
        key = ct.last_outcome or contacts_pb2.ContactStatus.Name(ct.status)[15:].lower()
        outcomes[key] = outcomes.get(key, 0) + 1
    show("contacts by last outcome", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    rate = comp.GetAbandonRate(compliance_pb2.GetAbandonRateRequest(campaign=name), metadata=office, timeout=5)
    show("compliance's abandon ledger (24 h)",
         f"{rate.last_24_hours.abandoned} abandoned of {rate.last_24_hours.live_answers} live answers "
         f"= {rate.last_24_hours.rate:.1%} (cap {rate.max_abandon_rate:.0%})")
    for call_name, code in disposed.items():
        if code != "stop-calling":
            continue
        number = dialing.GetCall(dialing_pb2.GetCallRequest(name=call_name), metadata=office, timeout=5).phone_number
        entries = comp.CheckDoNotCall(compliance_pb2.CheckDoNotCallRequest(parent=acme, phone_number=number),
                                      metadata=office, timeout=5).entries
        show(f"'stop-calling' on {number}", f"on the do-not-call list: {bool(entries)}"
                                             + (f" ({entries[0].reason})" if entries else ""))
        break
    return next(iter(disposed), "")


def run_recording(p, tenancy, admin, office, globex, call):
    """Recording: one of the campaign's calls recorded, with a PCI pause, kept
    encrypted under ACME's key, played back as WAV, verified against the
    tenant's hash chain; another tenant gets nothing."""
    import hashlib
    import math
    import struct
    rec = recording_pb2_grpc.RecordingServiceStub(grpc.insecure_channel(p.endpoints["recording"]["grpc"]))
    acme = "tenants/acme-insurance"
    # The live campaign's calls were recorded from their events already (the
    # simulated media server's audio); here a client records one through the
    # API by hand, with a PCI pause.
    call_id = "demo-" + (call.rsplit("/", 1)[-1] if call else "call-0001")
    step(f"Recording by hand: call {call_id} recorded (8 kHz PCM), paused while the callee reads a card number")
    r = rec.StartRecording(recording_pb2.StartRecordingRequest(parent=acme, recording=recording_pb2.Recording(
        call_id=call_id, audio_format=recording_pb2.AUDIO_FORMAT_PCM_S16LE_8K, announcement_played=True)),
        metadata=office, timeout=5)
    show(r.name, f"{recording_pb2.State.Name(r.state)}, key {r.key_id}")

    def tone(seconds, hz):  # 16-bit little-endian samples at 8 kHz
        return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / 8000)))
                        for i in range(int(8000 * seconds)))
    before, after = tone(2, 440), tone(2, 660)
    sent = []

    def chunks():
        seq = 0
        for part in (before, after):
            for i in range(0, len(part), 3200):  # 200 ms a chunk, sent as it is spoken
                time.sleep(0.2)
                seq += 1
                sent.append(part[i:i + 3200])
                yield recording_pb2.UploadAudioRequest(recording=r.name, sequence=seq, audio=part[i:i + 3200])
            if part is before:
                rec.PauseRecording(recording_pb2.PauseRecordingRequest(name=r.name, reason="card number (PCI)"),
                                   metadata=office, timeout=5)
                time.sleep(0.5)  # the card number is read: nothing is sent or kept
                rec.ResumeRecording(recording_pb2.ResumeRecordingRequest(name=r.name), metadata=office, timeout=5)
    upload = rec.UploadAudio(chunks(), metadata=office, timeout=30)
    r = rec.StopRecording(recording_pb2.StopRecordingRequest(name=r.name), metadata=office, timeout=5)
    r = rec.GetRecording(recording_pb2.GetRecordingRequest(name=r.name), metadata=office, timeout=5)
    show("uploaded", f"{upload.chunks_stored} of {len(sent)} chunks stored, {r.audio_bytes:,} bytes of audio "
                     f"in {r.segments} encrypted segment(s), {r.stored_bytes:,} bytes on disk")
    for g in r.gaps:
        show("gap (never stored)", f"at byte {g.audio_offset:,}: {g.reason}, paused by "
                                   f"{g.paused_by.rsplit('/', 1)[-1]}")
    wav = b"".join(m.container_header + m.audio for m in rec.DownloadRecording(
        recording_pb2.DownloadRecordingRequest(name=r.name, container=recording_pb2.AUDIO_CONTAINER_WAV),
        metadata=office, timeout=30))
    audio = wav[44:] if wav[:4] == b"RIFF" else wav
    show("played back as WAV", f"{len(wav):,} bytes ({wav[:4].decode(errors='replace')}/{wav[8:12].decode(errors='replace')}), "
                               f"SHA-256 of the audio matches the record: "
                               f"{hashlib.sha256(audio).hexdigest() == r.sha256}")
    v = rec.VerifyRecordings(recording_pb2.VerifyRecordingsRequest(parent=acme, check_audio=True),
                             metadata=office, timeout=30)
    show("VerifyRecordings (hash chain + every file)",
         f"{v.chain_entries} chain entries, {v.recordings_checked} recordings checked, {len(v.problems)} problems")
    code, reason = dc.call_error(rec.GetRecording, recording_pb2.GetRecordingRequest(name=r.name),
                                 metadata=globex, timeout=5)
    show("Globex's GetRecording", f"{code.name} ({reason})")


def _stop_on_signal(signum, frame):
    raise KeyboardInterrupt  # SIGTERM/SIGHUP stop the platform the way Ctrl-C does


def main():
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    # Ctrl-C stops everything even when started where SIGINT was ignored
    # (a background job of a non-interactive shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--exit", action="store_true",
                        help="the scripted tour of every service, then stop (what CI runs)")
    parser.add_argument("--tour", action="store_true",
                        help="the scripted tour, then keep the platform running until Ctrl-C")
    parser.add_argument("--run-dir", default=None, help="where logs, data and secrets go")
    args = parser.parse_args()
    p = Platform(run_dir=args.run_dir)
    try:
        p.up()
        show("logs, data and secrets in", p.run_dir)
        show("vendor-admin secret file", os.path.join(p.run_dir, "admin.secret"))
        if args.exit or args.tour:
            run_demo(p)
            if args.exit:
                return 0
            step("The platform keeps running. Ctrl-C stops it.")
            while all(proc.poll() is None for _, proc in p.procs):
                time.sleep(1)
            return 1
        # The default: a live predictive campaign until Ctrl-C (resumed on
        # the next start from the same run directory).
        from live import LivePlatform
        LivePlatform(p).run()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        print("\n== Stopping (SIGTERM, drain, in reverse order)", flush=True)
        p.stop()


if __name__ == "__main__":
    sys.exit(main())
