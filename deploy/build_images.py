#!/usr/bin/env python3
"""Builds one OCI image per Dialgrid service from Debian 12 packages, with no
Docker engine and no registry.

Each service image holds only: the service binary (/usr/bin/dialgrid-<name>), the
shared libraries it loads (its ldd closure, the dynamic loader included),
the data it reads (/usr/share/dialgrid: geo tables for contacts and
compliance, statutory rule tables for compliance), tzdata's zoneinfo, the CA
roots (peer TLS with the system's roots), and /etc/passwd and /etc/group
naming the user it runs as (dialgrid, uid/gid 10001). No shell, no package
manager. Health: the services serve grpc.health.v1 themselves (services
"liveness" and ""), which Kubernetes' native gRPC probes ask; no probe binary
is needed in the image.

One more image, `stunnel`, is the chart's Redis TLS sidecar (redis.tls): Debian
12's stunnel4 (/usr/bin/stunnel4) with its libraries, the CA roots and the same
passwd/group, built the same way from the same base; the chart starts it with
its own configuration file (a ConfigMap), so the image needs nothing else.

Steps (`build`):
  1. closure: ldd of each binary -> library files -> the Debian packages that
     own them (dpkg -S on this Debian 12 machine). A library no package owns
     is an error: the image must be made from Debian's packages alone.
  2. base root filesystem: `mmdebstrap --variant=extract bookworm` with those
     packages plus tzdata and ca-certificates (nothing configured, no
     maintainer script runs). With --host-rootfs the files come from this
     machine instead (same Debian 12 packages, offline; what the test uses).
  3. staging: per service, only the files above are copied from the base
     into an empty tree, symlinks kept, /lib64 made.
  4. smoke run: `chroot <stage> /usr/bin/dialgrid-<name> --version` proves the
     tree is self-sufficient (needs root).
  5. image: an OCI image layout (deploy/out/<service>/, index.json, one
     layer, config with user 10001:10001, entrypoint, exposed ports 50051 and
     9464), written by this script with tarfile and sha256: `podman load` /
     `skopeo copy oci:deploy/out/<service> docker://<registry>/...` take it.
     Pushing needs a registry, which this machine cannot reach.

Usage:
  build_images.py list --build-dir build                 the rootfs content per service
  build_images.py build --build-dir build --out deploy/out [--services a,b,stunnel] [--host-rootfs]
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICES = ["tenancy", "contacts", "compliance", "agent-state", "dialing", "recording", "reporting",
            "wallboard"]
# Images of programs Debian packages (not built here): image -> the program,
# taken from the base root filesystem like the libraries, and its package.
# "dlopen": libraries loaded at run time, which ldd does not list (glibc
# loads libgcc_s for thread exit and cancellation; the services get it
# through libstdc++).
SIDECARS = {"stunnel": {"binary": "/usr/bin/stunnel4", "package": "stunnel4", "version_arg": "-version",
                        "dlopen": ["/lib/x86_64-linux-gnu/libgcc_s.so.1"],
                        "title": "dialgrid-stunnel (Redis TLS sidecar)"}}
# Command-line tools built here (no listener): image -> the binary in build/.
TOOLS = {"dialgridctl": "tools/dialgridctl/dialgridctl",
         "registry-build": "services/compliance/dialgrid-registry-build"}
IMAGES = SERVICES + list(TOOLS) + list(SIDECARS)
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"
UID = GID = 10001
GRPC_PORT, ADMIN_PORT = 50051, 9464
# The public port of each image (the chart's grpcPort, or httpPort for the
# wallboard's page).
API_PORT = {"wallboard": 8080}
# Data each service reads, source dir -> path in the image (the chart's flags
# point at these: --zone_data_dir, --statutory_rules_dir, --calling_hours).
# "@/..." is in the build directory: the geo tables are gathered there with the
# phone-number zone table generated at build time (services/common/geo).
DATA = {
    "contacts": {"@/data/geo": "usr/share/dialgrid/geo"},
    "compliance": {"@/data/geo": "usr/share/dialgrid/geo",
                   "services/compliance/data": "usr/share/dialgrid/compliance"},
    # The simulated carrier's scenarios (the pacing simulator's public suite).
    "dialing": {"tools/simulator/scenarios/public": "usr/share/dialgrid/scenarios"},
}
# Packages every image takes besides the libraries: zone data (absl time
# zones, --zone_tab) and CA roots.
EXTRA_PACKAGES = ["tzdata", "ca-certificates"]
EXTRA_TREES = ["usr/share/zoneinfo", "etc/ssl/certs", "usr/share/ca-certificates"]


class Failure(Exception):
    pass


def binary_name(service):
    if service in SIDECARS:
        return os.path.basename(SIDECARS[service]["binary"])
    if service in TOOLS:
        return os.path.basename(TOOLS[service])
    return "dialgrid-" + service.replace("-", "")


def binary_path(build_dir, service):
    if service in SIDECARS:
        p = SIDECARS[service]["binary"]
        if not os.access(p, os.X_OK):
            raise Failure(f"{p} is not installed (apt-get install {SIDECARS[service]['package']}; "
                          "tools/setup.sh does)")
        return p
    p = os.path.join(build_dir, TOOLS[service]) if service in TOOLS else \
        os.path.join(build_dir, "services", service, binary_name(service))
    if not os.access(p, os.X_OK):
        raise Failure(f"{p} is not built")
    return p


def ldd_closure(binary):
    """The absolute paths of every shared object the binary loads, the loader included."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure(f"ldd {binary}: {r.stderr.strip()}")
    libs = []
    for line in r.stdout.splitlines():
        line = line.strip()
        if "not found" in line:
            raise Failure(f"{binary}: {line}")
        if "=>" in line:
            path = line.split("=>", 1)[1].split("(")[0].strip()
        else:
            path = line.split("(")[0].strip()
        if path.startswith("/"):
            libs.append(path)
        elif not path.startswith("linux-vdso"):
            raise Failure(f"{binary}: unexpected ldd line {line!r}")
    return sorted(set(libs))


