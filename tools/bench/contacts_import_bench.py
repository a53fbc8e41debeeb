#!/usr/bin/python3
"""Contacts import benchmark (issue: contacts).

Generates an N-row CSV (default 1,000,000; one phone each, NANP numbers with
ZIP codes), streams it through ImportContacts over loopback gRPC into a fresh
local platform, and prints rows/s end to end (gRPC stream -> parse ->
normalize -> Redis) and Redis memory per contact, beside two baselines of `redis-benchmark -P 64
-t set` run in the same invocation: against a redis-server without AOF (the
raw speed of Redis here) and against one with the AOF as the platform runs it
(`appendonly yes`, `appendfsync` from DIALGRID_REDIS_APPENDFSYNC, default
`always`: what a durable acknowledgement costs on this disk).

  tools/bench/contacts_import_bench.py [--rows 1000000] [--chunk-kib 1024]
                                      [--expected-rows N]

The import header carries `expected_rows` = the row count by default (a
client that knows its file; the indexes are sized once before the first
batch); `--expected-rows 0` sends none (indexes grow with the writes), any
other N sends N. A build whose protos predate the field gets none and says so.

CPU seconds per row of dialgrid-contacts and redis-server are printed too
(steadier than wall clock when other work shares the machine), with the load
average before the import and the CPU model.

Run it on an otherwise idle machine; figures go to docs/performance.md.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))
from dialgrid_local import Platform, free_port, wait_for  # noqa: E402
import dialgrid_client as dc  # noqa: E402
from dialgrid_client import grpc, tenancy_pb2, tenancy_pb2_grpc, contacts_pb2, contacts_pb2_grpc  # noqa: E402

# Area codes with ZIP prefixes in the same state, so zones derive from the ZIP.
AREAS = [("415", "941"), ("212", "100"), ("312", "606"), ("713", "770"), ("305", "331"),
         ("617", "021"), ("206", "981"), ("602", "850"), ("303", "802"), ("404", "303")]
FIRST = ["Ann", "Bob", "Cyd", "Dee", "Eve", "Fay", "Gus", "Hal", "Ida", "Jon"]
LAST = ["Lee", "Kim", "Ng", "Roe", "Poe", "Orr", "Fox", "Day", "Cox", "Ray"]


def generate(path, rows, seed=42):
    rnd = random.Random(seed)
    with open(path, "w") as f:
        f.write("external_id,first_name,last_name,phone,zip,plan\n")
        for i in range(rows):
            npa, zip3 = AREAS[i % len(AREAS)]
            # Exchange 2xx-9xx and line 0100-9999 keep the numbers valid.
            num = f"+1{npa}{rnd.randint(200, 999)}{rnd.randint(100, 9999):04d}"
            f.write(f"crm-{i},{FIRST[i % 10]},{LAST[(i // 10) % 10]},{num},{zip3}{rnd.randint(0, 99):02d},"
                    f"{'gold' if i % 7 == 0 else 'std'}\n")


def redis_info(port, section):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", section], capture_output=True, text=True).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def cpu_seconds(pid):
    """User + system CPU seconds of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def redis_benchmark_set(rows, durable=False):
    """redis-benchmark -P 64 SET against a fresh redis-server: without AOF, or
    (durable) with the AOF and fsync policy the platform runs
    (tools/pylib/dialgrid_local.py)."""
    port = free_port()
    run_dir = tempfile.mkdtemp(prefix="dg-bench-redis-")
    aof = ["--appendonly", "no"]
    if durable:
        aof = ["--appendonly", "yes",
               "--appendfsync", os.environ.get("DIALGRID_REDIS_APPENDFSYNC", "always")]
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--dir", run_dir] + aof +
                            ["--daemonize", "no"], stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True,
                                        text=True).stdout.strip() == "PONG", 10, "redis")
        out = subprocess.run(["redis-benchmark", "-p", str(port), "-P", "64", "-t", "set", "-n", str(rows),
                              "-r", str(rows), "-q"], capture_output=True, text=True).stdout
        m = re.search(r"SET: ([\d.]+) requests per second", out.replace("\r", "\n"))
        return float(m.group(1)) if m else None, out.strip().splitlines()[-1] if out.strip() else ""
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(run_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk-kib", type=int, default=1024)
    ap.add_argument("--expected-rows", type=int, default=None,
                    help="ImportHeader.expected_rows to send (default: --rows; 0: none)")
    args = ap.parse_args()

    p = Platform()
    csv_path = os.path.join(p.run_dir, "contacts.csv")
    t0 = time.monotonic()
    generate(csv_path, args.rows)
    size = os.path.getsize(csv_path)
    print(f"generated {args.rows:,} rows ({size / 1e6:.1f} MB) in {time.monotonic() - t0:.1f} s", flush=True)
    try:
        p.up()
        redis_port = int(p.redis_address.rsplit(":", 1)[1])
        ten = tenancy_pb2_grpc.TenancyServiceStub(grpc.insecure_channel(p.endpoints["tenancy"]["grpc"]))
        admin = dc.bearer(p.admin_secret)
        ten.CreateTenant(tenancy_pb2.CreateTenantRequest(
            tenant_id="bench", tenant=tenancy_pb2.Tenant(display_name="Bench",
                                                         quota=tenancy_pb2.Quota(max_contacts=args.rows * 2))),
            metadata=admin, timeout=10)
        cred = ten.CreateCredential(tenancy_pb2.CreateCredentialRequest(
            parent="tenants/bench", credential=tenancy_pb2.Credential(
                display_name="bench", roles=[tenancy_pb2.ROLE_INTEGRATION])), metadata=admin, timeout=10)
        md = dc.bearer(cred.secret)
        stub = contacts_pb2_grpc.ContactsServiceStub(grpc.insecure_channel(
            p.endpoints["contacts"]["grpc"], options=[("grpc.max_send_message_length", 8 << 20)]))
        stub.CreateContactList(contacts_pb2.CreateContactListRequest(
            parent="tenants/bench", contact_list_id="million",
            contact_list=contacts_pb2.ContactList(display_name="bench")), metadata=md, timeout=10)
        before = int(redis_info(redis_port, "memory")["used_memory"])

        header = contacts_pb2.ImportHeader(
            parent="tenants/bench/contactLists/million", import_id="bench-1",
            mapping=contacts_pb2.ColumnMapping(external_id="external_id", first_name="first_name",
                                               last_name="last_name", phones=["phone"], postal_code="zip",
                                               attributes={"plan": "plan"}),
            default_country="US")
        expected = args.rows if args.expected_rows is None else args.expected_rows
        if "expected_rows" not in contacts_pb2.ImportHeader.DESCRIPTOR.fields_by_name:
            print("expected_rows:     not in this build's protos (none sent)")
        else:
            header.expected_rows = expected
            print(f"expected_rows:     {expected:,}" + (" (none)" if expected == 0 else ""))

        def requests():
            yield contacts_pb2.ImportContactsRequest(header=header)
            with open(csv_path, "rb") as f:
                while True:
                    chunk = f.read(args.chunk_kib * 1024)
                    if not chunk:
                        return
                    yield contacts_pb2.ImportContactsRequest(chunk=chunk)

        pids = {name: proc.pid for name, proc in p.procs if name in ("redis", "contacts")}
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        load = os.getloadavg()
        t0 = time.monotonic()
        report = stub.ImportContacts(requests(), metadata=md, timeout=3600)
        took = time.monotonic() - t0
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        after = int(redis_info(redis_port, "memory")["used_memory"])
        contacts = report.rows_accepted + report.rows_updated
        print(f"import report: read={report.rows_read:,} accepted={report.rows_accepted:,} "
              f"updated={report.rows_updated:,} rejected={report.rows_rejected:,}")
        for r in report.rejections[:5]:
            print(f"  rejected row {r.row}: {r.reason} {r.message}")
        print(f"end to end:        {report.rows_read / took:,.0f} rows/s ({took:.1f} s for {report.rows_read:,} rows, "
              f"{size / 1e6 / took:.1f} MB/s)")
        print(f"cpu during import: " + ", ".join(
            f"{name} {cpu[name]:.1f} s ({cpu[name] * 1e6 / max(report.rows_read, 1):.1f} us/row)"
            for name in ("contacts", "redis") if name in cpu) +
            f"; load average before {load[0]:.2f} (other work on the machine skews wall-clock figures)")
        print(f"redis memory:      {(after - before) / max(contacts, 1):.0f} bytes per contact "
              f"({(after - before) / 1e6:.1f} MB for {contacts:,} contacts, used_memory delta)")
        keys = redis_info(redis_port, "keyspace")
        print(f"redis keyspace:    {keys}")
        stats = redis_info(redis_port, "commandstats")
        usec = {k.split("_", 1)[1]: int(re.search(r"usec=(\d+)", v).group(1)) for k, v in stats.items()}
        top = ", ".join(f"{k} {v / 1e6:.2f} s" for k, v in sorted(usec.items(), key=lambda kv: -kv[1])[:4])
        print(f"redis busy:        {sum(usec.values()) / 1e6:.1f} s of {took:.1f} s in commands ({top})")
        if os.environ.get("BENCH_VERBOSE"):
            for k, v in stats.items():
                print("   ", k, v)
    finally:
        p.stop()
    rows_per_s = report.rows_read / took
    fsync = os.environ.get("DIALGRID_REDIS_APPENDFSYNC", "always")
    for label, durable in (("baseline (no AOF):", False), (f"baseline (AOF {fsync}):", True)):
        rps, line = redis_benchmark_set(args.rows, durable=durable)
        if rps:
            print(f"{label:<27}redis-benchmark -P 64 -t set -n {args.rows}: {rps:,.0f} SET/s; "
                  f"import rows/s = {rows_per_s / rps:.2f} x that")
        else:
            print(f"{label:<27}redis-benchmark output: {line}")
    print(f"machine:           {cpu_model()}, {os.cpu_count()} CPUs; load average after "
          f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
