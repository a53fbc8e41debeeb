#!/usr/bin/env python3
"""Tests deploy/build_images.py as far as this machine allows, offline:

  1. every service binary's runtime library closure resolves to Debian
     packages, and each image's content list is the binary, its libraries,
     its data, zoneinfo, CA roots and passwd/group: no shell, no package
     manager, no compiler; the data paths the Helm chart's flags name are in
     the images that read them;
  2. one image (tenancy) is built from this Debian 12 machine's package files
     (--host-rootfs, the offline stand-in for mmdebstrap's download) into an
     OCI layout whose index, manifest, config and layer digests check out;
     its layer holds the binary and no /bin/sh; the config runs as 10001;
  3. that tree, alone (chroot, uid 10001), runs the service for real against
     a redis-server on loopback, and the gRPC health service answers SERVING
     for "liveness" and "" (what the chart's probes ask); SIGTERM stops it
     with status 0;
  4. the Redis TLS sidecar's image (stunnel): its content list is stunnel4,
     its libraries and the CA roots, nothing else; its tree, built the same
     way, holds the CA bundle (made when the base lacks it) and, alone, starts
     stunnel as uid 10001 with a client configuration of the chart's kind
     (loopback accept, CAfile the system bundle, verifyChain, checkHost),
     listening until SIGTERM. (helm.redis_tls runs the chart's own
     configuration against a TLS redis-server.)
Needs root (chroot) and redis-server. Ends with 'N passed, N failed'.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_images as bi  # noqa: E402

FORBIDDEN = ["bin/sh", "bin/bash", "usr/bin/dpkg", "usr/bin/apt", "usr/bin/perl", "usr/bin/gcc"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(address, service):
    """grpc.health.v1.Health/Check by hand (python3-grpcio has no health stubs):
    request field 1 = service name; response field 1 = status (1 SERVING)."""
    import grpc
    req = b"\x0a" + bytes([len(service)]) + service.encode() if service else b""
    with grpc.insecure_channel(address) as ch:
        call = ch.unary_unary("/grpc.health.v1.Health/Check",
                              request_serializer=lambda b: b, response_deserializer=lambda b: b)
        try:
            resp = call(req, timeout=2)
        except grpc.RpcError as e:
            return f"rpc error {e.code().name}"
    return "SERVING" if resp == b"\x08\x01" else f"status bytes {resp!r}"


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print(f"ok    {what}")
        else:
            self.failed += 1
            print(f"FAIL  {what}")
        return cond


def test_content(build_dir, r):
    chart_data = {"contacts": ["usr/share/dialgrid/geo/region_time_zones.tsv",
                               "usr/share/dialgrid/geo/postal_code_regions.tsv",
                               "usr/share/dialgrid/geo/number_time_zones.tsv", "usr/share/zoneinfo"],
                  "compliance": ["usr/share/dialgrid/geo/region_time_zones.tsv",
                                 "usr/share/dialgrid/geo/number_time_zones.tsv",
                                 "usr/share/dialgrid/compliance/calling_hours.tsv",
                                 "usr/share/dialgrid/compliance/consent_rules.tsv", "usr/share/zoneinfo"]}
    for s in bi.SERVICES + list(bi.TOOLS):
        paths, packages = bi.content_list(build_dir, s)
        libs = [p for p in paths if ".so" in p]
        grpc = s != "registry-build"  # it reads and writes files only
        r.check(any("ld-linux" in p for p in libs) and (not grpc or any("libgrpc++" in p for p in libs)),
                f"{s}: closure has the loader{' and gRPC' if grpc else ''} ({len(libs)} libraries from "
                f"{len(packages)} Debian packages)")
        r.check(not any(p in FORBIDDEN or p.startswith(("usr/sbin", "sbin", "var/lib/dpkg")) for p in paths),
                f"{s}: no shell, package manager or compiler in the content list")
        r.check(paths.count(f"usr/bin/{bi.binary_name(s)}") == 1 and
                not any(p.startswith("usr/bin/") and p != f"usr/bin/{bi.binary_name(s)}" for p in paths),
                f"{s}: exactly one program, usr/bin/{bi.binary_name(s)}")
        for want in chart_data.get(s, []):
            r.check(want in paths, f"{s}: {want} (named by the chart's flags) is in the image")


def test_stunnel_content(build_dir, r):
    paths, packages = bi.content_list(build_dir, "stunnel")
    r.check("stunnel4" in packages and "libssl3" in packages,
            f"stunnel: from Debian packages stunnel4 and libssl3 ({len(packages)} packages)")
    r.check([p for p in paths if p.startswith("usr/bin/")] == ["usr/bin/stunnel4"],
            "stunnel: exactly one program, usr/bin/stunnel4")
    r.check(any("ld-linux" in p for p in paths) and "etc/ssl/certs" in paths,
            "stunnel: the loader and the CA roots are in the content list")
    r.check(not any(p in FORBIDDEN or p.startswith(("usr/sbin", "sbin", "var/lib/dpkg")) for p in paths),
            "stunnel: no shell, package manager or compiler in the content list")


def test_stunnel_image(build_dir, work, r):
    stage = os.path.join(work, "stage-stunnel")
    bi.stage_service(build_dir, "stunnel", "/", stage)
    bundle = os.path.join(stage, bi.CA_BUNDLE)
    r.check(os.path.isfile(bundle) and "BEGIN CERTIFICATE" in open(bundle).read(),
            "stunnel tree: /etc/ssl/certs/ca-certificates.crt holds the CA roots")
    # A base without the bundle (mmdebstrap's extract runs no maintainer
    # script): it is made from the package's certificates.
    os.unlink(bundle)
    bi.write_ca_bundle(stage)
    r.check(open(bundle).read().count("BEGIN CERTIFICATE") > 50,
            "stunnel tree: the CA bundle is made from usr/share/ca-certificates when missing")
    r.check(bi.smoke_run(stage, "stunnel").startswith("stunnel 5"), "stunnel -version runs inside its tree alone")
    out = os.path.join(work, "oci-stunnel")
    bi.write_oci(stage, "stunnel", "test", out)
    try:
        index, config, names = read_layout(out)
    except (AssertionError, OSError, KeyError, ValueError) as e:
        r.check(False, f"stunnel OCI layout: {e}")
        return
    r.check(config["config"]["Entrypoint"] == ["/usr/bin/stunnel4"] and config["config"]["User"] == "10001:10001"
            and not config["config"]["ExposedPorts"],
            "stunnel image config: entrypoint stunnel4, user 10001:10001, no exposed port")
    r.check("usr/bin/stunnel4" in names and bi.CA_BUNDLE in names and not any(n in names for n in FORBIDDEN),
            "stunnel layer: the program and the CA bundle, no shell or package manager")
    port = free_port()
    conf = os.path.join(stage, "tmp/stunnel.conf")
    with open(conf, "w") as f:
        f.write("foreground = yes\nsyslog = no\npid =\n[redis]\nclient = yes\n"
                f"accept = 127.0.0.1:{port}\nconnect = 127.0.0.1:1\ndelay = yes\n"
                "verifyChain = yes\nCAfile = /etc/ssl/certs/ca-certificates.crt\ncheckHost = redis.example\n")
    dev = bi.chroot_dev(stage).__enter__()
    proc = subprocess.Popen(["chroot", "--userspec", f"{bi.UID}:{bi.GID}", stage, "/usr/bin/stunnel4",
                             "/tmp/stunnel.conf"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        listening = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None and not listening:
            with socket.socket() as s:
                listening = s.connect_ex(("127.0.0.1", port)) == 0
            if not listening:
                time.sleep(0.05)
        r.check(listening, f"stunnel from its tree alone, as uid 10001, listens on 127.0.0.1:{port} "
                           f"(exit {proc.poll()})")
    finally:
        if proc.poll() is None:
            proc.terminate()
        text = proc.communicate(timeout=15)[0].decode(errors="replace")
        dev.__exit__(None, None, None)
    r.check("Configuration successful" in text, "stunnel loaded the configuration and the CA bundle",)
    if r.failed:
        print(text[-2000:])


def read_layout(out):
    blobs = os.path.join(out, "blobs/sha256")

    def blob(desc):
        with open(os.path.join(blobs, desc["digest"].split(":")[1]), "rb") as f:
            data = f.read()
        assert len(data) == desc["size"], f"{desc['digest']} size"
        assert "sha256:" + hashlib.sha256(data).hexdigest() == desc["digest"], f"{desc['digest']} digest"
        return data

    with open(os.path.join(out, "index.json")) as f:
        index = json.load(f)
    manifest = json.loads(blob(index["manifests"][0]))
    config = json.loads(blob(manifest["config"]))
    layer = blob(manifest["layers"][0])
    raw = gzip.decompress(layer)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(raw).hexdigest()], "diff_id"
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        names = set(tar.getnames())
    return index, config, names


def test_image_and_health(build_dir, work, r):
    service = "tenancy"
    stage = os.path.join(work, "stage")
    bi.stage_service(build_dir, service, "/", stage)
    out = os.path.join(work, "oci")
    bi.write_oci(stage, service, "test", out)
    try:
        index, config, names = read_layout(out)
        r.check(True, "OCI layout: index, manifest, config and layer digests and sizes check out")
    except (AssertionError, OSError, KeyError, ValueError) as e:
        r.check(False, f"OCI layout: {e}")
        return
    r.check(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "dialgrid/tenancy:test",
            "OCI index names dialgrid/tenancy:test")
    r.check(config["config"]["User"] == "10001:10001" and
            config["config"]["Entrypoint"] == ["/usr/bin/dialgrid-tenancy"],
            "image config: user 10001:10001, entrypoint the binary")
    r.check("usr/bin/dialgrid-tenancy" in names and "etc/passwd" in names, "layer holds the binary and passwd")
    r.check(not any(n in names for n in FORBIDDEN), "layer holds no shell or package manager")
    r.check(bi.smoke_run(stage, service).startswith("dialgrid-tenancy"), "--version runs inside the image tree alone")

    # The service for real, in its tree, against a redis-server on loopback.
    if shutil.which("redis-server") is None:
        r.check(False, "redis-server is installed (tools/setup.sh installs it)")
        return
    rport, gport, aport = free_port(), free_port(), free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
    tenancy_bin = bi.binary_path(build_dir, service)
    secrets = {}
    for kind in ("admin", "service"):
        secret = subprocess.run([tenancy_bin, "--print_new_secret"], capture_output=True, text=True,
                                check=True).stdout.strip()
        path = os.path.join(stage, "tmp", f"{kind}.secret")
        with open(path, "w") as f:
            f.write(secret + "\n")
        os.chown(path, bi.UID, bi.GID)
        os.chmod(path, 0o400)
        secrets[kind] = "/tmp/" + f"{kind}.secret"
    log = open(os.path.join(work, "tenancy.log"), "wb")
    proc = subprocess.Popen(["chroot", "--userspec", f"{bi.UID}:{bi.GID}", stage, "/usr/bin/dialgrid-tenancy",
                             f"--listen=127.0.0.1:{gport}", f"--admin_listen=127.0.0.1:{aport}",
                             f"--redis=127.0.0.1:{rport}", "--kafka=127.0.0.1:1",
                             f"--bootstrap_admin_secret_file={secrets['admin']}",
                             f"--bootstrap_service_secret_file={secrets['service']}"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        got = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            got = {s: health(f"127.0.0.1:{gport}", s) for s in ("liveness", "")}
            if all(v == "SERVING" for v in got.values()):
                break
            time.sleep(0.2)
        r.check(got.get("liveness") == "SERVING", f"gRPC health 'liveness' from the image tree: {got.get('liveness')}")
        r.check(got.get("") == "SERVING", f"gRPC health '' (readiness, Redis answers): {got.get('')}")
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        r.check(code == 0, f"SIGTERM: drained and exited {code}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        redis.terminate()
        redis.wait()
        log.close()
        if r.failed:
            with open(os.path.join(work, "tenancy.log"), "rb") as f:
                print(f.read()[-3000:].decode(errors="replace"))


def http_status(url):
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def test_wallboard_and_tools(build_dir, work, r):
    """The wallboard's image: its config exposes the page port (8080) and the
    admin port with the listen addresses in its environment, and its tree,
    alone, serves the page and /healthz as uid 10001 (no Redis, no Kafka, no
    credential of its own), exiting 0 on SIGTERM. The tools' images
    (dialgridctl, registry-build): no port, and --version in their trees."""
    stage = os.path.join(work, "stage-wallboard")
    bi.stage_service(build_dir, "wallboard", "/", stage)
    out = os.path.join(work, "oci-wallboard")
    bi.write_oci(stage, "wallboard", "test", out)
    _, config, names = read_layout(out)
    cfg = config["config"]
    r.check(set(cfg["ExposedPorts"]) == {"8080/tcp", "9464/tcp"} and "DIALGRID_LISTEN=0.0.0.0:8080" in cfg["Env"],
            f"wallboard image: exposes 8080 and 9464, listens on 8080 ({cfg['ExposedPorts']}, {cfg['Env']})")
    r.check("usr/bin/dialgrid-wallboard" in names and not any(n in names for n in FORBIDDEN),
            "wallboard layer: the binary, no shell or package manager")
    hport, aport = free_port(), free_port()
    log = open(os.path.join(work, "wallboard.log"), "wb")
    proc = subprocess.Popen(["chroot", "--userspec", f"{bi.UID}:{bi.GID}", stage, "/usr/bin/dialgrid-wallboard",
                             f"--listen=127.0.0.1:{hport}", f"--admin_listen=127.0.0.1:{aport}",
                             "--tenancy_address=127.0.0.1:1", "--agent_state_address=127.0.0.1:1",
                             "--dialing_address=127.0.0.1:1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        got = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            got = {"healthz": http_status(f"http://127.0.0.1:{aport}/healthz"),
                   "page": http_status(f"http://127.0.0.1:{hport}/")}
            if got["healthz"] == 200 and got["page"] == 200:
                break
            time.sleep(0.2)
        r.check(got.get("healthz") == 200 and got.get("page") == 200,
                f"wallboard from its image tree: /healthz and the page answer 200 ({got})")
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        r.check(code == 0, f"wallboard: SIGTERM exits {code}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    for tool in bi.TOOLS:
        stage = os.path.join(work, f"stage-{tool}")
        bi.stage_service(build_dir, tool, "/", stage)
        out = os.path.join(work, f"oci-{tool}")
        bi.write_oci(stage, tool, "test", out)
        _, config, _ = read_layout(out)
        cfg = config["config"]
        r.check(cfg["Entrypoint"] == [f"/usr/bin/{bi.binary_name(tool)}"] and not cfg["ExposedPorts"]
                and cfg["User"] == "10001:10001", f"{tool} image: entrypoint the tool, no port, user 10001")
        line = bi.smoke_run(stage, tool)
        r.check(line.startswith(bi.binary_name(tool)), f"{tool}: --version inside its tree alone: {line!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    args = ap.parse_args()
    r = Results()
    if os.geteuid() != 0:
        print("FAIL  needs root (chroot into the image tree)")
        print("0 passed, 1 failed")
        return 1
    work = tempfile.mkdtemp(prefix="dialgrid-image-test-")
    try:
        test_content(args.build_dir, r)
        test_stunnel_content(args.build_dir, r)
        test_stunnel_image(args.build_dir, work, r)
        test_image_and_health(args.build_dir, work, r)
        test_wallboard_and_tools(args.build_dir, work, r)
    except (bi.Failure, subprocess.CalledProcessError) as e:
        r.check(False, str(e))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