def owning_packages(paths):
    """{path: the Debian package that ships it}, trying the merged-/usr
    spellings; one dpkg -S call for all of them."""
    candidates = {}
    for path in paths:
        real = os.path.realpath(path)
        cands = [path, real]
        for p in list(cands):
            if p.startswith("/usr/lib/"):
                cands.append(p[len("/usr"):])
            elif p.startswith("/lib/") or p.startswith("/lib64/"):
                cands.append("/usr" + p)
        candidates[path] = cands
    every = sorted({c for cands in candidates.values() for c in cands})
    r = subprocess.run(["dpkg", "-S", *every], capture_output=True, text=True)
    owner = {}
    for line in r.stdout.splitlines():
        pkgs, _, file = line.partition(": ")
        if "," not in pkgs and not pkgs.startswith("diversion"):
            owner[file.strip()] = pkgs.split(":")[0].strip()
    out = {}
    for path, cands in candidates.items():
        found = [owner[c] for c in cands if c in owner]
        if not found:
            raise Failure(f"{path} belongs to no Debian package")
        out[path] = found[0]
    return out


_closures = {}


def closure(build_dir, service):
    key = (build_dir, service)
    if key not in _closures:
        binary = binary_path(build_dir, service)
        files = ldd_closure(binary)
        if service in SIDECARS:  # the program itself comes from its Debian package
            files += [binary] + SIDECARS[service].get("dlopen", [])
        _closures[key] = (binary, owning_packages(files))
    return _closures[key]


def data_source(build_dir, src):
    """Where a DATA source is: the source tree, or the build directory ("@/...")."""
    return os.path.join(build_dir, src[2:]) if src.startswith("@/") else os.path.join(ROOT, src)


def content_list(build_dir, service):
    """What the image of `service` holds, as paths inside the image."""
    binary, libs = closure(build_dir, service)
    paths = [] if service in SIDECARS else [f"usr/bin/{binary_name(service)}"]
    paths += [merged(lib.lstrip("/")) for lib in libs]
    for src, dst in DATA.get(service, {}).items():
        for dirpath, _, files in os.walk(data_source(build_dir, src)):
            for f in files:
                rel = os.path.relpath(os.path.join(dirpath, f), data_source(build_dir, src))
                paths.append(os.path.join(dst, rel))
    paths += EXTRA_TREES + ["etc/passwd", "etc/group", "tmp"]
    return sorted(paths), sorted(set(libs.values()))


