"""Checks on an uploaded file: type by content (never by name), size, and no active content in PDFs."""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

from flask import current_app
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from fellowship.calls.models import DocumentKind
from fellowship.errors import DomainError

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

#: PDF names that run code or carry other files; a document for reviewers needs none of them.
_ACTIVE_PDF_NAMES = frozenset({b"JavaScript", b"Launch", b"EmbeddedFile", b"EmbeddedFiles"})
#: A name so short that random bytes of an image stream spell it now and then: looked for outside streams.
_SHORT_ACTIVE_PDF_NAMES = frozenset({b"JS"})
_PDF_NAME_RE = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_PDF_HEX_ESCAPE_RE = re.compile(rb"#([0-9A-Fa-f]{2})")
#: Object streams can hide dictionaries (and so the names above) inside compressed data.
_OBJSTM_RE = re.compile(rb"/ObjStm\b")
_STREAM_START_RE = re.compile(rb"stream\r?\n")
_STREAM_BODY_RE = re.compile(rb"stream\r?\n.*?endstream", re.S)
_MAX_INFLATED_PER_STREAM = 8 * MB
_MAX_INFLATED_TOTAL = 32 * MB


class InvalidDocument(DomainError):
    """The upload cannot be accepted; the message says why and what to do."""


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


def _pdf_names(data: bytes) -> set[bytes]:
    names = set()
    for match in _PDF_NAME_RE.finditer(data):
        names.add(_PDF_HEX_ESCAPE_RE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1)))
    return names


def _inflated_object_streams(data: bytes) -> list[bytes]:
    """The decompressed contents of the PDF's object streams, within a size budget."""
    out: list[bytes] = []
    budget = _MAX_INFLATED_TOTAL
    for match in _OBJSTM_RE.finditer(data):
        start = _STREAM_START_RE.search(data, match.end(), match.end() + 2048)
        if budget <= 0:
            break
        if start is None:
            continue
        inflater = zlib.decompressobj()
        try:
            chunk = inflater.decompress(memoryview(data)[start.end():], min(_MAX_INFLATED_PER_STREAM, budget))
        except zlib.error:
            continue
        budget -= len(chunk)
        out.append(chunk)
    return out


def pdf_has_active_content(data: bytes) -> bool:
    """True when the PDF names JavaScript, a launch action or an embedded file anywhere we can see.

    The long names are looked for everywhere; /JS only outside stream data (and inside the
    inflated object streams, which hold dictionaries), so a scan's image bytes do not trip it.
    JavaScript cannot run without /S /JavaScript, which the first check catches in any case.
    """
    inner = _inflated_object_streams(data)
    if any(_pdf_names(part) & _ACTIVE_PDF_NAMES for part in (data, *inner)):
        return True
    outside_streams = _STREAM_BODY_RE.sub(b"stream endstream", data)
    return any(_pdf_names(part) & _SHORT_ACTIVE_PDF_NAMES for part in (outside_streams, *inner))


def clean_filename(original: str | None, file_type: FileType, kind: DocumentKind) -> str:
    """A safe display name whose extension matches the detected type; falls back to '<kind>.<ext>'."""
    name = secure_filename(original or "")
    stem, suffix = PurePath(name).stem, PurePath(name).suffix.lower().lstrip(".")
    if not name or not stem or stem.startswith("."):
        return f"{kind.value}.{file_type.extension}"
    stem = stem[:180]
    extension = suffix if suffix in file_type.extensions else file_type.extension
    return f"{stem}.{extension}"


def validate_upload(upload: FileStorage | None, kind: DocumentKind) -> ValidatedFile:
    """Read and check an upload; raises InvalidDocument with a message for the user."""
    if upload is None or not upload.filename:
        raise InvalidDocument("Choose a file to upload.")
    limit = max_document_bytes()
    data, size = _read_bounded(upload.stream, limit)
    if size == 0:
        raise InvalidDocument("The file is empty. Choose the file again, or scan the document once more.")
    if size > limit:
        raise InvalidDocument(f"The file is {_megabytes(size, round_up=True)} MB; "
                              f"the limit is {_megabytes(limit, round_up=False)} MB.")
    file_type = detect_type(data)
    if file_type is None:
        raise InvalidDocument("This file is not a PDF, JPEG or PNG. Save or scan the document as a PDF, "
                              "JPEG or PNG file and upload that.")
    if file_type.content_type == "application/pdf" and pdf_has_active_content(data):
        raise InvalidDocument("This PDF contains scripts, actions or attached files, which we do not accept. "
                              "Print it to a new PDF (or scan it) and upload that.")
    return ValidatedFile(data=data, content_type=file_type.content_type, extension=file_type.extension,
                         filename=clean_filename(upload.filename, file_type, kind), size=size,
                         sha256=hashlib.sha256(data).hexdigest())
