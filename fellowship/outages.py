"""Expected outages (Redis, the broker, the database behind a heartbeat) log one line when they start and one when
they end, instead of a traceback on every failed attempt.

A dependency that is away is not a bug: the code around it already degrades (figures computed without the cache,
the sweep sends the email later). What an operator needs is when it went away, what it means, and when it came
back; a traceback per request or per tick buries that. The state is per process: each process reports its own.
"""

from __future__ import annotations

import logging
import threading
import time


def one_line(exc: BaseException) -> str:
    """`ClassName: message` on one line, for a log line that names the cause without a traceback."""
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


class Outage:
    """Tracks one dependency as seen from this process: the first failure and the recovery are logged."""

    def __init__(self, what: str, logger: logging.Logger) -> None:
        self.what = what
        self.logger = logger
        self.since: float | None = None
        self.failures = 0
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, consequence: str) -> None:
        """An attempt failed: a WARNING line if this starts an outage, else nothing above DEBUG."""
        with self._lock:
            first = self.since is None
            if first:
                self.since = time.monotonic()
                self.failures = 0
            self.failures += 1
        if first:
            self.logger.warning("%s unavailable (%s); %s", self.what, one_line(exc), consequence)
        else:
            self.logger.debug("%s still unavailable (%s)", self.what, one_line(exc))

    def succeeded(self) -> None:
        """An attempt worked: an INFO line if an outage was going on."""
        if self.since is None:  # the usual case, without taking the lock
            return
        with self._lock:
            since, failures = self.since, self.failures
            self.since, self.failures = None, 0
        if since is not None:
            self.logger.info("%s recovered after %.0f s (%d failed attempt%s)", self.what,
                             time.monotonic() - since, failures, "" if failures == 1 else "s")


_OUTAGES: dict[str, Outage] = {}
_REGISTRY_LOCK = threading.Lock()


def outage(key: str, what: str, logger: logging.Logger) -> Outage:
    """The tracker for `key` (e.g. a Redis address) in this process, created on first use."""
    found = _OUTAGES.get(key)
    if found is None:
        with _REGISTRY_LOCK:
            found = _OUTAGES.setdefault(key, Outage(what, logger))
    return found
