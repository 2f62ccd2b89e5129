"""`flask dev`: the mail sink, web server, Celery worker and beat together; Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from fellowship.devtools.mailsink import start_mail_sink


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_all(*, port: int, redis_url: str, mail_port: int, mail_dir: Path, instance_dir: Path,
            logins: list[tuple[str, str, str]]) -> int:
    env = dict(os.environ, FELLOWSHIP_CONFIG="development", REDIS_URL=redis_url, MAIL_SERVER="127.0.0.1",
               MAIL_PORT=str(mail_port), MAIL_SINK_DIR=str(mail_dir), PUBLIC_URL=f"http://127.0.0.1:{port}")
    # Ctrl-C and a plain `kill` both stop everything, also when started without job control.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    sink = start_mail_sink(mail_dir, port=mail_port)
    python = sys.executable
    commands: dict[str, list[str]] = {
        "web": [python, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port)],
    }
    if redis_reachable(redis_url):
        commands["worker"] = [python, "-m", "celery", "-A", "wsgi:celery_app", "worker", "--loglevel", "INFO",
                              "--concurrency", "2"]
        commands["beat"] = [python, "-m", "celery", "-A", "wsgi:celery_app", "beat", "--loglevel", "INFO",
                            "--schedule", str(instance_dir / "celerybeat-schedule")]
        tasks_note = f"Celery worker and beat on {redis_url}"
    else:
        env["TASKS_IN_PROCESS"] = "1"
        tasks_note = (f"Redis is not reachable at {redis_url}: no worker or beat started; emails and tasks "
                      "run inside the web process instead. Start Redis and run `make run` again for the "
                      "real set-up.")
    processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}  # noqa: S603
    time.sleep(1.5)
    print(f"""
  Fellowship is running:  http://127.0.0.1:{port}
  Emails it sends:        http://127.0.0.1:{port}/dev/mail   (local SMTP sink on 127.0.0.1:{mail_port})
  Tasks:                  {tasks_note}

  Demo logins (password for all: {logins[0][2] if logins else '-'}):""", flush=True)
    for role, email, _password in logins:
        print(f"    {role:<10} {email}")
    print("\n  Ctrl-C stops everything.\n", flush=True)
    code = 0
    try:
        while True:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    print(f"{name} stopped with exit code {proc.returncode}; stopping the rest.")
                    code = proc.returncode or 1
                    raise KeyboardInterrupt
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        sink.stop()
    return code
