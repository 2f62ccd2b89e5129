"""The parts of the multi-host rehearsal: web instances (gunicorn) and workers (Celery) as separate processes, each in
a working folder of its own, and a browser-like HTTP session.

Every process gets the same environment (database, Redis, object store, SECRET_KEY) except its working directory
and its FELLOWSHIP_INSTANCE folder, as two machines would: nothing can pass from one to another through the local
disk. Their logs are written outside those folders, so a folder holding any file afterwards is a finding.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests

from tests.servers import ROOT, CeleryWorker, free_port, wait_for_port

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def host_env(base: dict[str, str], folder: Path) -> dict[str, str]:
    """`base` for a process whose machine is `folder`: its instance folder inside it, the code importable from ROOT
    (the working directory is the folder, not the checkout)."""
    instance = folder / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    return {**base, "FELLOWSHIP_INSTANCE": str(instance),
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), base.get("PYTHONPATH", "")) if p)}


class WebInstance:
    """One gunicorn serving wsgi:app (one sync worker) on a free loopback port, started in `folder`."""

    def __init__(self, name: str, env: dict[str, str], folder: Path, log_dir: Path) -> None:
        self.name = name
        self.folder = folder
        self.env = host_env(env, folder)
        self.port = free_port()
        self.log_path = log_dir / f"web-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1", "--worker-class", "sync",
               "--bind", f"127.0.0.1:{self.port}", "--pythonpath", str(ROOT), "--timeout", "120",
               "--access-logfile", "-", "wsgi:app"]
        with self.log_path.open("ab") as log:  # a file, not a pipe: a pipe nobody reads fills up and blocks
            self.process = subprocess.Popen(cmd, cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        wait_for_port(self.port, timeout=timeout)
        while time.monotonic() < deadline:  # the worker imports the app after the port is bound
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited early:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"gunicorn {self.name} not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the master and its worker at once, as a machine that dies would go."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def worker_in(name: str, env: dict[str, str], folder: Path, log_dir: Path, *, beat: bool = False) -> CeleryWorker:
    """A Celery worker named `name`@rehearsal to start in `folder` (one pool process: small and quick), with the
    installation's one beat embedded if `beat` (its schedule file is kept beside the logs)."""
    return CeleryWorker(host_env(env, folder), log_dir, concurrency=1, cwd=folder, name=f"{name}@rehearsal",
                        beat=beat)


class Browser(requests.Session):
    """A user's browser: one cookie jar, whichever instance it talks to.

    The instances run the production configuration, whose cookies are Secure; browsers send those to
    http://127.0.0.1 (loopback is a secure context) but requests never does, so the jar's cookies are kept without
    the flag. Redirects are not followed (a redirect's own Set-Cookie would be sent with the flag's rules): the
    tests read the Location they are sent to.
    """

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, *args, **kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def browser() -> Browser:
    return Browser()


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


class FormFields(HTMLParser):
    """What a browser would submit for the form whose action ends with `action` (None: the POST form without an
    action, which posts to the page itself): its inputs, checked boxes, selected options (or a select's first
    option) and textareas, read from the page's HTML."""

    def __init__(self, action: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.fields: dict[str, Any] = {}
        self._inside = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if self.action is None:
                self._inside = "action" not in a and a.get("method", "get").lower() == "post"
            else:
                self._inside = a.get("action", "").split("?")[0].endswith(self.action)
        if not self._inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "y")
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select:
            if "selected" in a or self._select not in self.fields:
                self.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data.removeprefix("\n") if not self.fields[self._textarea] else data


def form_fields(html: str, action: str | None = None) -> dict[str, Any]:
    parser = FormFields(action)
    parser.feed(html)
    assert parser.fields, f"no form posting to {action or 'the page itself'} on the page"
    return parser.fields


def files_in(folder: Path) -> list[Path]:
    """Every file under `folder` (empty folders are not files)."""
    return sorted(p for p in folder.rglob("*") if p.is_file())
