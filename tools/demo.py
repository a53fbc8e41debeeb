#!/usr/bin/python3
"""Starts the local platform and shows it doing its job, as a client company's
systems and the vendor's operators would see it. Run through tools/run.sh.

Today the platform is the tenancy service (with Redis and the Kafka-protocol
broker); the demo grows as services land.
"""
import argparse
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib"))

from dialgrid_local import Platform  # noqa: E402
import dialgrid_client as dc  # noqa: E402
from dialgrid_client import grpc, tenancy_pb2, tenancy_pb2_grpc, health_pb2, health_pb2_grpc  # noqa: E402


def step(text):
    print(f"\n== {text}", flush=True)


def show(label, value):
    print(f"   {label:<34} {value}", flush=True)


def run_demo(p):
    tenancy = p.endpoints["tenancy"]
    channel = grpc.insecure_channel(tenancy["grpc"])
    stub = tenancy_pb2_grpc.TenancyServiceStub(channel)
    admin = dc.bearer(p.admin_secret)

    step("Platform processes")
    show("redis-server", p.redis_address)
    show("Kafka-protocol broker", p.kafka)
    for name, ep in p.endpoints.items():
        show(f"{name} gRPC / admin HTTP", f"{ep['grpc']} / {ep['admin']}")
    show("logs and secrets in", p.run_dir)

    step("Health and reflection (what Kubernetes probes and grpcurl see)")
    health = health_pb2_grpc.HealthStub(channel)
    for svc in ("liveness", "", "dialgrid.tenancy.v1.TenancyService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=svc), timeout=5).status
        show(f"health '{svc or '(readiness)'}'", health_pb2.HealthCheckResponse.ServingStatus.Name(status))
    show("services by reflection", ", ".join(dc.list_services_by_reflection(channel)))

    step("The vendor onboards two client companies")
    for tid, name, zone in (("acme-insurance", "ACME Insurance", "America/Chicago"),
                            ("globex-energy", "Globex Energy", "Europe/London")):
        try:
            t = stub.CreateTenant(tenancy_pb2.CreateTenantRequest(
                tenant_id=tid, tenant=tenancy_pb2.Tenant(
                    display_name=name, time_zone=zone,
                    quota=tenancy_pb2.Quota(max_agents=50, max_concurrent_lines=150,
                                            max_contacts=2_000_000, max_requests_per_second=500))),
                metadata=admin, timeout=5)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
            t = stub.GetTenant(tenancy_pb2.GetTenantRequest(name=f"tenants/{tid}"), metadata=admin, timeout=5)
        show(t.name, f"{t.display_name}, {t.time_zone}, {t.quota.max_agents} agents, "
                     f"{tenancy_pb2.Tenant.State.Name(t.state)}")

    step("ACME's admin gets a credential (the secret is shown once, stored hashed)")
    created = stub.CreateCredential(tenancy_pb2.CreateCredentialRequest(
        parent="tenants/acme-insurance",
        credential=tenancy_pb2.Credential(display_name="ACME CRM integration",
                                          roles=[tenancy_pb2.ROLE_TENANT_ADMIN])),
        metadata=admin, timeout=5)
    acme = dc.bearer(created.secret)
    show("credential", created.credential.name)
    show("secret", created.secret[:12] + "…")

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
    stub.RevokeCredential(tenancy_pb2.RevokeCredentialRequest(name=created.credential.name),
                          metadata=admin, timeout=5)
    code, reason = dc.call_error(stub.GetTenant, tenancy_pb2.GetTenantRequest(name="tenants/acme-insurance"),
                                 metadata=acme, timeout=5)
    show("ACME call after revocation", f"{code.name} ({reason})")

    step("Events on Kafka topic 'tenancy' (read with kcat, a client that is not ours)")
    out = subprocess.run(["kcat", "-C", "-b", p.kafka, "-t", "tenancy", "-e", "-q",
                          "-f", "%k  %h\\n"], capture_output=True, text=True, timeout=30)
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    for line in lines[-8:]:
        key, _, headers = line.partition("  ")
        etype = next((h.split("=", 1)[1] for h in headers.split(",") if h.startswith("dialgrid-event-type=")), "?")
        show(etype.rsplit(".", 1)[-1], key)
    show("events in all", len(lines))

    step("Metrics (admin HTTP /metrics, Prometheus text)")
    body = urllib.request.urlopen(f"http://{tenancy['admin']}/metrics", timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith("dialgrid_tenancy_rpc_requests_total{"):
            show(line.split("{", 1)[1].split("}")[0], line.rsplit(" ", 1)[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--exit", action="store_true", help="stop the platform after the demo")
    parser.add_argument("--run-dir", default=None, help="where logs, data and secrets go")
    args = parser.parse_args()
    p = Platform(run_dir=args.run_dir)
    try:
        p.up()
        run_demo(p)
        if args.exit:
            return 0
        step("The platform keeps running. Ctrl-C stops it.")
        show("vendor-admin secret file", os.path.join(p.run_dir, "admin.secret"))
        while all(proc.poll() is None for _, proc in p.procs):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("\n== Stopping (SIGTERM, drain, in reverse order)", flush=True)
        p.stop()


if __name__ == "__main__":
    sys.exit(main())
