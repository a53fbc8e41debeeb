#!/usr/bin/python3
"""End-to-end test of the local platform through clients that are not ours.

The client side is Debian's python3-grpcio (run with /usr/bin/python3, whose
grpc and protobuf come from Debian, with stubs generated into
$DIALGRID_BUILD_DIR/python by the build target dialgrid_python_protos),
urllib for the admin HTTP port, kcat for the Kafka topic and the files
redis-server writes. The server side is the real platform started by
tools/pylib/dialgrid_local.py: redis-server, the Kafka-protocol broker and
the services (tenancy, contacts, compliance) as separate processes.

Run:  DIALGRID_BUILD_DIR=build /usr/bin/python3 tests/e2e/foreign_client_test.py -v

Logs, data and secrets go to a temporary run directory, removed at the end
unless a test failed (its path is printed then).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))

from dialgrid_local import BUILD, Platform  # noqa: E402

if not os.path.exists(os.path.join(BUILD, "python", "dialgrid", "tenancy", "v1", "tenancy_pb2.py")):
    sys.exit(f"no Python stubs under {BUILD}/python; build them with "
             f"`cmake --build {BUILD} --target dialgrid_python_protos` "
             f"(DIALGRID_BUILD_DIR selects the build directory)")

import dialgrid_client as dc  # noqa: E402
from dialgrid_client import (error_details_pb2, grpc, health_pb2, health_pb2_grpc,  # noqa: E402
                             tenancy_pb2, tenancy_pb2_grpc)
from dialgrid.event.v1 import envelope_pb2  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402
from grpc.reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # noqa: E402

SERVICE = "dialgrid.tenancy.v1.TenancyService"
METHOD_PREFIX = f"/{SERVICE}/"
ERROR_DOMAIN = "tenancy.dialgrid"
TIMEOUT = 5  # seconds, per RPC
# Stop everything (and keep the logs) well before ctest's TIMEOUT of 180 s.
WATCHDOG_SECONDS = 160

Code = grpc.StatusCode


def new_tenant_id(prefix):
    """A fresh tenant id (3-40 chars of [a-z0-9-], starting with a letter)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def secret_random_part(secret):
    """The random part of a bearer secret "dgk_<16-char id>_<43 base64url chars>"."""
    assert secret.startswith("dgk_") and len(secret) == 64 and secret[20] == "_", "secret format"
    return secret[21:]


def status_details(err):
    """The google.rpc.Status in an error's grpc-status-details-bin trailer, or None."""
    return dc.status_of(err)


def unpack_all(status, cls):
    out = []
    for any_detail in status.details:
        msg = cls()
        if any_detail.Unpack(msg):
            out.append(msg)
    return out


def parse_kcat_records(out):
    """Parses kcat output made with -f '%K\\n%k\\n%h\\n%S\\n%s\\n'.

    Lengths come before key and value, so binary values (serialized
    Envelopes, which may hold newlines) are read exactly. Returns a list of
    dicts: key (bytes or None), headers (dict str->str), value (bytes or None).
    """
    records = []
    pos = 0

    def line():
        nonlocal pos
        end = out.index(b"\n", pos)
        text = out[pos:end]
        pos = end + 1
        return text

    def blob(length):
        nonlocal pos
        if length < 0:  # NULL: kcat prints nothing
            data = None
        else:
            data = out[pos:pos + length]
            if len(data) != length:
                raise ValueError(f"kcat output truncated at byte {pos}")
            pos += length
        if out[pos:pos + 1] != b"\n":
            raise ValueError(f"kcat output out of step at byte {pos}: {out[pos:pos + 40]!r}")
        pos += 1
        return data

    while pos < len(out):
        key = blob(int(line()))
        header_text = line().decode()
        headers = {}
        for item in filter(None, header_text.split(",")):
            name, _, value = item.partition("=")
            headers[name] = value
        value = blob(int(line()))
        records.append({"key": key, "headers": headers, "value": value})
    return records