def mmdebstrap_base(packages, dest):
    if shutil.which("mmdebstrap") is None:
        raise Failure("mmdebstrap is not installed (apt-get install mmdebstrap)")
    cmd = ["mmdebstrap", "--variant=extract", "--mode=root", "--quiet",
           "--include=" + ",".join(sorted(packages)),
           "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
           "--dpkgopt=path-exclude=/usr/share/locale/*", "bookworm", dest]
    subprocess.run(cmd, check=True)


def merged(rel):
    """The merged-/usr spelling of a path (lib/... -> usr/lib/...): the images
    are merged-/usr, with lib and lib64 links into usr."""
    for top in ("lib/", "lib64/", "bin/", "sbin/"):
        if rel.startswith(top):
            return "usr/" + rel
    return rel


def in_base(base, rel):
    """base/rel, or its other /usr spelling: an unpacked (extract) base keeps
    each package's own paths, some under /lib, some under /usr/lib."""
    m = merged(rel)
    for cand in (rel, m, m[len("usr/"):] if m.startswith("usr/") else m):
        if os.path.lexists(os.path.join(base, cand)):
            return os.path.join(base, cand)
    raise Failure(f"{rel} is not in the base root filesystem {base}")


def copy_into(base, stage, rel):
    """Copies base/rel to stage/merged(rel), keeping symlinks and copying
    their targets too."""
    dst = os.path.join(stage, merged(rel))
    if os.path.lexists(dst):
        return
    src = in_base(base, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.islink(src):
        link = os.readlink(src)
        os.symlink(link, dst)
        target = link.lstrip("/") if link.startswith("/") else \
            os.path.normpath(os.path.join(os.path.dirname(merged(rel)), link))
        try:
            copy_into(base, stage, target)
        except Failure:
            pass  # dangling in the base too (zoneinfo/localtime -> /etc/localtime); --version catches a missing library
    elif os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)  # first: a link inside may point back here
        for name in sorted(os.listdir(src)):
            copy_into(base, stage, os.path.join(merged(rel), name))
    else:
        shutil.copy2(src, dst)


def stage_service(build_dir, service, base, stage):
    binary, libs = closure(build_dir, service)
    os.makedirs(stage)
    for top in ("lib", "lib64"):  # merged /usr, as Debian 12's own root filesystems
        os.makedirs(os.path.join(stage, "usr", top))
        os.symlink(f"usr/{top}", os.path.join(stage, top))
    for lib in libs:
        copy_into(base, stage, lib.lstrip("/"))
    for tree in EXTRA_TREES:
        copy_into(base, stage, tree)
    write_ca_bundle(stage)
    os.makedirs(os.path.join(stage, "usr/bin"), exist_ok=True)
    if service not in SIDECARS:  # a sidecar's program came with its libraries, from the base
        shutil.copy2(binary, os.path.join(stage, "usr/bin", binary_name(service)))
    for src, dst in DATA.get(service, {}).items():
        shutil.copytree(data_source(build_dir, src), os.path.join(stage, dst))
    os.makedirs(os.path.join(stage, "etc"), exist_ok=True)
    with open(os.path.join(stage, "etc/passwd"), "w") as f:
        f.write(f"root:x:0:0:root:/root:/usr/sbin/nologin\ndialgrid:x:{UID}:{GID}:dialgrid:/nonexistent:/usr/sbin/nologin\n")
    with open(os.path.join(stage, "etc/group"), "w") as f:
        f.write(f"root:x:0:\ndialgrid:x:{GID}:\n")
    os.makedirs(os.path.join(stage, "tmp"), exist_ok=True)
    os.chmod(os.path.join(stage, "tmp"), 0o1777)


