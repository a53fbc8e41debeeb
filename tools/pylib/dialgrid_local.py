"""Starts the Dialgrid platform on one machine: a redis-server, the
Kafka-protocol broker (tools/broker) and every service as its own process.

Used by tools/run.sh (the README's "start the platform" command) and by the
end-to-end tests, which drive it as a foreign client would.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DIALGRID_BUILD_DIR", os.path.join(ROOT, "build"))

# Topics every service publishes on; the local broker creates them up front
# (in production the Helm chart's topic job does).
TOPICS = ["tenancy:3", "contacts:6", "compliance:6", "compliance-registries:1", "compliance-changes:3", "dialing:6",
          "agents:6", "recordings:3", "calls:6"]

# Services that exist so far, in start order.
SERVICES = ["tenancy", "contacts", "compliance", "agent-state", "dialing", "recording",
            "reporting"]

# Tenants the local platform keeps recording keys for (their KEK files, as
# an operator mounts them from a secret; services/recording/README.md).
RECORDING_TENANTS = ["acme-insurance", "globex-energy"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def read_kv_file(path):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    if not text.endswith("\n"):
        return None
    return dict(line.split("=", 1) for line in text.split() if "=" in line)


class Platform:
    """The processes of a local platform, stopped in reverse order."""

    def __init__(self, run_dir=None, quiet=True):
        self.run_dir = run_dir or tempfile.mkdtemp(prefix="dialgrid-")
        os.makedirs(self.run_dir, exist_ok=True)
        self.quiet = quiet
        self.procs = []  # (name, Popen)
        self.redis_address = None
        self.kafka = None
        self.endpoints = {}  # service -> {"grpc": host:port, "admin": host:port}
        self.admin_secret = None
        self.service_secret = None

    def log_path(self, name):
        return os.path.join(self.run_dir, f"{name}.log")

    def spawn(self, name, argv, env=None):
        log = open(self.log_path(name), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def check_alive(self, name, proc):
        if proc.poll() is not None:
            with open(self.log_path(name), "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    def start_redis(self):
        port = free_port()
        data = os.path.join(self.run_dir, "redis")
        os.makedirs(data, exist_ok=True)
        # AOF fsync on every write: an acknowledged change survives a crash. Small
        # hashes stay in listpack form up to 1 KiB values (contact records,
        # docs/performance.md).
        proc = self.spawn("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                    "--dir", data, "--save", "",
                                    "--appendonly", os.environ.get("DIALGRID_REDIS_APPENDONLY", "yes"),
                                    "--appendfsync", os.environ.get("DIALGRID_REDIS_APPENDFSYNC", "always"),
                                    "--hash-max-listpack-value", "1024",
                                    "--daemonize", "no"])
        def pong():
            self.check_alive("redis", proc)
            r = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
            return r.stdout.strip() == "PONG"
        wait_for(pong, 10, "redis-server")
        self.redis_address = f"127.0.0.1:{port}"

    def start_broker(self):
        address_file = os.path.join(self.run_dir, "kafka.address")
        if os.path.exists(address_file):  # from an earlier run in this directory
            os.remove(address_file)
        proc = self.spawn("broker", [os.path.join(BUILD, "tools/broker/dialgrid-broker"),
                                     "--topics=" + ",".join(TOPICS),
                                     "--address_file=" + address_file])
        def address():
            self.check_alive("broker", proc)
            if os.path.exists(address_file):
                return open(address_file).read().strip()
            return None
        self.kafka = wait_for(address, 15, "the Kafka-protocol broker")

    def make_secrets(self):
        tenancy_bin = os.path.join(BUILD, "services/tenancy/dialgrid-tenancy")
        secrets = {}
        for kind in ("admin", "service"):
            path = os.path.join(self.run_dir, f"{kind}.secret")
            if not os.path.exists(path):
                out = subprocess.run([tenancy_bin, "--print_new_secret"], check=True,
                                     capture_output=True, text=True).stdout.strip()
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(out + "\n")
            secrets[kind] = open(path).read().strip()
        self.admin_secret = secrets["admin"]
        self.service_secret = secrets["service"]

    def start_service(self, name, extra_args=()):
        port_file = os.path.join(self.run_dir, f"{name}.ports")
        if os.path.exists(port_file):
            os.remove(port_file)
        binary = os.path.join(BUILD, f"services/{name}/dialgrid-{name.replace('-', '')}")
        args = [binary, "--redis=" + self.redis_address, "--kafka=" + self.kafka,
                "--port_file=" + port_file]
        if name == "tenancy":
            args += ["--bootstrap_admin_secret_file=" + os.path.join(self.run_dir, "admin.secret"),
                     "--bootstrap_service_secret_file=" + os.path.join(self.run_dir, "service.secret")]
        else:
            args += ["--tenancy=" + self.endpoints["tenancy"]["grpc"],
                     "--service_secret_file=" + os.path.join(self.run_dir, "service.secret")]
        if name == "compliance":
            args += ["--registries=us-national:dnc:" + self.sample_registry()]
        if name == "dialing":
            # The call path: every dial checked by compliance, agents from
            # agent state, calls on the simulated carrier (short calls).
            args += ["--contacts=" + self.endpoints["contacts"]["grpc"],
                     "--compliance=" + self.endpoints["compliance"]["grpc"],
                     "--agent_state=" + self.endpoints["agent-state"]["grpc"],
                     "--carrier_scenario=" + os.path.join(
                         ROOT, "tools/simulator/scenarios/demo-short-calls.json"),
                     # Callers of the demo's blended campaign, one every 15 s.
                     "--carrier_inbound=" + self.INBOUND_NUMBER + ":240",
                     "--tick_ms=200"]
        if name == "recording":
            args += ["--recordings_dir=" + os.path.join(self.run_dir, "recordings"),
                     "--kek_dir=" + self.recording_keys()]
        proc = self.spawn(name, args + list(extra_args))
        def ports():
            self.check_alive(name, proc)
            return read_kv_file(port_file)
        self.endpoints[name] = wait_for(ports, 20, f"the {name} service")
        return proc

    def recording_keys(self):
        """One key-encryption key per tenant ("<tenant>.<key id>.key", 64 hex
        digits, mode 0600), made once per run directory."""
        keys = os.path.join(self.run_dir, "keks")
        os.makedirs(keys, mode=0o700, exist_ok=True)
        os.makedirs(os.path.join(self.run_dir, "recordings"), mode=0o700, exist_ok=True)
        for tenant in RECORDING_TENANTS:
            path = os.path.join(keys, f"{tenant}.2026-01.key")
            if not os.path.exists(path):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(os.urandom(32).hex() + "\n")
        return keys

    # A listed number the demo and tests can rely on, in the sample registry.
    SAMPLE_REGISTRY_NUMBER = "+13125550147"

    def sample_registry(self):
        """A sample national do-not-call registry (100,000 generated NANP
        numbers plus SAMPLE_REGISTRY_NUMBER), written as the registry's
        download file and indexed with dialgrid-registry-build, as an operator
        would for the real one."""
        index = os.path.join(self.run_dir, "us-national-sample.dncidx")
        as_of = time.strftime("%Y-%m-%d", time.gmtime())  # a download of today
        manifest = index + ".manifest"
        if os.path.exists(manifest) and ("as_of=" + as_of) in open(manifest).read():
            return index
        import random
        rng = random.Random(2026)
        text = os.path.join(self.run_dir, "us-national-sample.txt")
        with open(text, "w") as f:
            f.write(self.SAMPLE_REGISTRY_NUMBER[2:] + "\n")
            for _ in range(100_000):
                f.write(f"{rng.randint(200, 999)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}\n")
        subprocess.run([os.path.join(BUILD, "services/compliance/dialgrid-registry-build"),
                        "--input=" + text, "--output=" + index, "--as_of=" + as_of],
                       check=True, capture_output=True)
        return index

    # The demo's blended campaign's inbound number (Ofcom's drama range).
    INBOUND_NUMBER = "+442079460950"

    def start_media_simulator(self):
        """A simulated media server: streams audio of every connected call to
        the recording service (a real deployment's media server does this)."""
        self.spawn("media-sim", [
            os.path.join(BUILD, "services/recording/tools/dialgrid-media-server-simulator"),
            "--kafka=" + self.kafka, "--target=" + self.endpoints["recording"]["grpc"],
            "--credential_file=" + os.path.join(self.run_dir, "service.secret")])

    def start_wallboard(self):
        """The supervisors' web page (HTTP, no Redis or Kafka: every board
        is read from the services with the viewer's own credential)."""
        port_file = os.path.join(self.run_dir, "wallboard.ports")
        if os.path.exists(port_file):
            os.remove(port_file)
        proc = self.spawn("wallboard", [
            os.path.join(BUILD, "services/wallboard/dialgrid-wallboard"),
            "--port_file=" + port_file,
            "--tenancy_address=" + self.endpoints["tenancy"]["grpc"],
            "--agent_state_address=" + self.endpoints["agent-state"]["grpc"],
            "--dialing_address=" + self.endpoints["dialing"]["grpc"],
            "--reporting_address=" + self.endpoints["reporting"]["grpc"]])
        def ports():
            self.check_alive("wallboard", proc)
            return read_kv_file(port_file)
        self.endpoints["wallboard"] = wait_for(ports, 20, "the wallboard")
        return proc

    def up(self, wallboard=True):
        self.start_redis()
        self.start_broker()
        self.make_secrets()
        for name in SERVICES:
            self.start_service(name)
        if "recording" in self.endpoints:
            self.start_media_simulator()
        if wallboard:
            self.start_wallboard()
        return self

    def stop(self):
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs.clear()

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.stop()
