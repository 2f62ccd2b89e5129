"""Reads an uploaded PDF with a real parser (pypdf) and says whether reviewers may be given it.

Why the parser is the judge, not a search of the bytes: a PDF may write the names that make it act
(/JavaScript, /JS, /Launch, ...) hex-escaped (/J#61vaScript), inside object streams under any filter
(/FlateDecode, /ASCIIHexDecode, chains of them) whose own type may be escaped (/Obj#53tm), behind a
dictionary of any length. A viewer resolves all of that before it acts, and so does the parser; we then
look at what it resolved: every object reachable from the trailer and every object the cross-reference
lists (those inside object streams too), their dictionaries and names only. Page content and image data
are never searched, since the same bytes there are only pictures and text.

The work is bounded so that a hostile file cannot hang an upload: at most MAX_OBJECTS objects, MAX_PARSE_STEPS
reads of the file, MAX_VALUES values visited, and limits on how far streams may inflate. A file past any of
them is refused as too complex to check.
"""

from __future__ import annotations

import enum
import io
import logging
from typing import Any

from pypdf import PasswordType, PdfReader, apply_configuration
from pypdf.errors import DependencyError, LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, NullObject, StreamObject

log = logging.getLogger(__name__)

MB = 1024 * 1024
#: More indirect objects than this and the file is refused: a 40-page CV from a word processor has a few thousand.
MAX_OBJECTS = 100_000
#: Reads of the file by the parser, its unit of work: a CV takes a few thousand, 60,000 objects about 5 million.
#: pypdf is pure Python (some microseconds a token), so this, not the object count, bounds the time of a file
#: written as one huge object.
MAX_PARSE_STEPS = 5_000_000
#: Dictionary entries and array items visited in all, a bound on the walk's time.
MAX_VALUES = 2_000_000
#: How far any one stream may inflate while the file is read (only cross-reference and object streams are).
MAX_STREAM_BYTES = 4 * MB
#: How much all the object streams together may inflate to (a 40-page CV: about 50 KB); their objects are
#: parsed from memory, outside MAX_PARSE_STEPS, so this bounds that work.
MAX_OBJECT_STREAM_BYTES = 4 * MB
#: The PDF specification lets %%EOF sit anywhere in the last 1024 bytes; no marker there means a cut file.
_EOF_WINDOW = 1024

#: Names that run code, act on opening or on events, or carry other files or media; a CV or a reference
#: letter needs none of them. Looked for as dictionary keys and as name values (/S /JavaScript).
ACTIVE_NAMES = frozenset({
    "/JavaScript", "/JS",            # scripts, as an action (/S /JavaScript) or in the /Names tree
    "/Launch",                       # starts a program or opens a file
    "/AA",                           # additional actions: on opening a page, focusing a field, ...
    "/EmbeddedFile", "/EmbeddedFiles", "/EF", "/FileAttachment",   # attached files, however attached
    "/RichMedia",                    # Flash and video players
    "/XFA",                          # XML forms, scriptable
})


class PdfVerdict(enum.Enum):
    CLEAN = "clean"
    ACTIVE_CONTENT = "active content"
    PASSWORD_PROTECTED = "password protected"  # noqa: S105 (a verdict, not a secret)
    UNREADABLE = "unreadable"
    TOO_COMPLEX = "too complex"


class _TooComplex(Exception):
    """The file needs more work to check than we allow."""


