#!/usr/bin/python3
"""The chart's Redis TLS sidecar for real (ctest helm.redis_tls).

The chart is rendered (tools/chart/render, as tools/check_chart.py does) with
redis.tls enabled; the stunnel sidecar of the tenancy Deployment is then run
on this machine exactly as the pod would run it: its command, the
stunnel.conf from the release's ConfigMap, and every file it names taken
from the volumes the sidecar mounts (the test plays the Secrets' part, with a
throwaway CA and certificates made by openssl here). Redis is a
redis-server with TLS only (--port 0 --tls-port N, client certificates
required). The service is the real dialgrid-tenancy binary, started with the
--redis flag of its rendered flag file (the sidecar's loopback address).

  1. through the sidecar, tenancy becomes ready, creates a tenant and reads it
     back; the tenant's key is in the TLS-only Redis (read with redis-cli
     --tls); a second tenancy process, with nothing cached, reads it again;
  2. a CA that did not sign Redis' certificate: the handshake fails
     (stunnel logs the verification error), tenancy finds Redis unavailable
     and stops at start (it stores its bootstrap credentials then; were it
     to stay up, it must be unready and answer UNAVAILABLE); a PING through
     the sidecar is closed unanswered;
  3. an IP address as redis.address is verified as an IP; a server name the
     certificate does not carry, no client certificate for a Redis that
     requires one, and a plaintext redis-server behind the sidecar: each
     connection through the sidecar is closed, never answered (the
     plaintext server never sees the command).

Skips (exit 77) only when redis-server was built without TLS. Needs
redis-server, redis-cli, openssl, stunnel4 (tools/setup.sh), the
dialgrid-tenancy binary and the Python stubs (dialgrid_python_protos).
Ends with 'N passed, N failed'.

Usage: redis_tls_test.py --render BIN --build-dir DIR
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART = os.path.join(ROOT, "helm/dialgrid")
SERVER_NAME = "redis.test.internal"
SKIP = 77


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    """Polls predicate() until it returns a true value (the condition is the
    synchronisation; the interval only bounds the wait)."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"ok    {what}")
        else:
            self.failed += 1
            print(f"FAIL  {what}" + (f"\n{detail}" if detail else ""))
        return cond


# ------------------------------------------------------------------ PKI ---