def write_ca_bundle(stage):
    """/etc/ssl/certs/ca-certificates.crt, which the chart's Redis TLS sidecar
    (and any TLS client using the system's roots) reads. update-ca-certificates
    writes it in a maintainer script, which an extract base never runs: made
    here from the certificates the package ships, as that script does."""
    dst = os.path.join(stage, CA_BUNDLE)
    if os.path.exists(dst):
        return
    src = os.path.join(stage, "usr/share/ca-certificates")
    pems = []
    for dirpath, dirnames, files in os.walk(src):
        dirnames.sort()
        pems += [os.path.join(dirpath, f) for f in sorted(files) if f.endswith(".crt")]
    if not pems:
        raise Failure(f"no CA certificates under {src}")
    if os.path.lexists(dst):
        os.unlink(dst)  # a dangling link into /etc/ssl/certs of the builder
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w") as out:
        for p in pems:
            text = open(p).read()
            out.write(text if text.endswith("\n") else text + "\n")


def version_argv(service):
    return [f"/usr/bin/{binary_name(service)}", SIDECARS.get(service, {}).get("version_arg", "--version")]


def version_ok(service, r):
    """The version line of a --version run, or None."""
    if r.returncode != 0:
        return None
    text = r.stdout if service not in SIDECARS else r.stdout + r.stderr
    want = binary_name(service) if service not in SIDECARS else service
    lines = [l for l in text.splitlines() if want in l]
    return lines[0] if lines else None


class chroot_dev:
    """/dev/null inside a staged tree while a chroot runs in it (stunnel opens
    it at start; a container runtime provides /dev, a bare chroot does not).
    Removed afterwards: the image itself holds no device node."""

    def __init__(self, stage):
        self.dev = os.path.join(stage, "dev")
        self.made_dir = False

    def __enter__(self):
        if not os.path.isdir(self.dev):
            os.makedirs(self.dev)
            self.made_dir = True
        null = os.path.join(self.dev, "null")
        if not os.path.exists(null):
            os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            os.chmod(null, 0o666)
        return self

    def __exit__(self, *exc):
        null = os.path.join(self.dev, "null")
        if os.path.exists(null):
            os.unlink(null)
        if self.made_dir:
            os.rmdir(self.dev)


def smoke_run(stage, service):
    """Runs the staged binary inside the staged tree alone (chroot)."""
    if os.geteuid() != 0:
        raise Failure("the smoke run needs root (chroot)")
    with chroot_dev(stage):
        r = subprocess.run(["chroot", "--userspec", f"{UID}:{GID}", stage, *version_argv(service)],
                           capture_output=True, text=True, timeout=30)
    line = version_ok(service, r)
    if line is None:
        raise Failure(f"{service}: --version inside its image tree failed ({r.returncode}): {r.stdout}{r.stderr}")
    return line