class ForeignClientTest(unittest.TestCase):
    platform = None
    run_dir = None
    channel = None
    failed = False

    # ----------------------------------------------------------- lifecycle

    @classmethod
    def setUpClass(cls):
        # dialgrid_local leaves its log and secret file objects to the garbage
        # collector; those warnings are not about the platform.
        warnings.filterwarnings("ignore", category=ResourceWarning,
                                message=r"unclosed file .*dialgrid-e2e-")
        cls.run_dir = tempfile.mkdtemp(prefix="dialgrid-e2e-")
        cls.platform = Platform(run_dir=cls.run_dir)
        try:
            cls.platform.up()
            ep = cls.platform.endpoints["tenancy"]
            cls.grpc_address = ep["grpc"]
            cls.admin_http = f"http://{ep['admin']}"
            cls.channel = grpc.insecure_channel(cls.grpc_address)
            grpc.channel_ready_future(cls.channel).result(timeout=10)
        except BaseException:
            cls.failed = True
            cls._shutdown()
            raise
        cls.stub = tenancy_pb2_grpc.TenancyServiceStub(cls.channel)
        cls.admin = dc.bearer(cls.platform.admin_secret)

    @classmethod
    def tearDownClass(cls):
        cls._shutdown()

    @classmethod
    def _shutdown(cls):
        """Stops the platform; removes the run directory unless a test failed.
        Safe to call more than once."""
        if cls.channel is not None:
            cls.channel.close()
            cls.channel = None
        if cls.platform is not None:
            cls.platform.stop()
            cls.platform = None
        if cls.run_dir is None:
            return
        if cls.failed:
            sys.stderr.write(f"\n[e2e] a test failed; logs and data kept in {cls.run_dir}\n")
            tail = _tail(os.path.join(cls.run_dir, "tenancy.log"), 30)
            if tail:
                sys.stderr.write("[e2e] last lines of tenancy.log:\n" + tail + "\n")
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

    # ------------------------------------------------------------- helpers

    def create_tenant(self, prefix, display_name="Test Company", time_zone="Europe/Berlin"):
        tenant_id = new_tenant_id(prefix)
        tenant = self.stub.CreateTenant(tenancy_pb2.CreateTenantRequest(
            tenant_id=tenant_id,
            tenant=tenancy_pb2.Tenant(
                display_name=display_name, time_zone=time_zone,
                quota=tenancy_pb2.Quota(max_agents=10, max_concurrent_lines=30,
                                        max_contacts=100000))),
            metadata=self.admin, timeout=TIMEOUT)
        self.assertEqual(tenant.name, f"tenants/{tenant_id}")
        return tenant_id, tenant

    def create_credential(self, parent, roles, metadata=None, display_name="e2e credential"):
        return self.stub.CreateCredential(tenancy_pb2.CreateCredentialRequest(
            parent=parent,
            credential=tenancy_pb2.Credential(display_name=display_name, roles=roles)),
            metadata=metadata or self.admin, timeout=TIMEOUT)

    def raw_call(self, method, request, metadata):
        """Calls a method and returns the response bytes as they came off the
        wire (no deserializer), so fields the stubs do not know are seen too."""
        call = self.channel.unary_unary(METHOD_PREFIX + method,
                                        request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=None)
        return call(request, metadata=metadata, timeout=TIMEOUT)

    def assert_rpc_error(self, fn, request, code, reason, metadata=None, what=None):
        """Calls fn expecting a gRPC error with this code and ErrorInfo reason;
        checks the details trailer is a well-formed google.rpc.Status from our
        domain whose details all have standard google.rpc type URLs.
        Returns the google.rpc.Status."""
        what = what or f"{getattr(fn, '_method', fn)} {str(request).strip()[:120]!r}"
        try:
            fn(request, metadata=metadata, timeout=TIMEOUT)
        except grpc.RpcError as err:
            got_code, got_reason = err.code(), dc.reason_of(err)
            self.assertEqual((got_code, got_reason), (code, reason),
                             f"{what}: got {got_code.name} {got_reason} ({err.details()})")
            status = status_details(err)
            self.assertIsNotNone(status, f"{what}: no grpc-status-details-bin trailer")
            self.assertEqual(status.code, code.value[0], f"{what}: Status.code")
            self.assertEqual(status.message, err.details(), f"{what}: Status.message")
            for d in status.details:
                self.assertRegex(d.type_url, r"^type\.googleapis\.com/google\.rpc\.[A-Za-z]+$",
                                 f"{what}: detail type URL")
            infos = unpack_all(status, error_details_pb2.ErrorInfo)
            self.assertEqual(len(infos), 1, f"{what}: ErrorInfo details {status.details}")
            self.assertEqual(infos[0].domain, ERROR_DOMAIN, f"{what}: ErrorInfo.domain")
            self.assertEqual(infos[0].reason, reason, f"{what}: ErrorInfo.reason")
            return status
        self.fail(f"{what}: succeeded, expected {code.name} {reason}")

    def http_get(self, path):
        try:
            with urllib.request.urlopen(self.admin_http + path, timeout=TIMEOUT) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def consume_tenancy_topic(self, until, timeout=30, topic="tenancy"):
        """Reads a topic ('tenancy' by default) from the beginning with kcat until
        until(records) is true; returns (records, raw kcat output)."""
        self.assertTrue(shutil.which("kcat"), "kcat is not installed (apt-get install kcat)")
        argv = ["kcat", "-C", "-b", self.platform.kafka, "-t", topic, "-o", "beginning",
                "-e", "-q", "-f", "%K\n%k\n%h\n%S\n%s\n"]
        deadline = time.monotonic() + timeout
        while True:
            proc = subprocess.run(argv, capture_output=True, timeout=30)
            self.assertEqual(proc.returncode, 0,
                             f"kcat failed: {proc.stderr.decode(errors='replace')}")
            records = parse_kcat_records(proc.stdout)
            if until(records) or time.monotonic() > deadline:
                return records, proc.stdout
            time.sleep(0.5)

    # --------------------------------------------------------------- tests

    def test_01_health_and_admin_http(self):
        health = health_pb2_grpc.HealthStub(self.channel)
        for name in ("liveness", "", SERVICE):
            with self.subTest(health_service=name):
                resp = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=TIMEOUT)
                self.assertEqual(resp.status, health_pb2.HealthCheckResponse.SERVING)
        with self.assertRaises(grpc.RpcError) as ctx:
            health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=TIMEOUT)
        self.assertEqual(ctx.exception.code(), Code.NOT_FOUND)

        self.assertEqual(self.http_get("/healthz")[0], 200)
        self.assertEqual(self.http_get("/readyz")[0], 200)

        # One RPC through the service, so the per-method counter has a sample.
        self.stub.ListTenants(tenancy_pb2.ListTenantsRequest(page_size=1), metadata=self.admin,
                              timeout=TIMEOUT)
        status, body = self.http_get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("dialgrid_tenancy_rpc_requests_total", body)
        samples = {}
        for line in body.splitlines():
            m = re.match(r'dialgrid_tenancy_rpc_requests_total\{([^}]*)\} (\S+)$', line)
            if m:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                samples[(labels.get("method"), labels.get("code"))] = float(m.group(2))
        self.assertGreaterEqual(samples.get(("ListTenants", "OK"), 0), 1,
                                f"no ListTenants/OK sample among {samples}")

    def test_02_reflection(self):
        services = dc.list_services_by_reflection(self.channel)
        self.assertIn(SERVICE, services)
        self.assertIn("grpc.health.v1.Health", services)

        stub = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE)
        responses = list(stub.ServerReflectionInfo(iter([request]), timeout=TIMEOUT))
        self.assertEqual(len(responses), 1)
        resp = responses[0]
        self.assertFalse(resp.HasField("error_response"), str(resp.error_response))
        files = []
        for blob in resp.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto()
            fd.ParseFromString(blob)
            files.append(fd)
        services = {f"{fd.package}.{svc.name}": svc for fd in files for svc in fd.service}
        self.assertIn(SERVICE, services, f"files: {[fd.name for fd in files]}")
        methods = {m.name: m for m in services[SERVICE].method}
        self.assertIn("CreateTenant", methods)
        self.assertEqual(methods["CreateTenant"].input_type, ".dialgrid.tenancy.v1.CreateTenantRequest")
        self.assertEqual(methods["CreateTenant"].output_type, ".dialgrid.tenancy.v1.Tenant")
        # Every method of the service as the stubs know it is served.
        self.assertEqual(set(methods),
                         set(tenancy_pb2.DESCRIPTOR.services_by_name["TenancyService"].methods_by_name))

    def test_03_tenant_admin_credential_and_secret_never_returned(self):
        tenant_id, tenant = self.create_tenant("acme", display_name="ACME Insurance",
                                               time_zone="America/Chicago")
        self.assertEqual(tenant.display_name, "ACME Insurance")
        self.assertEqual(tenant.time_zone, "America/Chicago")
        self.assertEqual(tenant.state, tenancy_pb2.Tenant.STATE_ACTIVE)
        self.assertEqual(tenant.quota.max_agents, 10)
        self.assertTrue(tenant.etag)
        self.assertTrue(tenant.HasField("create_time"))

        created = self.create_credential(f"tenants/{tenant_id}", [tenancy_pb2.ROLE_TENANT_ADMIN],
                                         display_name="ACME CRM")
        secret = created.secret
        cred = created.credential
        self.assertRegex(secret, r"^dgk_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$")
        self.assertRegex(cred.name, rf"^tenants/{tenant_id}/credentials/[a-z0-9-]+$")
        self.assertEqual(list(cred.roles), [tenancy_pb2.ROLE_TENANT_ADMIN])
        self.assertEqual(cred.state, tenancy_pb2.Credential.STATE_ACTIVE)
        self.assertTrue(cred.creator.startswith("vendor/credentials/"), cred.creator)

        own = dc.bearer(secret)
        got = self.stub.GetTenant(tenancy_pb2.GetTenantRequest(name=f"tenants/{tenant_id}"),
                                  metadata=own, timeout=TIMEOUT)
        self.assertEqual(got.name, f"tenants/{tenant_id}")
        self.assertEqual(got.display_name, "ACME Insurance")

        # The stored record, read back raw by the vendor admin and by the
        # credential itself, never carries the secret (nor its random part).
        secret_parts = [secret.encode(), secret_random_part(secret).encode()]
        for who, md in (("vendor admin", self.admin), ("tenant admin", own)):
            raw = self.raw_call("GetCredential", tenancy_pb2.GetCredentialRequest(name=cred.name), md)
            got_cred = tenancy_pb2.Credential.FromString(raw)
            self.assertEqual(got_cred.name, cred.name)
            self.assertEqual(got_cred.display_name, "ACME CRM")
            self.assertEqual(got_cred.state, tenancy_pb2.Credential.STATE_ACTIVE)
            raw_list = self.raw_call("ListCredentials", tenancy_pb2.ListCredentialsRequest(
                parent=f"tenants/{tenant_id}"), md)
            listed = tenancy_pb2.ListCredentialsResponse.FromString(raw_list)
            self.assertEqual([c.name for c in listed.credentials], [cred.name])
            for part in secret_parts:
                self.assertNotIn(part, raw, f"GetCredential by {who} returned the secret")
                self.assertNotIn(part, raw_list, f"ListCredentials by {who} returned the secret")

        # "Stored only as a hash": redis-server's append-only files hold the
        # credential but never the secret.
        redis_dir = os.path.join(self.run_dir, "redis")
        stored = b""
        for dirpath, _, filenames in os.walk(redis_dir):
            for filename in filenames:
                with open(os.path.join(dirpath, filename), "rb") as f:
                    stored += f.read()
        credential_id = cred.name.rsplit("/", 1)[1].encode()
        self.assertIn(credential_id, stored, "the credential is not in redis' files at all")
        for part in secret_parts:
            self.assertNotIn(part, stored, "the secret is stored in clear in redis")

    def test_04_tenant_isolation(self):
        a_id, _ = self.create_tenant("iso-a", display_name="Tenant A")
        b_id, _ = self.create_tenant("iso-b", display_name="Tenant B")
        a = dc.bearer(self.create_credential(f"tenants/{a_id}", [tenancy_pb2.ROLE_TENANT_ADMIN]).secret)
        b_cred = self.create_credential(f"tenants/{b_id}", [tenancy_pb2.ROLE_TENANT_ADMIN]).credential
        b_name = f"tenants/{b_id}"
        missing = f"tenants/{new_tenant_id('no-such-company')}"
        s = self.stub
        mismatch = [
            ("GetTenant other", s.GetTenant, tenancy_pb2.GetTenantRequest(name=b_name)),
            ("UpdateTenant other", s.UpdateTenant, tenancy_pb2.UpdateTenantRequest(
                tenant=tenancy_pb2.Tenant(name=b_name, display_name="Hijacked"),
                update_mask={"paths": ["display_name"]})),
            ("ListCredentials other", s.ListCredentials,
             tenancy_pb2.ListCredentialsRequest(parent=b_name)),
            ("CreateCredential other", s.CreateCredential, tenancy_pb2.CreateCredentialRequest(
                parent=b_name, credential=tenancy_pb2.Credential(
                    display_name="backdoor", roles=[tenancy_pb2.ROLE_TENANT_ADMIN]))),
            ("RevokeCredential other", s.RevokeCredential,
             tenancy_pb2.RevokeCredentialRequest(name=b_cred.name)),
            ("GetCredential other", s.GetCredential,
             tenancy_pb2.GetCredentialRequest(name=b_cred.name)),
            ("GetTenant nonexistent", s.GetTenant, tenancy_pb2.GetTenantRequest(name=missing)),
            ("ListCredentials vendor", s.ListCredentials,
             tenancy_pb2.ListCredentialsRequest(parent="vendor")),
        ]
        for what, fn, req in mismatch:
            with self.subTest(what):
                self.assert_rpc_error(fn, req, Code.PERMISSION_DENIED, "TENANT_MISMATCH",
                                      metadata=a, what=what)

        vendor_only = [
            ("CreateTenant", s.CreateTenant, tenancy_pb2.CreateTenantRequest(
                tenant_id=new_tenant_id("rogue"), tenant=tenancy_pb2.Tenant(display_name="Rogue"))),
            ("ListTenants", s.ListTenants, tenancy_pb2.ListTenantsRequest()),
            ("SuspendTenant own", s.SuspendTenant, tenancy_pb2.SuspendTenantRequest(name=f"tenants/{a_id}")),
            ("SuspendTenant other", s.SuspendTenant, tenancy_pb2.SuspendTenantRequest(name=b_name)),
            ("ResumeTenant own", s.ResumeTenant, tenancy_pb2.ResumeTenantRequest(name=f"tenants/{a_id}")),
            ("AuthenticateCredential", s.AuthenticateCredential,
             tenancy_pb2.AuthenticateCredentialRequest(secret=self.platform.admin_secret)),
        ]
        for what, fn, req in vendor_only:
            with self.subTest(what):
                self.assert_rpc_error(fn, req, Code.PERMISSION_DENIED, "ROLE_NOT_ALLOWED",
                                      metadata=a, what=what)

        # No way up from a tenant admin: the vendor's own credential, quotas,
        # vendor-scope roles.
        vendor_cred = b_cred.creator
        self.assertTrue(vendor_cred.startswith("vendor/credentials/"), vendor_cred)
        self.assert_rpc_error(s.RevokeCredential, tenancy_pb2.RevokeCredentialRequest(name=vendor_cred),
                              Code.PERMISSION_DENIED, "TENANT_MISMATCH", metadata=a,
                              what="RevokeCredential of the vendor admin's credential")
        self.assert_rpc_error(s.UpdateTenant, tenancy_pb2.UpdateTenantRequest(
            tenant=tenancy_pb2.Tenant(name=f"tenants/{a_id}", quota=tenancy_pb2.Quota(max_agents=999999)),
            update_mask={"paths": ["quota.max_agents"]}),
            Code.PERMISSION_DENIED, "QUOTA_VENDOR_ONLY", metadata=a, what="UpdateTenant own quota")
        for role in (tenancy_pb2.ROLE_VENDOR_ADMIN, tenancy_pb2.ROLE_PLATFORM_SERVICE):
            self.assert_rpc_error(s.CreateCredential, tenancy_pb2.CreateCredentialRequest(
                parent=f"tenants/{a_id}", credential=tenancy_pb2.Credential(display_name="up", roles=[role])),
                Code.INVALID_ARGUMENT, "ROLE_NOT_IN_SCOPE", metadata=a,
                what=f"CreateCredential {tenancy_pb2.Role.Name(role)} in own tenant")
        vendor = s.GetCredential(tenancy_pb2.GetCredentialRequest(name=vendor_cred),
                                 metadata=self.admin, timeout=TIMEOUT)
        self.assertEqual(vendor.state, tenancy_pb2.Credential.STATE_ACTIVE)
        a_creds = s.ListCredentials(tenancy_pb2.ListCredentialsRequest(parent=f"tenants/{a_id}"),
                                    metadata=a, timeout=TIMEOUT).credentials
        self.assertEqual(len(a_creds), 1, [c.name for c in a_creds])
        a_tenant = s.GetTenant(tenancy_pb2.GetTenantRequest(name=f"tenants/{a_id}"), metadata=a,
                               timeout=TIMEOUT)
        self.assertEqual(a_tenant.quota.max_agents, 10)

        # The error details trailer, decoded by hand as a foreign client would.
        try:
            s.GetTenant(tenancy_pb2.GetTenantRequest(name=b_name), metadata=a, timeout=TIMEOUT)
            self.fail("GetTenant of another tenant succeeded")
        except grpc.RpcError as err:
            trailers = dict(err.trailing_metadata())
            self.assertIn("grpc-status-details-bin", trailers)
            status = dc.status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
            self.assertEqual(status.code, Code.PERMISSION_DENIED.value[0])
            self.assertEqual(status.message, err.details())
            self.assertEqual([d.type_url for d in status.details],
                             ["type.googleapis.com/google.rpc.ErrorInfo"])
            infos = unpack_all(status, error_details_pb2.ErrorInfo)
            self.assertEqual([(i.domain, i.reason) for i in infos], [(ERROR_DOMAIN, "TENANT_MISMATCH")])

        # Nothing of B changed, nothing was created or revoked.
        b = s.GetTenant(tenancy_pb2.GetTenantRequest(name=b_name), metadata=self.admin, timeout=TIMEOUT)
        self.assertEqual((b.display_name, b.state), ("Tenant B", tenancy_pb2.Tenant.STATE_ACTIVE))
        creds = s.ListCredentials(tenancy_pb2.ListCredentialsRequest(parent=b_name),
                                  metadata=self.admin, timeout=TIMEOUT).credentials
        self.assertEqual([(c.name, c.state) for c in creds],
                         [(b_cred.name, tenancy_pb2.Credential.STATE_ACTIVE)])
        # ... and A's credential still works on A.
        s.ListCredentials(tenancy_pb2.ListCredentialsRequest(parent=f"tenants/{a_id}"),
                          metadata=a, timeout=TIMEOUT)

    def test_05_bad_input(self):
        tenant_id, _ = self.create_tenant("badinput")
        s = self.stub
        malformed = [  # (label, method, request, field named in BadRequest)
            ("GetTenant bare id", s.GetTenant, tenancy_pb2.GetTenantRequest(name=tenant_id), "name"),
            ("GetTenant empty", s.GetTenant, tenancy_pb2.GetTenantRequest(name=""), "name"),
            ("GetTenant 'tenants'", s.GetTenant, tenancy_pb2.GetTenantRequest(name="tenants"), "name"),
            ("GetTenant wrong collection", s.GetTenant,
             tenancy_pb2.GetTenantRequest(name=f"companies/{tenant_id}"), "name"),
            ("GetTenant extra segment", s.GetTenant,
             tenancy_pb2.GetTenantRequest(name=f"tenants/{tenant_id}/extra"), "name"),
            ("GetCredential wrong collection", s.GetCredential,
             tenancy_pb2.GetCredentialRequest(name=f"tenants/{tenant_id}/keys/k1"), "name"),
            ("GetCredential no id", s.GetCredential,
             tenancy_pb2.GetCredentialRequest(name=f"tenants/{tenant_id}/credentials"), "name"),
            ("RevokeCredential vendor wrong collection", s.RevokeCredential,
             tenancy_pb2.RevokeCredentialRequest(name="vendor/keys/k1"), "name"),
            ("ListCredentials parent with collection", s.ListCredentials,
             tenancy_pb2.ListCredentialsRequest(parent=f"tenants/{tenant_id}/credentials"), "parent"),
        ]
        for what, fn, req, field in malformed:
            with self.subTest(what):
                status = self.assert_rpc_error(fn, req, Code.INVALID_ARGUMENT, "MALFORMED_NAME",
                                               metadata=self.admin, what=what)
                violations = [v for br in unpack_all(status, error_details_pb2.BadRequest)
                              for v in br.field_violations]
                self.assertEqual([v.field for v in violations], [field], what)

        long_name = "x" * 10240
        never_created = new_tenant_id("toolong")
        too_long = [
            ("CreateTenant", s.CreateTenant, tenancy_pb2.CreateTenantRequest(
                tenant_id=never_created, tenant=tenancy_pb2.Tenant(display_name=long_name))),
            ("UpdateTenant", s.UpdateTenant, tenancy_pb2.UpdateTenantRequest(
                tenant=tenancy_pb2.Tenant(name=f"tenants/{tenant_id}", display_name=long_name),
                update_mask={"paths": ["display_name"]})),
        ]
        for what, fn, req in too_long:
            with self.subTest(what):
                status = self.assert_rpc_error(fn, req, Code.INVALID_ARGUMENT, "FIELD_TOO_LONG",
                                               metadata=self.admin, what=what)
                violations = [v for br in unpack_all(status, error_details_pb2.BadRequest)
                              for v in br.field_violations]
                self.assertEqual([v.field for v in violations], ["tenant.display_name"])
                self.assertTrue(violations[0].description)
                self.assertLess(len(status.message), 1000, "the error echoes the 10 KB value")
        # Neither call changed anything.
        self.assert_rpc_error(s.GetTenant, tenancy_pb2.GetTenantRequest(name=f"tenants/{never_created}"),
                              Code.NOT_FOUND, "TENANT_NOT_FOUND", metadata=self.admin)
        t = s.GetTenant(tenancy_pb2.GetTenantRequest(name=f"tenants/{tenant_id}"), metadata=self.admin,
                        timeout=TIMEOUT)
        self.assertEqual(t.display_name, "Test Company")

    def test_06_kafka_events_read_with_kcat(self):
        tenant_id, tenant = self.create_tenant("kafka", display_name="Kafka Co")
        created = self.create_credential(f"tenants/{tenant_id}", [tenancy_pb2.ROLE_INTEGRATION])
        tenant_key = f"{tenant_id}/tenants/{tenant_id}".encode()
        cred_key = f"{tenant_id}/{created.credential.name}".encode()

        def have_both(records):
            keys = {r["key"] for r in records}
            return tenant_key in keys and cred_key in keys

        records, raw = self.consume_tenancy_topic(have_both)
        self.assertTrue(records, "topic 'tenancy' is empty")

        def check(key, event_type, payload_cls):
            matching = [r for r in records if r["key"] == key
                        and r["headers"].get("dialgrid-event-type") == event_type]
            self.assertTrue(matching, f"no {event_type} record keyed {key!r} among "
                                      f"{[(r['key'], r['headers']) for r in records]}")
            rec = matching[0]
            self.assertEqual(rec["headers"].get("dialgrid-tenant"), tenant_id)
            env = envelope_pb2.Envelope.FromString(rec["value"])
            self.assertEqual(env.tenant, tenant_id)
            self.assertEqual(env.type, event_type)
            self.assertEqual(key.decode(), f"{env.tenant}/{env.subject}")
            self.assertRegex(env.event_id, r"^[0-9a-f]{32}$")
            if "dialgrid-event-id" in rec["headers"]:
                self.assertEqual(rec["headers"]["dialgrid-event-id"], env.event_id)
            self.assertTrue(env.producer.startswith("tenancy/"), env.producer)
            self.assertGreater(env.time.seconds, 0)
            self.assertTrue(env.payload.Is(payload_cls.DESCRIPTOR), env.payload.type_url)
            payload = payload_cls()
            self.assertTrue(env.payload.Unpack(payload))
            return env, payload

        env, ev = check(tenant_key, "dialgrid.tenancy.v1.TenantCreated", tenancy_pb2.TenantCreated)
        self.assertEqual(env.subject, f"tenants/{tenant_id}")
        self.assertEqual(ev.tenant.name, f"tenants/{tenant_id}")
        self.assertEqual(ev.tenant.display_name, "Kafka Co")
        self.assertEqual(ev.tenant.state, tenancy_pb2.Tenant.STATE_ACTIVE)
        self.assertEqual(ev.tenant.etag, tenant.etag)

        env, ev = check(cred_key, "dialgrid.tenancy.v1.CredentialCreated", tenancy_pb2.CredentialCreated)
        self.assertEqual(env.subject, created.credential.name)
        self.assertEqual(ev.credential.name, created.credential.name)
        self.assertEqual(list(ev.credential.roles), [tenancy_pb2.ROLE_INTEGRATION])
        self.assertNotIn(created.secret.encode(), raw, "an event carries the secret")
        self.assertNotIn(secret_random_part(created.secret).encode(), raw, "an event carries the secret")

    def test_07_revocation_and_suspension(self):
        tenant_id, _ = self.create_tenant("revoke")
        name = f"tenants/{tenant_id}"
        get = tenancy_pb2.GetTenantRequest(name=name)
        first = self.create_credential(name, [tenancy_pb2.ROLE_TENANT_ADMIN])
        second = self.create_credential(name, [tenancy_pb2.ROLE_AGENT])
        c1, c2 = dc.bearer(first.secret), dc.bearer(second.secret)
        self.stub.GetTenant(get, metadata=c1, timeout=TIMEOUT)
        self.stub.GetTenant(get, metadata=c2, timeout=TIMEOUT)

        # Revocation takes effect at once; other credentials are untouched.
        revoked = self.stub.RevokeCredential(
            tenancy_pb2.RevokeCredentialRequest(name=first.credential.name),
            metadata=self.admin, timeout=TIMEOUT)
        self.assertEqual(revoked.state, tenancy_pb2.Credential.STATE_REVOKED)
        self.assertTrue(revoked.HasField("revoke_time"))
        self.assert_rpc_error(self.stub.GetTenant, get, Code.UNAUTHENTICATED, "CREDENTIAL_REVOKED",
                              metadata=c1)
        self.stub.GetTenant(get, metadata=c2, timeout=TIMEOUT)

        # Suspension refuses every credential of the tenant, but not the vendor.
        suspended = self.stub.SuspendTenant(
            tenancy_pb2.SuspendTenantRequest(name=name, reason="unpaid invoice"),
            metadata=self.admin, timeout=TIMEOUT)
        self.assertEqual(suspended.state, tenancy_pb2.Tenant.STATE_SUSPENDED)
        self.assertEqual(suspended.suspend_reason, "unpaid invoice")
        self.assert_rpc_error(self.stub.GetTenant, get, Code.PERMISSION_DENIED, "TENANT_SUSPENDED",
                              metadata=c2)
        seen = self.stub.GetTenant(get, metadata=self.admin, timeout=TIMEOUT)
        self.assertEqual(seen.state, tenancy_pb2.Tenant.STATE_SUSPENDED)

        # Resumed: works again; the revoked credential stays revoked.
        resumed = self.stub.ResumeTenant(tenancy_pb2.ResumeTenantRequest(name=name),
                                         metadata=self.admin, timeout=TIMEOUT)
        self.assertEqual(resumed.state, tenancy_pb2.Tenant.STATE_ACTIVE)
        self.assertEqual(resumed.suspend_reason, "")
        got = self.stub.GetTenant(get, metadata=c2, timeout=TIMEOUT)
        self.assertEqual(got.state, tenancy_pb2.Tenant.STATE_ACTIVE)
        self.assert_rpc_error(self.stub.GetTenant, get, Code.UNAUTHENTICATED, "CREDENTIAL_REVOKED",
                              metadata=c1)

        # Unknown and missing credentials.
        unknown = "dgk_" + "0" * 16 + "_" + "A" * 43
        self.assert_rpc_error(self.stub.GetTenant, get, Code.UNAUTHENTICATED, "CREDENTIAL_UNKNOWN",
                              metadata=dc.bearer(unknown))
        self.assert_rpc_error(self.stub.GetTenant, get, Code.UNAUTHENTICATED, "MISSING_CREDENTIAL")

    def test_08_compliance_check_dial_and_decision_events(self):
        """A client company's system decides dials through the compliance
        service; every decision is on topic 'compliance'."""
        from dialgrid_client import compliance_pb2, compliance_pb2_grpc, dialing_mode_pb2
        tenant_id, _ = self.create_tenant("dial", time_zone="America/New_York")
        other_id, _ = self.create_tenant("nodial")
        mine = dc.bearer(self.create_credential(f"tenants/{tenant_id}", [tenancy_pb2.ROLE_TENANT_ADMIN]).secret)
        theirs = dc.bearer(self.create_credential(f"tenants/{other_id}", [tenancy_pb2.ROLE_TENANT_ADMIN]).secret)
        channel = grpc.insecure_channel(self.platform.endpoints["compliance"]["grpc"])
        comp = compliance_pb2_grpc.ComplianceServiceStub(channel)
        rules = compliance_pb2.RuleSet(
            name=f"tenants/{tenant_id}/ruleSet", calling_hours_presets=["CA-CRTC"],
            custom_calling_hours=[compliance_pb2.CallingHoursRule(
                id="E2E-OPEN", jurisdiction="US", weekday_windows=["00:00-24:00"] * 7, source="e2e")])
        rs = comp.UpdateRuleSet(compliance_pb2.UpdateRuleSetRequest(rule_set=rules), metadata=mine,
                                timeout=TIMEOUT)
        self.assertEqual(rs.version, 1)
        campaign = f"tenants/{tenant_id}/campaigns/e2e"
        request = compliance_pb2.CheckDialRequest(
            campaign=campaign, phone_number="(212) 201-0601",
            dialing_mode=dialing_mode_pb2.DIALING_MODE_PREVIEW, callee=compliance_pb2.Callee(country="US"))
        allowed = comp.CheckDial(request, metadata=mine, timeout=TIMEOUT)
        self.assertTrue(allowed.allowed, str(allowed))
        self.assertEqual(allowed.phone_number.e164, "+12122010601")
        self.assertEqual(list(allowed.time_zones), ["America/New_York"])
        comp.AddDoNotCallNumbers(compliance_pb2.AddDoNotCallNumbersRequest(
            parent=f"tenants/{tenant_id}", phone_numbers=["+12122010601"], reason="e2e opt-out"),
            metadata=mine, timeout=TIMEOUT)
        denied = comp.CheckDial(request, metadata=mine, timeout=TIMEOUT)
        self.assertFalse(denied.allowed)
        self.assertEqual([r.code for r in denied.reasons], ["DNC_TENANT"])
        self.assertFalse(denied.HasField("next_allowed_time"))
        try:
            comp.CheckDial(request, metadata=theirs, timeout=TIMEOUT)
            self.fail("another tenant's credential decided a dial")
        except grpc.RpcError as err:
            self.assertEqual((err.code(), dc.reason_of(err)), (Code.PERMISSION_DENIED, "TENANT_MISMATCH"))
        try:
            comp.CheckDial(compliance_pb2.CheckDialRequest(
                campaign=campaign, phone_number="not a number",
                dialing_mode=dialing_mode_pb2.DIALING_MODE_PREVIEW), metadata=mine, timeout=TIMEOUT)
            self.fail("an unparseable number was decided")
        except grpc.RpcError as err:
            self.assertEqual(err.code(), Code.INVALID_ARGUMENT)
        channel.close()

        wanted = {allowed.decision_id: True, denied.decision_id: False}

        def decisions(records):
            found = {}
            for r in records:
                if r["headers"].get("dialgrid-event-type") != "dialgrid.compliance.v1.DialDecision":
                    continue
                env = envelope_pb2.Envelope.FromString(r["value"])
                d = compliance_pb2.DialDecision()
                self.assertTrue(env.payload.Unpack(d))
                if d.decision_id in wanted:
                    self.assertEqual(env.tenant, tenant_id)
                    found[d.decision_id] = d.allowed
            return found

        records, _ = self.consume_tenancy_topic(lambda rs_: decisions(rs_) == wanted, topic="compliance")
        self.assertEqual(decisions(records), wanted, "both decisions, as decided, on topic 'compliance'")

    def test_zz_graceful_stop(self):
        procs = [proc for name, proc in self.platform.procs if name == "tenancy"]
        self.assertEqual(len(procs), 1, f"processes: {[n for n, _ in self.platform.procs]}")
        proc = procs[0]
        self.assertIsNone(proc.poll(), "the tenancy service is not running")
        # Serving right before the signal, with this client's connection open.
        self.stub.ListTenants(tenancy_pb2.ListTenantsRequest(page_size=1), metadata=self.admin,
                              timeout=TIMEOUT)

        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.fail("the tenancy service did not exit within 15 s of SIGTERM")
        took = time.monotonic() - start
        self.assertEqual(code, 0, "exit code after SIGTERM")
        sys.stderr.write(f"[tenancy stopped in {took:.1f} s] ")

        lines = [line for line in _read(self.platform.log_path("tenancy")).splitlines() if line.strip()]
        self.assertTrue(lines, "tenancy.log is empty")
        self.assertIn("stopped", lines[-1])
        messages = []
        for line in lines:
            try:
                messages.append(json.loads(line).get("msg"))
            except ValueError:
                pass
        self.assertIn("termination signal", messages)
        self.assertIn("draining", messages)

        # Nothing listens any more.
        health = health_pb2_grpc.HealthStub(self.channel)
        with self.assertRaises(grpc.RpcError) as ctx:
            health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        self.assertIn(ctx.exception.code(), (Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED))


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
    # finally, which stops the platform: no process is left behind.
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    signal.signal(signal.SIGTERM, _abort)
    signal.signal(signal.SIGALRM, _abort)
    signal.alarm(WATCHDOG_SECONDS)
    try:
        unittest.main(verbosity=2)
    except KeyboardInterrupt:
        ForeignClientTest.failed = True
        sys.stderr.write("\n[e2e] interrupted (signal or watchdog)\n")
        sys.exit(2)
    finally:
        signal.alarm(0)
        ForeignClientTest._shutdown()


if __name__ == "__main__":
    main()
