#!/usr/bin/python3
"""Mutual TLS between services: the service credential needs the service's
certificate too.

Tenancy runs with TLS and --tls_client_ca_file (the platform's own CA);
contacts runs with TLS, trusts that CA for its peers and presents a client
certificate the CA signed (--peer_tls_cert_file/--peer_tls_key_file). Then,
over real gRPC on loopback:
  - the platform's service credential without a client certificate is
    refused by tenancy (UNAUTHENTICATED SERVICE_CERTIFICATE_REQUIRED): a
    stolen secret alone opens nothing;
  - with the service's certificate it is accepted;
  - a client certificate from another CA fails the handshake (UNAVAILABLE);
  - a tenant's systems (no certificate) keep working: the vendor onboards a
    tenant, the tenant creates a contact list through contacts, which
    verifies the tenant's credential with tenancy over mutual TLS;
  - contacts restarted without its certificate cannot verify anybody
    (UNAVAILABLE AUTH_UNAVAILABLE: fail closed), and tenancy's log names
    the refusal;
  - contacts started with a certificate tenancy does not trust fails the
    same way, and presents the CA's pair written over it on disk without a
    restart.

Run:  DIALGRID_BUILD_DIR=build /usr/bin/python3 tests/e2e/mutual_tls_test.py -v
"""
import json
import os
import shutil
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))

from dialgrid_local import BUILD, Platform, wait_for  # noqa: E402

if not os.path.exists(os.path.join(BUILD, "python", "dialgrid", "tenancy", "v1", "tenancy_pb2.py")):
    sys.exit(f"no Python stubs under {BUILD}/python; build the dialgrid_python_protos target")

import dialgrid_client as dc  # noqa: E402
from dialgrid_client import grpc, tenancy_pb2, tenancy_pb2_grpc, contacts_pb2, contacts_pb2_grpc  # noqa: E402

TESTDATA = os.path.join(ROOT, "services", "common", "tests", "testdata")


def pem(name):
    return os.path.join(TESTDATA, f"mtls_{name}.pem")


def read(name):
    with open(pem(name), "rb") as f:
        return f.read()


def put(path, data):
    """Replaces `path` at once (a rename), as the kubelet updates a Secret."""
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def channel(address, cert=None):
    """A TLS channel trusting the test CA, presenting `cert` ('client',
    'rogue') or no certificate."""
    creds = grpc.ssl_channel_credentials(
        root_certificates=read("ca"),
        private_key=read(f"{cert}_key") if cert else None,
        certificate_chain=read(f"{cert}_cert") if cert else None)
    return grpc.secure_channel(address, creds)


SERVER_TLS = ["--tls_cert_file=" + pem("server_cert"), "--tls_key_file=" + pem("server_key")]
PEER_TRUST = ["--peer_tls_ca_file=" + pem("ca")]
PEER_CERT = ["--peer_tls_cert_file=" + pem("client_cert"), "--peer_tls_key_file=" + pem("client_key")]


class MutualTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.run_dir = tempfile.mkdtemp(prefix="dialgrid-mtls-")
        cls.p = Platform(run_dir=cls.run_dir)
        try:
            cls.p.start_redis()
            cls.p.start_broker()
            cls.p.make_secrets()
            cls.p.start_service("tenancy", SERVER_TLS + ["--tls_client_ca_file=" + pem("ca")])
            cls.contacts = cls.p.start_service("contacts", SERVER_TLS + PEER_TRUST + PEER_CERT)
        except Exception:
            cls.p.stop()
            raise
        cls.ok = False

    @classmethod
    def tearDownClass(cls):
        cls.p.stop()
        if cls.ok:
            shutil.rmtree(cls.run_dir, ignore_errors=True)
        else:
            print(f"run directory kept: {cls.run_dir}", file=sys.stderr)

    def tenancy(self, cert=None):
        return tenancy_pb2_grpc.TenancyServiceStub(channel(self.p.endpoints["tenancy"]["grpc"], cert))

    def authenticate(self, cert, secret):
        return self.tenancy(cert).AuthenticateCredential(
            tenancy_pb2.AuthenticateCredentialRequest(secret=secret),
            metadata=dc.bearer(self.p.service_secret), timeout=10)

    def test_1_service_credential_needs_the_service_certificate(self):
        admin = self.p.admin_secret
        code, reason = dc.call_error(self.authenticate, None, admin)
        self.assertEqual((code, reason), (grpc.StatusCode.UNAUTHENTICATED, "SERVICE_CERTIFICATE_REQUIRED"))
        # With the service's certificate: tenancy answers who the admin is.
        got = self.authenticate("client", admin)
        self.assertIn(tenancy_pb2.ROLE_VENDOR_ADMIN, got.roles)
        # A certificate of another CA: no handshake, so no call at all.
        code, _ = dc.call_error(self.authenticate, "rogue", admin)
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)

    def test_2_tenants_without_certificates_work_through_mutual_tls_peers(self):
        admin = dc.bearer(self.p.admin_secret)
        tenancy = self.tenancy()  # the vendor's tool: no client certificate
        tenancy.CreateTenant(tenancy_pb2.CreateTenantRequest(
            tenant_id="acme-insurance", tenant=tenancy_pb2.Tenant(
                display_name="ACME Insurance", time_zone="Europe/London")), metadata=admin, timeout=10)
        secret = tenancy.CreateCredential(tenancy_pb2.CreateCredentialRequest(
            parent="tenants/acme-insurance", credential=tenancy_pb2.Credential(
                display_name="back office", roles=[tenancy_pb2.ROLE_TENANT_ADMIN])),
            metadata=admin, timeout=10).secret
        contacts = contacts_pb2_grpc.ContactsServiceStub(channel(self.p.endpoints["contacts"]["grpc"]))
        lst = contacts.CreateContactList(contacts_pb2.CreateContactListRequest(
            parent="tenants/acme-insurance", contact_list_id="spring",
            contact_list=contacts_pb2.ContactList(display_name="Spring")),
            metadata=dc.bearer(secret), timeout=10)
        self.assertEqual(lst.name, "tenants/acme-insurance/contactLists/spring")

        # Contacts without its certificate: tenancy refuses its service
        # credential, so contacts verifies nobody (fail closed).
        self.contacts.terminate()
        self.contacts.wait(timeout=20)
        self.p.start_service("contacts", SERVER_TLS + PEER_TRUST)
        contacts = contacts_pb2_grpc.ContactsServiceStub(channel(self.p.endpoints["contacts"]["grpc"]))
        code, reason = dc.call_error(contacts.GetContactList, contacts_pb2.GetContactListRequest(
            name="tenants/acme-insurance/contactLists/spring"), metadata=dc.bearer(secret), timeout=10)
        self.assertEqual((code, reason), (grpc.StatusCode.UNAVAILABLE, "AUTH_UNAVAILABLE"))
        with open(self.p.log_path("tenancy")) as f:
            refusals = [json.loads(line) for line in f
                        if line.startswith("{") and "SERVICE_CERTIFICATE_REQUIRED" in line]
        self.assertTrue(any(r.get("method", "").endswith("AuthenticateCredential") for r in refusals),
                        refusals)
        type(self).secret = secret
        type(self).contacts = None

    def test_3_a_renewed_client_certificate_is_presented_without_a_restart(self):
        """Contacts starts with a client certificate tenancy does not trust
        (as after an expiry); the pair replaced on disk (as the kubelet
        updates a Secret) is presented at the next handshake."""
        for name, proc in self.p.procs:
            if name == "contacts" and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)
        certs = os.path.join(self.run_dir, "contacts-client")
        os.makedirs(certs)
        put(os.path.join(certs, "tls.crt"), read("rogue_cert"))
        put(os.path.join(certs, "tls.key"), read("rogue_key"))
        self.p.start_service("contacts", SERVER_TLS + PEER_TRUST + [
            "--peer_tls_cert_file=" + os.path.join(certs, "tls.crt"),
            "--peer_tls_key_file=" + os.path.join(certs, "tls.key"), "--tls_reload_seconds=1"])
        contacts = contacts_pb2_grpc.ContactsServiceStub(channel(self.p.endpoints["contacts"]["grpc"]))
        request = contacts_pb2.GetContactListRequest(name="tenants/acme-insurance/contactLists/spring")
        code, reason = dc.call_error(contacts.GetContactList, request, metadata=dc.bearer(self.secret),
                                     timeout=10)
        self.assertEqual((code, reason), (grpc.StatusCode.UNAVAILABLE, "AUTH_UNAVAILABLE"))
        # The CA's pair arrives: key first, then the certificate (a
        # half-renewed pair in between is not taken).
        put(os.path.join(certs, "tls.key"), read("client_key"))
        put(os.path.join(certs, "tls.crt"), read("client_cert"))

        def works():
            try:
                return contacts.GetContactList(request, metadata=dc.bearer(self.secret), timeout=5)
            except grpc.RpcError:
                return None
        got = wait_for(works, 40, "contacts to verify credentials with its renewed certificate")
        self.assertEqual(got.name, "tenants/acme-insurance/contactLists/spring")
        type(self).ok = True


if __name__ == "__main__":
    unittest.main()
