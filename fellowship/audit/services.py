"""One helper to write the audit log."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, stream_with_context
from flask_login import current_user

from fellowship.audit.models import AuditEntry
from fellowship.extensions import db

log = logging.getLogger("fellowship.audit")


@dataclass(frozen=True)
class PendingEntry:
    """An audit entry whose who and what were read now, to be written later (after a download is produced)."""

    action: str
    actor_id: int | None
    object_type: str | None
    object_id: int | None
    details: dict[str, Any]

    def write(self) -> AuditEntry:
        """Add the entry to the current transaction."""
        entry = AuditEntry(actor_id=self.actor_id, action=self.action, object_type=self.object_type,
                           object_id=self.object_id, details=self.details)
        db.session.add(entry)
        log.info("%s by user %s on %s %s %s", self.action, self.actor_id, self.object_type, self.object_id,
                 self.details)
        return entry


def pending(action: str, obj: Any = None, *, actor_id: int | None = None, **details: Any) -> PendingEntry:
    """An entry for `action` on `obj` by the current user (or `actor_id`), read now and written later."""
    if actor_id is None and has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    return PendingEntry(action=action, actor_id=actor_id,
                        object_type=type(obj).__name__ if obj is not None else None,
                        object_id=getattr(obj, "id", None), details=details)


def record(action: str, obj: Any = None, *, actor_id: int | None = None, **details: Any) -> AuditEntry:
    """Audit `action` on `obj` by the current user (or `actor_id`), in the caller's transaction."""
    return pending(action, obj, actor_id=actor_id, **details).write()


def audited_download(chunks: Iterable[bytes], entry: PendingEntry) -> Iterator[bytes]:
    """A download streamed after the view returns, audited only once it has been produced whole.

    The chunks are read while the response is sent, after the view has returned and its request has been torn
    down: `stream_with_context` gives them the request's context again, with a fresh database session (objects
    the view loaded are detached by then: the entry carries plain values, read in the view). The entry is written
    and committed before the last chunk goes out, so a download that failed midway leaves no entry, and a complete
    file never reaches the client without one (if that commit fails, the transfer ends unfinished).
    """

    def stream() -> Iterator[bytes]:
        held: bytes | None = None
        for chunk in chunks:
            if held is not None:
                yield held
            held = chunk
        entry.write()
        db.session.commit()
        if held is not None:
            yield held

    return stream_with_context(stream())