def openssl(cwd, *args):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl(d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN=dialgrid test {name}")


def make_cert(d, ca, name, cn, ext):
    openssl(d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(ext + "\n")
    openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")


def make_pki(d):
    make_ca(d, "ca")
    make_ca(d, "other-ca")  # a CA that signed nothing Redis presents
    make_cert(d, "ca", "server", SERVER_NAME,
              f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth")
    make_cert(d, "ca", "client", "dialgrid", "extendedKeyUsage=clientAuth")
    return {n: open(os.path.join(d, n)).read() for n in
            ("ca.crt", "other-ca.crt", "server.crt", "server.key", "client.crt", "client.key")}


# ---------------------------------------------------------------- Redis ---

class Redis:
    """redis-server with TLS only: no plaintext port, client certificates required."""

    def __init__(self, work, pki_dir, tls=True):
        self.port = free_port()
        self.pki = pki_dir
        self.tls = tls
        self.log = os.path.join(work, f"redis-{self.port}.log")
        argv = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", work, "--logfile", self.log]
        if tls:
            argv += ["--port", "0", "--tls-port", str(self.port),
                     "--tls-cert-file", os.path.join(pki_dir, "server.crt"),
                     "--tls-key-file", os.path.join(pki_dir, "server.key"),
                     "--tls-ca-cert-file", os.path.join(pki_dir, "ca.crt"),
                     "--tls-auth-clients", "yes"]
        else:
            argv += ["--port", str(self.port)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cli(self, *args):
        argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)]
        if self.tls:
            argv += ["--tls", "--sni", SERVER_NAME, "--cacert", os.path.join(self.pki, "ca.crt"),
                     "--cert", os.path.join(self.pki, "client.crt"), "--key", os.path.join(self.pki, "client.key")]
        r = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=10)
        return r.stdout.strip()

    def wait_ready(self):
        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited {self.proc.returncode}")
            return self.cli("PING") == "PONG"
        wait_for(up, 15, "redis-server")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def log_text(self):
        try:
            return open(self.log).read()
        except OSError:
            return ""


def redis_has_tls(work):
    """'' when this redis-server takes --tls-port, else why not."""
    r = subprocess.run(["redis-server", "--port", "0", "--tls-port", str(free_port()),
                        "--tls-cert-file", "/nonexistent.crt", "--tls-key-file", "/nonexistent.key",
                        "--dir", work], capture_output=True, text=True, timeout=20)
    text = r.stdout + r.stderr
    # Built with TLS: it fails on the missing certificate file. Without:
    # the directives are unknown, or TLS is "not supported".
    if "Bad directive" in text or "not supported" in text or "not compiled" in text.lower():
        return text.strip().splitlines()[-1] if text.strip() else "redis-server refused --tls-port"
    return ""


# ---------------------------------------------------------------- chart ---

def render(render_bin, values, work):
    path = os.path.join(work, f"values-{time.monotonic_ns()}.json")
    with open(path, "w") as f:
        json.dump(values, f)
    r = subprocess.run([render_bin, "-chart", CHART, "-release", "dialgrid", "-namespace", "dialgrid",
                        "-output", "json", "-f", os.path.join(CHART, "ci/minimal-values.yaml"), "-f", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("the chart did not render:\n" + r.stderr)
    objs = [d["object"] for d in json.loads(r.stdout)]
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def tls_values(redis_port, local_port, **tls):
    t = {"enabled": True, "serverName": SERVER_NAME, "caSecret": "redis-ca",
         "clientCertSecret": "redis-client", "localPort": local_port}
    t.update(tls)
    return {"redis": {"address": f"127.0.0.1:{redis_port}", "tls": t}}


class Sidecar:
    """The tenancy pod's redis-tls sidecar as the kubelet would start it:
    its command, and each of its volume mounts filled from the rendered
    ConfigMap or from `secrets` (name -> {key: text}) under a fake root."""

    def __init__(self, objs, secrets, work):
        dep = objs[("Deployment", "dialgrid-tenancy")]
        pod = dep["spec"]["template"]["spec"]
        sidecars = [c for c in pod.get("initContainers", []) if c["name"] == "redis-tls"]
        if len(sidecars) != 1:
            raise RuntimeError("the tenancy Deployment has no redis-tls sidecar")
        c = sidecars[0]
        self.container = c
        vols = {v["name"]: v for v in pod["volumes"]}
        self.root = tempfile.mkdtemp(prefix="pod-", dir=work)
        self.mounts = []
        for m in c["volumeMounts"]:
            v = vols[m["name"]]
            if "configMap" in v:
                src = objs[("ConfigMap", v["configMap"]["name"])]["data"]
            elif "secret" in v:
                src = secrets[v["secret"]["secretName"]]
            else:
                raise RuntimeError(f"volume {m['name']}: neither ConfigMap nor Secret")
            items = v.get("configMap", v.get("secret")).get("items")
            d = self.local(m["mountPath"])
            os.makedirs(d)
            for it in items or [{"key": k, "path": k} for k in src]:
                p = os.path.join(d, it["path"])
                with open(p, "w") as f:
                    f.write(src[it["key"]])
                os.chmod(p, 0o440)
            self.mounts.append(m["mountPath"])
        cmd = list(c["command"]) + list(c.get("args", []))
        self.conf_path = next(a for a in cmd[1:] if a.endswith(".conf"))
        # Paths inside the pod -> the fake root; anything else is the image's
        # own (here: this machine's, e.g. the system CA bundle).
        with open(self.local(self.conf_path)) as f:
            conf = f.read()
        for mp in sorted(self.mounts, key=len, reverse=True):
            conf = conf.replace(mp + "/", self.local(mp) + "/")
        self.conf_local = os.path.join(self.root, "stunnel.conf")
        with open(self.conf_local, "w") as f:
            f.write(conf)
        self.argv = [cmd[0]] + [self.conf_local if a == self.conf_path else a for a in cmd[1:]]
        self.log = os.path.join(work, f"stunnel-{os.path.basename(self.root)}.log")
        self.accept = next(l.split("=", 1)[1].strip() for l in conf.splitlines()
                           if l.replace(" ", "").startswith("accept="))
        self.proc = None

    def local(self, pod_path):
        return os.path.join(self.root, pod_path.lstrip("/"))

    def start(self):
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self.logf, stderr=subprocess.STDOUT)
        host, port = self.accept.rsplit(":", 1)

        def listening():
            if self.proc.poll() is not None:
                raise RuntimeError(f"stunnel exited {self.proc.returncode}:\n{self.log_text()}")
            with socket.socket() as s:
                return s.connect_ex((host, int(port))) == 0
        wait_for(listening, 15, f"stunnel on {self.accept}")
        return self

    def ping(self):
        """PING through the sidecar: the reply, or b'' when the connection is closed."""
        host, port = self.accept.rsplit(":", 1)
        out = b""
        try:  # a refused handshake may reset the connection at any point
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(b"PING\r\n")
                while not out.endswith(b"\r\n"):
                    chunk = s.recv(100)
                    if not chunk:
                        break
                    out += chunk
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
        return out

    def log_text(self):
        try:
            return open(self.log, errors="replace").read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()


# -------------------------------------------------------------- tenancy ---

class Tenancy:
    def __init__(self, build_dir, work, redis_flag, secrets_dir, label, wait=True):
        self.dir = os.path.join(work, label)
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "tenancy.log")
        self.port_file = os.path.join(self.dir, "ports")
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [os.path.join(build_dir, "services/tenancy/dialgrid-tenancy"), redis_flag,
             "--kafka=127.0.0.1:1", "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
             "--port_file=" + self.port_file,
             "--bootstrap_admin_secret_file=" + os.path.join(secrets_dir, "admin.secret"),
             "--bootstrap_service_secret_file=" + os.path.join(secrets_dir, "service.secret")],
            stdout=self.logf, stderr=subprocess.STDOUT)
        self.ports = self.wait_ports() if wait else None

    def read_ports(self):
        try:
            kv = dict(l.split("=", 1) for l in open(self.port_file).read().split())
        except (OSError, ValueError):
            return None
        return kv if "grpc" in kv and "admin" in kv else None

    def wait_ports(self):
        def ports():
            if self.proc.poll() is not None:
                raise RuntimeError(f"tenancy exited {self.proc.returncode}:\n{self.log_text()}")
            return self.read_ports()
        return wait_for(ports, 30, "tenancy's ports")

    def readyz(self):
        try:
            with urllib.request.urlopen(f"http://{self.ports['admin']}/readyz", timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return 0

    def log_text(self):
        try:
            return open(self.log, errors="replace").read()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
        else:
            code = self.proc.returncode
        self.logf.close()
        return code


def flag_of(objs, name, flag):
    flags = objs[("ConfigMap", name)]["data"]["flags"]
    for line in flags.splitlines():
        if line.startswith(f"--{flag}="):
            return line
    return None


# ---------------------------------------------------------------- cases ---

def run(args, work, r):
    why = redis_has_tls(work)
    if why:
        print(f"SKIP  redis-server has no TLS support ({why}); nothing here can be tested without it")
        return SKIP
    for tool in ("stunnel4", "redis-cli", "openssl"):
        if not r.check(shutil.which(tool), f"{tool} is installed (tools/setup.sh installs it)"):
            return 1
    tenancy_bin = os.path.join(args.build_dir, "services/tenancy/dialgrid-tenancy")
    if not r.check(os.access(tenancy_bin, os.X_OK), f"{tenancy_bin} is built"):
        return 1
    sys.path.insert(0, os.path.join(ROOT, "tools/pylib"))
    os.environ["DIALGRID_BUILD_DIR"] = args.build_dir
    import dialgrid_client as dc
    from dialgrid_client import grpc, tenancy_pb2, tenancy_pb2_grpc

    pki_dir = os.path.join(work, "pki")
    os.makedirs(pki_dir)
    pki = make_pki(pki_dir)
    secrets_dir = os.path.join(work, "secrets")
    os.makedirs(secrets_dir)
    bootstrap = {}
    for kind in ("admin", "service"):
        bootstrap[kind] = subprocess.run([tenancy_bin, "--print_new_secret"], capture_output=True,
                                         text=True, check=True).stdout.strip()
        with open(os.path.join(secrets_dir, f"{kind}.secret"), "w") as f:
            f.write(bootstrap[kind] + "\n")
    admin = dc.bearer(bootstrap["admin"])
    secrets = {"redis-ca": {"ca.crt": pki["ca.crt"]},
               "redis-client": {"tls.crt": pki["client.crt"], "tls.key": pki["client.key"]}}

    redis = Redis(work, pki_dir)
    running = [redis]
    try:
        redis.wait_ready()
        r.check(True, f"redis-server with TLS only on 127.0.0.1:{redis.port} (--port 0, client certificates required)")

        # 1. The chart's sidecar carries tenancy's data to the TLS-only Redis.
        local = free_port()
        objs = render(args.render, tls_values(redis.port, local), work)
        redis_flag = flag_of(objs, "dialgrid-tenancy", "redis")
        r.check(redis_flag == f"--redis=127.0.0.1:{local}",
                f"the rendered flag file points tenancy at the sidecar: {redis_flag}")
        sidecar = Sidecar(objs, secrets, work)
        running.append(sidecar)
        conf = open(sidecar.conf_local).read()
        r.check(f"connect = 127.0.0.1:{redis.port}" in conf and f"checkHost = {SERVER_NAME}" in conf
                and "verifyChain = yes" in conf, "the rendered stunnel.conf connects to redis.address "
                "and verifies the chain and the server name")
        sidecar.start()
        r.check(sidecar.ping() == b"+PONG\r\n", "PING through the sidecar: +PONG")

        t1 = Tenancy(args.build_dir, work, redis_flag, secrets_dir, "tenancy-1")
        running.append(t1)
        try:
            wait_for(lambda: t1.readyz() == 200, 20, "tenancy ready")
            r.check(True, "tenancy is ready through the sidecar (its Redis PING passes)")
        except TimeoutError:
            r.check(False, "tenancy is ready through the sidecar", t1.log_text()[-2000:])
            return 1
        stub = tenancy_pb2_grpc.TenancyServiceStub(grpc.insecure_channel(t1.ports["grpc"]))
        created = stub.CreateTenant(tenancy_pb2.CreateTenantRequest(
            tenant_id="tls-acme", tenant=tenancy_pb2.Tenant(
                display_name="ACME over TLS", time_zone="Europe/London",
                quota=tenancy_pb2.Quota(max_agents=5, max_concurrent_lines=10, max_contacts=1000,
                                        max_requests_per_second=50, max_recording_storage_bytes=1 << 20))),
            metadata=admin, timeout=10)
        got = stub.GetTenant(tenancy_pb2.GetTenantRequest(name="tenants/tls-acme"), metadata=admin, timeout=10)
        r.check(created.name == "tenants/tls-acme" and got.display_name == "ACME over TLS",
                "tenancy created a tenant and read it back through the sidecar")
        keys = redis.cli("--scan", "--pattern", "{t:tls-acme}*")
        r.check("{t:tls-acme}:tenant" in keys.split(),
                "the tenant's key is in the TLS-only Redis (redis-cli --tls)", keys)
        r.check(t1.stop() == 0, "tenancy drained and exited 0")
        running.remove(t1)
        t2 = Tenancy(args.build_dir, work, redis_flag, secrets_dir, "tenancy-2")
        running.append(t2)
        stub = tenancy_pb2_grpc.TenancyServiceStub(grpc.insecure_channel(t2.ports["grpc"]))
        got = wait_for(lambda: t2.readyz() == 200, 20, "tenancy-2 ready") and \
            stub.GetTenant(tenancy_pb2.GetTenantRequest(name="tenants/tls-acme"), metadata=admin, timeout=10)
        r.check(got.display_name == "ACME over TLS",
                "a second tenancy process (nothing cached) reads the tenant back through the sidecar")
        t2.stop()
        running.remove(t2)
        sidecar.stop()
        running.remove(sidecar)

        # 2. A CA that did not sign Redis' certificate: no connection at all.
        wrong = dict(secrets, **{"redis-ca": {"ca.crt": pki["other-ca.crt"]}})
        sidecar = Sidecar(render(args.render, tls_values(redis.port, local), work), wrong, work).start()
        running.append(sidecar)
        t3 = Tenancy(args.build_dir, work, redis_flag, secrets_dir, "tenancy-wrong-ca", wait=False)
        running.append(t3)
        try:
            wait_for(lambda: "certificate verify failed" in sidecar.log_text(), 20,
                     "the sidecar to refuse Redis' certificate")
            r.check(True, "wrong CA: the sidecar refuses Redis' certificate (certificate verify failed)")
        except TimeoutError:
            r.check(False, "wrong CA: the sidecar refuses Redis' certificate", sidecar.log_text()[-2000:])
        # Tenancy stores its bootstrap credentials at start, so it stops
        # (the pod's container restarts until Redis answers); were it to stay
        # up, it must be unready and answer UNAVAILABLE.
        wait_for(lambda: t3.proc.poll() is not None or t3.read_ports(), 30, "tenancy to stop or listen")
        if t3.proc.poll() is not None:
            log = t3.log_text()
            r.check(t3.proc.returncode != 0 and "REDIS_UNAVAILABLE" in log,
                    f"wrong CA: tenancy stops at start (exit {t3.proc.returncode}), Redis unavailable "
                    "(REDIS_UNAVAILABLE in its log), never ready", log[-2000:])
        else:
            t3.ports = t3.read_ports()
            r.check(t3.readyz() == 503, f"wrong CA: tenancy is not ready (/readyz {t3.readyz()})")
            stub = tenancy_pb2_grpc.TenancyServiceStub(grpc.insecure_channel(t3.ports["grpc"]))
            code = reason = None
            try:
                stub.GetTenant(tenancy_pb2.GetTenantRequest(name="tenants/tls-acme"), metadata=admin, timeout=10)
            except grpc.RpcError as e:
                code, reason = e.code(), dc.reason_of(e)
            r.check(code == grpc.StatusCode.UNAVAILABLE,
                    f"wrong CA: an RPC that needs Redis answers UNAVAILABLE ({code}, {reason})")
        r.check(sidecar.ping() == b"", "wrong CA: a PING through the sidecar is closed unanswered")
        t3.stop()
        running.remove(t3)
        sidecar.stop()
        running.remove(sidecar)

        # An IP address as redis.address and no serverName: checked against
        # the certificate's IP entry (checkIP), no SNI.
        sidecar = Sidecar(render(args.render, tls_values(redis.port, local, serverName=""), work),
                          secrets, work).start()
        running.append(sidecar)
        conf = open(sidecar.conf_local).read()
        r.check("checkIP = 127.0.0.1" in conf and sidecar.ping() == b"+PONG\r\n",
                "an IP address as redis.address: verified as an IP (checkIP), PING answered")
        sidecar.stop()
        running.remove(sidecar)

        # 3. Other ways the connection must fail rather than fall back.
        cases = [
            ("a server name the certificate does not carry (checkHost)",
             tls_values(redis.port, local, serverName="other.test.internal"), secrets, redis),
            ("no client certificate for a Redis that requires one (mutual TLS)",
             tls_values(redis.port, local, clientCertSecret=""), secrets, redis),
        ]
        plain = Redis(work, pki_dir, tls=False)
        running.append(plain)
        plain.wait_ready()
        cases.append(("a plaintext redis-server behind the sidecar (no plaintext fallback)",
                      tls_values(plain.port, local), secrets, plain))
        for label, values, secs, server in cases:
            sidecar = Sidecar(render(args.render, values, work), secs, work).start()
            running.append(sidecar)
            reply = sidecar.ping()
            r.check(reply == b"", f"{label}: PING through the sidecar is closed unanswered ({reply!r})",
                    sidecar.log_text()[-1500:])
            sidecar.stop()
            running.remove(sidecar)
        # The plaintext server got TLS records, never the PING: only the
        # test's own redis-cli PING (wait_ready) is in its command stats.
        stats = plain.cli("INFO", "commandstats")
        r.check("cmdstat_ping:calls=1," in stats,
                "the plaintext redis-server never received the PING sent through the sidecar", stats)
        return 0
    finally:
        for p in reversed(running):
            try:
                p.stop()
            except Exception as e:  # keep stopping the rest
                print(f"note: stopping {p}: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--render", required=True, help="the chart-render binary (helm/CMakeLists.txt builds it)")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    r = Results()
    work = tempfile.mkdtemp(prefix="dialgrid-redis-tls-")
    try:
        rc = run(args, work, r)
    except Exception as e:  # a failure to set up is a failure, with its reason
        import traceback
        r.check(False, f"{type(e).__name__}: {e}", traceback.format_exc())
        rc = 1
    finally:
        if r.failed or args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if rc == SKIP:
        return SKIP
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if (r.failed or rc) else 0


if __name__ == "__main__":
    sys.exit(main())