def write_oci(stage, service, version, out_dir):
    """An OCI image layout with one gzip layer, deterministic (mtime 0, sorted)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(stage):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                full = os.path.join(dirpath, name)
                info = tar.gettarinfo(full, arcname=os.path.relpath(full, stage))
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isfile():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(raw.getvalue())
    blobs = os.path.join(out_dir, "blobs/sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    layer = put(gz.getvalue())
    sidecar = service in SIDECARS
    # The sidecar listens on the pod's loopback only and a tool listens on
    # nothing: no port exposed.
    listens = service in SERVICES
    api_port = API_PORT.get(service, GRPC_PORT)
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {
            "User": f"{UID}:{GID}",
            "Entrypoint": [f"/usr/bin/{binary_name(service)}"],
            "Env": ["PATH=/usr/bin", f"DIALGRID_LISTEN=0.0.0.0:{api_port}",
                    f"DIALGRID_ADMIN_LISTEN=0.0.0.0:{ADMIN_PORT}"] if listens else ["PATH=/usr/bin"],
            "ExposedPorts": {f"{api_port}/tcp": {}, f"{ADMIN_PORT}/tcp": {}} if listens else {},
            "WorkingDir": "/",
            "Labels": {"org.opencontainers.image.title":
                       SIDECARS[service]["title"] if sidecar else binary_name(service) if service in TOOLS
                       else f"dialgrid-{service}",
                       "org.opencontainers.image.version": version,
                       "org.opencontainers.image.base.name": "debian:bookworm (packages, via mmdebstrap)"},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "deploy/build_images.py"}],
    }
    cfg = put(json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}
    man = put(json.dumps(manifest, sort_keys=True).encode())
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **man,
                            "annotations": {"org.opencontainers.image.ref.name": f"dialgrid/{service}:{version}"}}]}
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump(index, f, sort_keys=True)
    with open(os.path.join(out_dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return man["digest"], layer["size"]


def buildah_run(layout, service):
    """Loads the OCI layout into buildah and runs --version in a container of
    it (chroot isolation: no OCI runtime or daemon needed)."""
    if shutil.which("buildah") is None:
        raise Failure("buildah is not installed (apt-get install buildah)")
    b = ["buildah", "--storage-driver", "vfs"]
    image = subprocess.run(b + ["pull", "-q", "oci:" + os.path.abspath(layout)], capture_output=True,
                           text=True, check=True).stdout.strip().splitlines()[-1]
    ctr = subprocess.run(b + ["from", image], capture_output=True, text=True, check=True).stdout.strip()
    try:
        r = subprocess.run(b + ["run", "--isolation", "chroot", "--user", f"{UID}:{GID}", ctr, "--",
                                *version_argv(service)],
                           capture_output=True, text=True, timeout=60)
        line = version_ok(service, r)
        if line is None:
            raise Failure(f"buildah run {service}: {r.returncode} {r.stdout}{r.stderr}")
        return line
    finally:
        subprocess.run(b + ["rm", ctr], capture_output=True)
        subprocess.run(b + ["rmi", image], capture_output=True)


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        for line in f:
            if "project(dialgrid" in line and "VERSION" in line:
                return line.split("VERSION")[1].split(")")[0].strip()
    return "0.0.0"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["list", "build"])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "deploy/out"))
    ap.add_argument("--services", default=",".join(IMAGES),
                    help=f"images to build (default all: {','.join(IMAGES)})")
    ap.add_argument("--host-rootfs", action="store_true",
                    help="take the Debian packages' files from this Debian 12 machine instead of mmdebstrap")
    ap.add_argument("--work-dir", help="keep the base and staged trees here")
    ap.add_argument("--buildah", action="store_true",
                    help="also load each image into buildah (vfs storage) and run --version in it")
    args = ap.parse_args()
    services = [s for s in args.services.split(",") if s]
    unknown = [s for s in services if s not in IMAGES]
    if unknown:
        ap.error(f"unknown image(s) {', '.join(unknown)}; known: {', '.join(IMAGES)}")
    try:
        if args.command == "list":
            for s in services:
                paths, packages = content_list(args.build_dir, s)
                print(f"# {s}: Debian packages {' '.join(packages)}")
                for p in paths:
                    print(f"{s}\t{p}")
            return 0
        work = args.work_dir or tempfile.mkdtemp(prefix="dialgrid-images-")
        os.makedirs(work, exist_ok=True)
        packages = set(EXTRA_PACKAGES)
        for s in services:
            packages |= set(closure(args.build_dir, s)[1].values())
        if args.host_rootfs:
            base = "/"
            missing = [p for p in sorted(packages) if subprocess.run(
                ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout != "install ok installed"]
            if missing:
                raise Failure(f"not installed on this machine: {' '.join(missing)}")
        else:
            base = os.path.join(work, "base")
            shutil.rmtree(base, ignore_errors=True)
            t = time.monotonic()
            mmdebstrap_base(packages, base)
            print(f"base: mmdebstrap bookworm with {len(packages)} packages in {time.monotonic() - t:.0f}s")
        version = project_version()
        for s in services:
            stage = os.path.join(work, "stage", s)
            shutil.rmtree(stage, ignore_errors=True)
            stage_service(args.build_dir, s, base, stage)
            first = smoke_run(stage, s)
            out = os.path.join(args.out, s)
            shutil.rmtree(out, ignore_errors=True)
            digest, size = write_oci(stage, s, version, out)
            print(f"ok  {s}: {first!r} runs in its own tree; OCI image dialgrid/{s}:{version} "
                  f"{digest[:19]} layer {size / 1e6:.1f} MB in {os.path.relpath(out)}")
            if args.buildah:
                print(f"ok  {s}: buildah ran it: {buildah_run(out, s)!r}")
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
        print("Not done here: pushing (no registry is reachable) and running the images under a "
              "container runtime (no Docker engine; see deploy/README.md).")
        return 0
    except (Failure, subprocess.CalledProcessError) as e:
        print(f"FAIL {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
