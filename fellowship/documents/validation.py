"""Checks on an uploaded file: type by content (never by name), size, and for PDFs that a parser reads them
and finds no active content (documents/pdf_check.py)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, TYPE_CHECKING

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from fellowship.documents.pdf_check import MAX_OBJECTS, PdfVerdict, check_pdf
from fellowship.errors import DomainError
from fellowship.words import or_list

if TYPE_CHECKING:  # the checks know no domain: a kind only names a file
    from fellowship.calls.models import DocumentKind

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MB
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileType:
    magic: bytes
    content_type: str
    extension: str
    #: Extensions a user's file name may keep for this type.
    extensions: frozenset[str]
    label: str


FILE_TYPES = (
    FileType(b"%PDF-", "application/pdf", "pdf", frozenset({"pdf"}), "PDF"),
    FileType(b"\xff\xd8\xff", "image/jpeg", "jpg", frozenset({"jpg", "jpeg"}), "JPEG"),
    FileType(b"\x89PNG\r\n\x1a\n", "image/png", "png", frozenset({"png"}), "PNG"),
)

class InvalidDocument(DomainError):
    """The upload cannot be accepted; the message says why and what to do."""


#: Why a PDF is refused, in the user's words, and what to do. Whether a PDF is safe is decided by a PDF
#: parser reading it as a viewer would (documents/pdf_check.py), not by searching its bytes: the names that
#: make a PDF act can be escaped, compressed or encoded in ways no byte pattern keeps up with.
_MAX_OBJECTS_TEXT = f"{MAX_OBJECTS:,}"
PDF_REFUSALS = {
    PdfVerdict.ACTIVE_CONTENT: _l("This PDF contains scripts, actions or attached files, which we do not accept. "
                                  "Print it to a new PDF (or scan it) and upload that."),
    PdfVerdict.PASSWORD_PROTECTED: _l("This PDF is protected by a password, so reviewers could not open it. "
                                      "Remove the password (save or print it as a new PDF without protection) "
                                      "and upload that."),
    PdfVerdict.UNREADABLE: _l("This PDF is damaged or incomplete, so it cannot be read. Check that it opens on "
                              "your computer, save or print it as a new PDF, and upload that."),
    PdfVerdict.TOO_COMPLEX: _l("This PDF is too complex for us to check (more than %(num)s parts, or very large "
                               "hidden data). Print it to a new PDF (or scan it) and upload that.",
                               num=_MAX_OBJECTS_TEXT),
}


@dataclass(frozen=True)
class ValidatedFile:
    data: bytes
    content_type: str
    extension: str
    filename: str
    size: int
    sha256: str


def max_document_bytes() -> int:
    return int(current_app.config.get("MAX_DOCUMENT_BYTES") or DEFAULT_MAX_BYTES)


def _megabytes(size: int, *, round_up: bool) -> str:
    value = math.ceil(size * 10 / MB) / 10 if round_up else size / MB
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _read_bounded(stream: IO[bytes], limit: int) -> tuple[bytes, int]:
    """Up to `limit` bytes of the stream, and its full size (read on, not kept, past the limit)."""
    kept = bytearray()
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if len(kept) <= limit:
            kept += chunk[: limit + 1 - len(kept)]
    return bytes(kept), size


def detect_type(data: bytes) -> FileType | None:
    """The file's type from its first bytes, or None when it is none we accept."""
    return next((t for t in FILE_TYPES if data.startswith(t.magic)), None)


def clean_filename(original: str | None, file_type: FileType, kind: DocumentKind | str) -> str:
    """A safe display name whose extension matches the detected type; falls back to '<kind>.<ext>'."""
    name = secure_filename(original or "")
    stem, suffix = PurePath(name).stem, PurePath(name).suffix.lower().lstrip(".")
    if not name or not stem or stem.startswith("."):
        return f"{getattr(kind, 'value', kind)}.{file_type.extension}"
    stem = stem[:180]
    extension = suffix if suffix in file_type.extensions else file_type.extension
    return f"{stem}.{extension}"


def validate_upload(upload: FileStorage | None, kind: DocumentKind) -> ValidatedFile:
    """Read and check an upload; raises InvalidDocument with a message for the user."""
    return check_file(upload, fallback_name=kind.value)


def check_file(upload: FileStorage | None, *, fallback_name: str = "file", types: Iterable[str] | None = None,
               max_bytes: int | None = None) -> ValidatedFile:
    """Read and check an upload by its content, optionally only some types (extensions: "pdf", "jpeg", "png") and a
    lower size limit than the app's; raises InvalidDocument with a message for the user. Knows no domain."""
    if upload is None or not upload.filename:
        raise InvalidDocument(_("Choose a file to upload."))
    limit = min(max_document_bytes(), max_bytes) if max_bytes else max_document_bytes()
    data, size = _read_bounded(upload.stream, limit)
    if size == 0:
        raise InvalidDocument(_("The file is empty. Choose the file again, or scan the document once more."))
    if size > limit:
        raise InvalidDocument(_("The file is %(size)s MB; the limit is %(limit)s MB.",
                                size=_megabytes(size, round_up=True), limit=_megabytes(limit, round_up=False)))
    file_type = detect_type(data)
    accepted = FILE_TYPES if types is None else tuple(t for t in FILE_TYPES if t.extensions & set(types))
    if file_type is None or file_type not in accepted:
        names = [t.label for t in accepted]
        listed = or_list(names)
        raise InvalidDocument(_("This file is not a %(types)s. Save or scan the document as a %(types)s file and "
                                "upload that.", types=listed))
    if file_type.content_type == "application/pdf" and (verdict := check_pdf(data)) is not PdfVerdict.CLEAN:
        raise InvalidDocument(str(PDF_REFUSALS[verdict]))
    return ValidatedFile(data=data, content_type=file_type.content_type, extension=file_type.extension,
                         filename=clean_filename(upload.filename, file_type, fallback_name), size=size,
                         sha256=hashlib.sha256(data).hexdigest())
