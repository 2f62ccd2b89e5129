"""Uploaded documents: applicants' files and referees' letters, stored behind the storage interface."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fellowship.calls.models import DocumentKind
from fellowship.models import Base, IdMixin, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:
    from fellowship.applications.models.application import Application
    from fellowship.applications.models.referee import Referee


class Document(IdMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_application_kind", "application_id", "kind"),)

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"))
    #: Set for a reference letter: the referee who uploaded it.
    referee_id: Mapped[int | None] = mapped_column(ForeignKey("referees.id", ondelete="CASCADE"), index=True)
    #: The uploader's file name, cleaned; shown and used as the download name, never as a path.
    filename: Mapped[str] = mapped_column(String(200))
    #: Random key in the storage backend; unrelated to the file name.
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    #: Detected from the content (magic bytes), not taken from the upload.
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="documents")
    referee: Mapped[Referee | None] = relationship(lazy="raise")
