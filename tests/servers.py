"""Throwaway servers the suite starts itself: PostgreSQL, Redis, an SMTP sink and Celery workers.

Each listens on a free loopback port and is stopped (or killed, by pid) by the tests; the machine's
shared services are never touched.
"""

from __future__ import annotations

import asyncio
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
                       timeout: float) -> subprocess.Popen[bytes]:
    """Start `cmd` in a session of its own, logging to `log_path`, and wait until `marker` appears in its log."""
    log = log_path.open("ab")
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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

    def __init__(self, env: dict[str, str], log_dir: Path, *, beat: bool = False, concurrency: int = 2) -> None:
        self.env = env
        self.log_path = log_dir / f"worker-{free_port()}.log"
        self.beat = beat
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        cmd = [sys.executable, "-m", "celery", "-A", "wsgi:celery_app", "worker", "--loglevel", "INFO",
               "--concurrency", str(self.concurrency), "--without-gossip", "--without-mingle",
               "--without-heartbeat", "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]
        if self.beat:
            cmd += ["--beat", "--schedule", str(self.log_path.with_suffix(".beat"))]
        self.process = launch_until_ready(cmd, self.env, self.log_path, " ready.", "celery worker", timeout)

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
