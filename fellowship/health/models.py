"""One row per worker or beat process (by node name) with the last time it was seen alive."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fellowship.models import Base, IdMixin, UTCDateTime, enum_column, utcnow


class ProcessKind(enum.StrEnum):
    WORKER = "worker"
    BEAT = "beat"


class Heartbeat(IdMixin, Base):
    __tablename__ = "heartbeats"
    __table_args__ = (UniqueConstraint("kind", "node"),)

    kind: Mapped[ProcessKind] = mapped_column(enum_column(ProcessKind, "process_kind"))
    #: The worker's Celery node name ("celery@host"), or "beat@host" for the beat.
    node: Mapped[str] = mapped_column(String(255))
    #: Process id of the latest process that recorded under this node name.
    pid: Mapped[int]
    #: When that process started; a restart shows as a new start time under the same node.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Written every HEARTBEAT_SECONDS by the worker's event loop (while it consumes) or the beat's tick.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
