#!/usr/bin/env python3
"""Call-path benchmark (issue: dialing service).

Starts the platform as tools/run.sh does (redis-server, the broker, tenancy,
contacts, compliance, agent state, dialing on its simulated carrier), makes a
tenant with AGENTS agents logged in and worked by simulated desktops
(disposition and ready again as soon as a call ends), imports CONTACTS London
contacts, starts a POWER campaign and measures, after a warm-up, for SECONDS:

  - attempts per second through the whole path (CheckDial, the call's
    writes and events, the carrier, on a live answer ReserveAgent +
    ConnectToAgent + ConfirmReservation, EndCall, the outcome to contacts),
  - answer -> agent connection asked p50/p99 (dialing's
    dialgrid_dialing_answer_to_connect_seconds histogram),
  - CPU per attempt of every process (utime+stime from /proc), which travels
    between machines better than the rate does.

Short calls (a live answer after 1 s, 1 s of talk; 40 % busy or failed) so
the rate is bounded by the platform, not by call lengths.

  tools/bench/callpath_bench.py [--agents 150] [--contacts 20000] [--seconds 60]
                                [--mode POWER|PROGRESSIVE|PREDICTIVE] [--ratio 3] [--warmup 15]
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from dialgrid_local import Platform  # noqa: E402
import dialgrid_client as dc  # noqa: E402
from dialgrid_client import (grpc, tenancy_pb2, tenancy_pb2_grpc, contacts_pb2,  # noqa: E402
                             contacts_pb2_grpc, agentstate_pb2, agentstate_pb2_grpc,
                             compliance_pb2, compliance_pb2_grpc, dialing_pb2, dialing_pb2_grpc)
from google.protobuf import duration_pb2  # noqa: E402

SCENARIO = {
    "name": "callpath-bench", "agents": 1, "shift_hours": 8, "days_per_seed": 1,
    "tuning_seeds": [], "reporting_seeds": [1],
    "outcomes": {"human": 0.6, "machine": 0.0, "busy_failed": 0.4},
    "times": {"setup": {"type": "constant", "value": 0.2},
              "human_ring": {"type": "constant", "value": 1},
              "machine_ring": {"type": "constant", "value": 2},
              "fail": {"type": "constant", "value": 0.5},
              "talk": {"type": "constant", "value": 1},
              "wrap": {"type": "constant", "value": 0.5},
              "patience": {"type": "constant", "value": 20}},
    "no_answer_timeout_s": 15,
    "machine_handling": {"talk": {"type": "constant", "value": 1}, "wrap": {"type": "constant", "value": 0.5}},
    "amd": {"enabled": False, "decision_delay_s": 2.0, "greeting_s": 1.0,
            "false_positive": 0.0, "false_negative": 0.0},
    "tick_s": 1, "max_lines_per_agent": 3.0, "abandon_cap": 0.03, "grace_s": 2.0,
}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def metrics(address):
    return urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()


def steps(body):
    out = {}
    for line in body.splitlines():
        if line.startswith("dialgrid_dialing_call_steps_total{"):
            out[line.split('step="', 1)[1].split('"', 1)[0]] = float(line.rsplit(" ", 1)[1])
    return out


def histogram(body, name):
    buckets, count = [], 0.0
    for line in body.splitlines():
        if line.startswith(name + "_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
        elif line.startswith(name + "_count"):
            count = float(line.rsplit(" ", 1)[1])
    return buckets, count


def quantile(before, after, q):
    """Upper bound of the bucket holding quantile q of the observations between two scrapes."""
    (b0, c0), (b1, c1) = before, after
    total = c1 - c0
    if total <= 0:
        return None
    prev = dict(b0)
    for le, n in b1:
        if n - prev.get(le, 0.0) >= q * total:
            return le
    return float("inf")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=150)
    ap.add_argument("--contacts", type=int, default=20000)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=15)
    ap.add_argument("--mode", choices=["POWER", "PROGRESSIVE", "PREDICTIVE"], default="POWER")
    ap.add_argument("--ratio", type=float, default=3.0, help="POWER lines per free agent")
    ap.add_argument("--dialer-threads", type=int, default=16)
    ap.add_argument("--dialing-args", default="",
                    help="more dialing flags, comma-separated (e.g. --agent_watch=false)")
    args = ap.parse_args()

    run_dir = tempfile.mkdtemp(prefix="dialgrid-callpath-bench-")
    scenario = os.path.join(run_dir, "scenario.json")
    with open(scenario, "w") as f:
        json.dump(SCENARIO, f)
    p = Platform(run_dir=run_dir)
    try:
        p.start_redis()
        p.start_broker()
        p.make_secrets()
        for name in ("tenancy", "contacts", "compliance", "agent-state"):
            p.start_service(name)
        p.start_service("dialing", ["--carrier_scenario=" + scenario, "--carrier_max_calls=20000",
                                    f"--dialer_threads={args.dialer_threads}", "--tick_ms=100"] +
                        [a for a in args.dialing_args.split(",") if a])
        admin = dc.bearer(p.admin_secret)
        ten = tenancy_pb2_grpc.TenancyServiceStub(grpc.insecure_channel(p.endpoints["tenancy"]["grpc"]))
        t = "tenants/bench"
        ten.CreateTenant(tenancy_pb2.CreateTenantRequest(tenant_id="bench", tenant=tenancy_pb2.Tenant(
            display_name="Bench", time_zone="Europe/London", quota=tenancy_pb2.Quota(
                max_agents=100000, max_concurrent_lines=100000, max_contacts=10_000_000,
                max_recording_storage_bytes=1 << 30, max_requests_per_second=1_000_000))),
            metadata=admin, timeout=10)

        def cred(role):
            return dc.bearer(ten.CreateCredential(tenancy_pb2.CreateCredentialRequest(
                parent=t, credential=tenancy_pb2.Credential(display_name=f"bench {role}", roles=[role])),
                metadata=admin, timeout=10).secret)
        office, desk = cred(tenancy_pb2.ROLE_TENANT_ADMIN), cred(tenancy_pb2.ROLE_AGENT)
        contacts = contacts_pb2_grpc.ContactsServiceStub(grpc.insecure_channel(p.endpoints["contacts"]["grpc"]))
        agents = agentstate_pb2_grpc.AgentStateServiceStub(grpc.insecure_channel(p.endpoints["agent-state"]["grpc"]))
        dialing = dialing_pb2_grpc.DialingServiceStub(grpc.insecure_channel(p.endpoints["dialing"]["grpc"]))

        # Compliance dials nothing for a tenant without a rule set.
        comp = compliance_pb2_grpc.ComplianceServiceStub(grpc.insecure_channel(p.endpoints["compliance"]["grpc"]))
        comp.UpdateRuleSet(compliance_pb2.UpdateRuleSetRequest(rule_set=compliance_pb2.RuleSet(
            name=f"{t}/ruleSet", max_abandon_rate=0.03)), metadata=office, timeout=10)
        lst = f"{t}/contactLists/bench"
        contacts.CreateContactList(contacts_pb2.CreateContactListRequest(
            parent=t, contact_list_id="bench", contact_list=contacts_pb2.ContactList(display_name="Bench")),
            metadata=office, timeout=10)
        rows = ["id,phone"] + [f"b{i},+4420{7946_0000 + i}" for i in range(args.contacts)]
        data = ("\n".join(rows) + "\n").encode()
        header = contacts_pb2.ImportHeader(
            parent=lst, import_id="bench", format=contacts_pb2.IMPORT_FORMAT_CSV, default_country="GB",
            duplicate_policy=contacts_pb2.DUPLICATE_POLICY_EXTERNAL_ID, expected_rows=args.contacts,
            mapping=contacts_pb2.ColumnMapping(external_id="id", phones=["phone"]))

        def stream():
            yield contacts_pb2.ImportContactsRequest(header=header)
            for i in range(0, len(data), 1 << 20):
                yield contacts_pb2.ImportContactsRequest(chunk=data[i:i + (1 << 20)])
        report = contacts.ImportContacts(stream(), metadata=office, timeout=600)
        print(f"contacts imported: {report.rows_committed} of {report.rows_read}", flush=True)

        campaign = f"{t}/campaigns/bench"
        names = []
        for i in range(args.agents):
            a = agents.CreateAgent(agentstate_pb2.CreateAgentRequest(parent=t, agent_id=f"a{i}",
                agent=agentstate_pb2.Agent(display_name=f"Agent {i}", campaigns=[campaign])),
                metadata=office, timeout=10)
            agents.Login(agentstate_pb2.LoginRequest(name=a.name, station=f"ext-{i}"), metadata=desk, timeout=10)
            agents.SetReady(agentstate_pb2.SetReadyRequest(name=a.name), metadata=desk, timeout=10)
            names.append(a.name)
        dialing.CreateCampaign(dialing_pb2.CreateCampaignRequest(parent=t, campaign_id="bench",
            campaign=dialing_pb2.Campaign(
                display_name="Bench", contact_lists=[lst],
                mode=dialing_pb2.CampaignMode.Value("CAMPAIGN_MODE_" + args.mode),
                power_ratio=args.ratio if args.mode == "POWER" else 0, max_lines_per_agent=10, max_lines=10000,
                caller_ids=["+442079460999"], time_zone="Europe/London",
                ring_timeout=duration_pb2.Duration(seconds=15),
                dispositions=[dialing_pb2.Disposition(code="done",
                                                      outcome=dialing_pb2.DISPOSITION_OUTCOME_NOT_INTERESTED)])),
            metadata=office, timeout=10)

        stop = threading.Event()
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=16)
        busy = set()
        lock = threading.Lock()

        def finish(agent, call):
            try:
                dialing.SetDisposition(dialing_pb2.SetDispositionRequest(name=call, code="done"),
                                       metadata=desk, timeout=10)
            except grpc.RpcError:
                pass
            try:
                agents.SetReady(agentstate_pb2.SetReadyRequest(name=agent), metadata=desk, timeout=10)
            except grpc.RpcError:
                pass
            with lock:
                busy.discard(agent)

        def desktops():
            beat = time.monotonic()
            while not stop.is_set():
                try:
                    listed = agents.ListAgents(agentstate_pb2.ListAgentsRequest(parent=t, page_size=1000),
                                               metadata=office, timeout=10).agents
                except grpc.RpcError:
                    time.sleep(0.1)
                    continue
                heartbeat = time.monotonic() - beat > 10
                for a in listed:
                    if heartbeat:
                        pool.submit(agents.Heartbeat, agentstate_pb2.HeartbeatRequest(
                            name=a.name, station=a.status.station), metadata=desk, timeout=10)
                    if a.status.state == agentstate_pb2.STATE_WRAP_UP:
                        with lock:
                            if a.name in busy:
                                continue
                            busy.add(a.name)
                        pool.submit(finish, a.name, a.status.call_id)
                if heartbeat:
                    beat = time.monotonic()
                time.sleep(0.05)
        worker = threading.Thread(target=desktops, daemon=True)
        worker.start()

        pids = {name: proc.pid for name, proc in p.procs}
        dialing.StartCampaign(dialing_pb2.StartCampaignRequest(name=campaign), metadata=office, timeout=10)
        time.sleep(args.warmup)
        admin_addr = p.endpoints["dialing"]["admin"]
        b0 = metrics(admin_addr)
        cpu0 = {n: cpu_seconds(pid) for n, pid in pids.items()}
        self0 = time.process_time()
        t0 = time.monotonic()
        time.sleep(args.seconds)
        b1 = metrics(admin_addr)
        cpu1 = {n: cpu_seconds(pid) for n, pid in pids.items()}
        self1 = time.process_time()
        elapsed = time.monotonic() - t0
        stop.set()
        worker.join(timeout=10)
        pool.shutdown(wait=False, cancel_futures=True)

        outcomes = {}
        for c in contacts.ListContacts(contacts_pb2.ListContactsRequest(parent=lst, page_size=1000),
                                       metadata=office, timeout=30).contacts:
            outcomes[c.last_outcome or "-"] = outcomes.get(c.last_outcome or "-", 0) + 1
        s0, s1 = steps(b0), steps(b1)
        d = {k: s1.get(k, 0) - s0.get(k, 0) for k in s1}
        placed = d.get("placed", 0)
        h0 = histogram(b0, "dialgrid_dialing_answer_to_connect_seconds")
        h1 = histogram(b1, "dialgrid_dialing_answer_to_connect_seconds")
        cpu_model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                          if line.startswith("model name")), "?")
        print(f"CPU: {cpu_model}, {os.cpu_count()} cores; load before: {os.getloadavg()[0]:.2f} (1 min, at the end)")
        print(f"window {elapsed:.1f} s after {args.warmup} s warm-up; {args.agents} agents, {args.mode}"
              + (f" ratio {args.ratio}" if args.mode == "POWER" else ""))
        print(f"attempts placed {placed:.0f} = {placed / elapsed:.1f}/s; CheckDial {d.get('checked', 0):.0f}, "
              f"answered {d.get('answered', 0):.0f}, connected {d.get('connected', 0):.0f} "
              f"({d.get('connected', 0) / elapsed:.1f}/s), abandoned {d.get('abandoned', 0):.0f}, "
              f"ended {d.get('ended', 0):.0f}, dispositions {d.get('disposed', 0):.0f}, "
              f"denied {d.get('denied', 0):.0f}, check failures {d.get('check_failed', 0):.0f}")
        p50, p99 = quantile(h0, h1, 0.5), quantile(h0, h1, 0.99)
        print(f"answer -> agent connection asked: p50 <= {p50 * 1000 if p50 else float('nan'):.0f} ms, "
              f"p99 <= {p99 * 1000 if p99 else float('nan'):.0f} ms (bucket upper bounds), "
              f"{h1[1] - h0[1]:.0f} answers connected")
        print("first 1,000 contacts by last outcome:", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
        print("CPU per attempt (ms) by process:")
        total = 0.0
        for n in pids:
            used = cpu1[n] - cpu0[n]
            total += used
            print(f"  {n:12s} {used:7.2f} s CPU  {1000 * used / max(placed, 1):6.2f} ms/attempt  "
                  f"({100 * used / elapsed:5.1f} % of a core)")
        client = self1 - self0
        print(f"  {'bench client':12s} {client:7.2f} s CPU  {1000 * client / max(placed, 1):6.2f} ms/attempt "
              "(the simulated desktops, not the platform)")
        print(f"  platform total {1000 * total / max(placed, 1):.2f} ms CPU per attempt")
        return 0
    finally:
        p.stop()


if __name__ == "__main__":
    sys.exit(main())
