"""One helper to write the audit log."""

from __future__ import annotations

import logging
from typing import Any

from flask import has_request_context
from flask_login import current_user

from fellowship.audit.models import AuditEntry
from fellowship.extensions import db

log = logging.getLogger("fellowship.audit")


def record(action: str, obj: Any = None, *, actor_id: int | None = None, **details: Any) -> AuditEntry:
    """Audit `action` on `obj` by the current user (or `actor_id`), in the caller's transaction."""
    if actor_id is None and has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        details=details,
    )
    db.session.add(entry)
    log.info("%s by user %s on %s %s %s", action, actor_id, entry.object_type, entry.object_id, details)
    return entry