class _MeteredFile(io.BytesIO):
    """The upload as the parser reads it, counting the parser's reads; past the budget every read fails."""

    def __init__(self, data: bytes, budget: int) -> None:
        super().__init__(data)
        self.size = len(data)
        self.budget = budget
        self.exhausted = False

    def _spend(self, steps: int) -> None:
        self.budget -= steps
        if self.budget < 0:
            self.exhausted = True
            raise _TooComplex("parsing needs more than the allowed steps")

    def read(self, size: int | None = -1) -> bytes:
        self._spend(1)
        return super().read(size)

    def getbuffer(self) -> memoryview:
        """The parser searches the whole file when it repairs a reference: costed by the file's size."""
        self._spend(1 + self.size // 1024)
        return super().getbuffer()


def check_pdf(data: bytes) -> PdfVerdict:
    """Whether the PDF may be stored, read by the parser; any failure to read it is a refusal."""
    if b"%%EOF" not in data[-_EOF_WINDOW:]:
        return PdfVerdict.UNREADABLE
    source = _MeteredFile(data, MAX_PARSE_STEPS)
    try:
        with apply_configuration(zlib_maximum_output_length=MAX_STREAM_BYTES,
                                 lzw_maximum_output_length=MAX_STREAM_BYTES,
                                 run_length_maximum_output_length=MAX_STREAM_BYTES,
                                 brotli_maximum_output_length=MAX_STREAM_BYTES,
                                 array_based_stream_maximum_output_length=MAX_STREAM_BYTES):
            reader = PdfReader(source, strict=False)
            if reader.is_encrypted and not _opens_without_password(reader):
                return PdfVerdict.PASSWORD_PROTECTED
            if not isinstance(reader.trailer.get("/Root", NullObject()).get_object(), DictionaryObject):
                return PdfVerdict.UNREADABLE
            listed = _listed_objects(reader)
            _inflate_object_streams(reader)
            active = _has_active_content(reader, listed)
    except (_TooComplex, LimitReachedError) as exc:
        log.info("PDF refused as too complex to check: %s", exc)
        return PdfVerdict.TOO_COMPLEX
    except Exception as exc:  # a hostile file can make the parser fail in any way: each means "cannot read"
        if source.exhausted:  # the parser wrapped our refusal in an error of its own
            return PdfVerdict.TOO_COMPLEX
        log.info("PDF refused as unreadable: %s: %s", type(exc).__name__, exc)
        return PdfVerdict.UNREADABLE
    if source.exhausted:  # the parser swallowed our refusal and went on with what it had
        return PdfVerdict.TOO_COMPLEX
    return PdfVerdict.ACTIVE_CONTENT if active else PdfVerdict.CLEAN


def _opens_without_password(reader: PdfReader) -> bool:
    """True for a file protected only against editing or printing, which any viewer opens as it is."""
    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except (DependencyError, NotImplementedError):  # an encryption method we cannot undo
        return False


def _listed_objects(reader: PdfReader) -> list[IndirectObject]:
    """Every object the cross-reference lists, in the body or inside object streams."""
    listed = [IndirectObject(number, generation, reader)
              for generation, entries in reader.xref.items() if generation != 65535 for number in entries]
    listed += [IndirectObject(number, 0, reader) for number in reader.xref_objStm]
    if len(listed) > MAX_OBJECTS:
        raise _TooComplex(f"{len(listed)} objects listed")
    return listed


def _inflate_object_streams(reader: PdfReader) -> None:
    """Inflate every object stream once (the parser keeps them), within one budget for them all."""
    total = 0
    for number in sorted({stream for stream, _ in reader.xref_objStm.values()}):
        stream = reader.get_object(IndirectObject(number, 0, reader))
        if isinstance(stream, StreamObject):
            total += len(stream.get_data())
            if total > MAX_OBJECT_STREAM_BYTES:
                raise _TooComplex(f"object streams inflate past {MAX_OBJECT_STREAM_BYTES} bytes")


def _has_active_content(reader: PdfReader, listed: list[IndirectObject]) -> bool:
    """Walk the resolved object graph from the trailer and the listed objects (iteratively, each object
    once, so cycles end) looking for ACTIVE_NAMES."""
    pending: list[Any] = [reader.trailer, *listed]
    seen: set[tuple[int, int]] = set()
    values = 0
    while pending:
        item = pending.pop()
        values += 1
        if values > MAX_VALUES:
            raise _TooComplex(f"more than {MAX_VALUES} values")
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key not in seen:
                seen.add(key)
                if len(seen) > MAX_OBJECTS:
                    raise _TooComplex(f"more than {MAX_OBJECTS} objects reachable")
                pending.append(reader.get_object(item))
        elif isinstance(item, DictionaryObject):  # streams too: their dictionary, never their data
            for name, value in dict.items(item):  # dict's own: DictionaryObject's resolves references
                if name in ACTIVE_NAMES:
                    return True
                pending.append(value)
        elif isinstance(item, ArrayObject):
            pending.extend(list.__iter__(item))
        elif isinstance(item, NameObject) and item in ACTIVE_NAMES:
            return True
    return False
