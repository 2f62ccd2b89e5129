"""Small real files (and impostors) for upload tests, plus helpers to upload and to look at storage."""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfWriter

from fellowship.documents.storage import S3Storage, get_storage
from tests.conftest import submit_form

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def pdf(body: bytes = CATALOG, *, page: bytes = PAGE, extra: tuple[bytes, ...] = (), comment: bytes = b"") -> bytes:
    """A small well-formed PDF with one blank page; `body` is the catalog dictionary (object 1).

    `page` is object 3, `extra` objects are numbered from 4 on, and `comment` is a line of bytes written
    just after the header (as a PDF comment).
    """
    objects = [body, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, *extra]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    if comment:
        out += b"%" + comment + b"\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _flate(data: bytes) -> tuple[bytes, bytes]:
    return b"/Filter /FlateDecode", zlib.compress(data)


def _ascii_hex(data: bytes) -> tuple[bytes, bytes]:
    return b"/Filter /ASCIIHexDecode", data.hex().upper().encode() + b">"


def pdf_with_object_stream(packed: dict[int, bytes], plain: dict[int, bytes] | None = None, *,
                           stream_type: bytes = b"/ObjStm", encode=_flate, padding: int = 0,
                           version: bytes = b"1.7") -> bytes:
    """A PDF 1.5+ as modern writers make it: `packed` objects inside one object stream, `plain` ones in the
    body, and a compressed cross-reference stream (the only kind of xref that can point into an object stream).

    Object 1 is the catalog. `stream_type` is the object stream's /Type as written (a name may be hex-escaped),
    `encode` its filter, and `padding` the number of bytes of an innocuous string entry written in its
    dictionary before /Filter, /Length and the `stream` keyword.
    """
    plain = plain or {}
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number, obj in sorted(plain.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"

    numbers = sorted(packed)
    index = {number: position for position, number in enumerate(numbers)}
    bodies, header = bytearray(), bytearray()
    for number in numbers:
        header += b"%d %d " % (number, len(bodies))
        bodies += packed[number] + b"\n"
    content = bytes(header) + bytes(bodies)
    filter_entry, encoded = encode(content)
    stream_number = max([*packed, *plain]) + 1
    pad = b" /Comment (%s)" % (b"Written by a word processor. " * (padding // 29 + 1))[:padding] if padding else b""
    offsets[stream_number] = len(out)
    out += (b"%d 0 obj\n<< /Type %s /N %d /First %d%s %s /Length %d >>\nstream\n"
            % (stream_number, stream_type, len(numbers), len(header), pad, filter_entry, len(encoded))
            + encoded + b"\nendstream\nendobj\n")

    xref_number = stream_number + 1
    offsets[xref_number] = len(out)
    width = 2 if len(numbers) <= 0xFFFF else 3  # bytes of an entry's third field: a generation, or an index

    def row(kind: int, field: int, third: int) -> bytes:
        return bytes([kind]) + field.to_bytes(4, "big") + third.to_bytes(width, "big")

    rows = bytearray(row(0, 0, 0xFFFF))
    for number in range(1, xref_number + 1):
        if number in offsets:
            rows += row(1, offsets[number], 0)
        elif number in packed:
            rows += row(2, stream_number, index[number])
        else:
            rows += row(0, 0, 0)
    table = zlib.compress(bytes(rows))
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 %d] /Root 1 0 R /Filter /FlateDecode /Length %d >>\n"
            b"stream\n" % (xref_number, xref_number + 1, width, len(table)) + table + b"\nendstream\nendobj\n")
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


def png() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", b"\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


def jpeg() -> bytes:
    """The start and end of a JPEG (JFIF) with some body; enough for content detection."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


PDF = pdf()
PDF_WITH_JAVASCRIPT = pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>")
#: The same, with the name hex-escaped as the PDF syntax allows: /J#61vaScript is /JavaScript.
PDF_WITH_ESCAPED_JAVASCRIPT = pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /J#53 (x) >> >>")
#: Only the /JS key, outside any stream.
PDF_WITH_BARE_JS = pdf(b"<< /Type /Catalog /Pages 2 0 R /AA << /O << /JS (app.alert(1)) >> >> >>")
PDF_WITH_LAUNCH = pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /F (cmd.exe) >> >>")


#: The action as an indirect object (4 0 R) opened by the catalog.
_OPENS_SCRIPT = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"
_SCRIPT = b"<< /S /JavaScript /JS (app.alert(1)) >>"
_ONE_PAGE = {2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", 3: PAGE}


def pdf_with_javascript_in_object_stream(**options: Any) -> bytes:
    """The /OpenAction's JavaScript hidden in a compressed object stream, invisible to a plain byte search.

    `options` go to pdf_with_object_stream: how the object stream is written.
    """
    return pdf_with_object_stream({4: _SCRIPT}, {1: _OPENS_SCRIPT, **_ONE_PAGE}, **options)


#: The three ways past the old byte scan (issue 12, item 7), each a real PDF with an xref stream.
#: The object stream's type hex-escaped: /Obj#53tm is /ObjStm.
PDF_JS_IN_ESCAPED_OBJECT_STREAM = pdf_with_javascript_in_object_stream(stream_type=b"/Obj#53tm")
#: The object stream in ASCII hex rather than deflated.
PDF_JS_IN_ASCII_HEX_OBJECT_STREAM = pdf_with_javascript_in_object_stream(encode=_ascii_hex)
#: More than 2 KB of dictionary between /ObjStm and the `stream` keyword.
PDF_JS_AFTER_LONG_OBJECT_STREAM_DICTIONARY = pdf_with_javascript_in_object_stream(padding=2600)


def word_processor_pdf() -> bytes:
    """A clean one-page PDF 1.7 as Word or LibreOffice export it: catalog, page tree, page, font, a link
    annotation and document info packed in a deflated object stream, the page's text in a deflated content
    stream, a cross-reference stream, an /OpenAction that only opens page 1, and a web link (a URI action)."""
    text = zlib.compress(b"BT /F1 18 Tf 72 760 Td (Curriculum vitae: Amani Njeri) Tj ET\n"
                         b"BT /F1 11 Tf 72 730 Td (Water and soil, University of Nairobi) Tj ET\n")
    packed = {
        1: b"<< /Type /Catalog /Pages 2 0 R /Lang (en-GB) /MarkInfo << /Marked true >> "
           b"/ViewerPreferences << /DisplayDocTitle true >> /OpenAction [3 0 R /XYZ null null 0] >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.32 841.92] /Contents 4 0 R "
           b"/Resources << /Font << /F1 5 0 R >> /ProcSet [/PDF /Text] >> /Annots [6 0 R] /Tabs /S "
           b"/Group << /Type /Group /S /Transparency /CS /DeviceRGB >> >>",
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        6: b"<< /Type /Annot /Subtype /Link /Rect [72 700 300 715] /Border [0 0 0] "
           b"/A << /Type /Action /S /URI /URI (https://www.linkedin.com/in/amani) >> >>",
        7: b"<< /Title (CV) /Author (Amani Njeri) /Creator (Microsoft Word) /Producer (Microsoft Word) "
           b"/CreationDate (D:20260301120000+03'00') >>",
    }
    plain = {4: b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"}
    return pdf_with_object_stream(packed, plain)


def encrypted_pdf(user_password: str, content: bytes | None = None) -> bytes:
    """`content` (the plain PDF by default) encrypted with AES-256 as Acrobat's "Protect" does; an empty
    `user_password` restricts editing only, and the file opens without a password."""
    writer = PdfWriter(clone_from=io.BytesIO(content or pdf()))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_image_stream(image: bytes) -> bytes:
    """A scan: one image on the page, a stream of raw bytes which may by chance spell names such as /JS."""
    stream = b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray " \
             b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % len(image)
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 4 0 R >> >> >>"
    return pdf(page=page, extra=(stream + image + b"\nendstream",))


WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 512
LINUX_ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 512


def upload(client: FlaskClient, application_id: int, content: bytes, name: str = "cv.pdf",
           kind: str = "cv", follow_redirects: bool = False) -> Any:
    """Post the applicant's upload form the way a browser does."""
    return submit_form(client, f"/applications/{application_id}/documents",
                       {"kind": kind, "file": (io.BytesIO(content), name)}, follow_redirects=follow_redirects)


def uploads_dir(app: Flask) -> Path:
    return Path(app.config.get("UPLOAD_FOLDER") or Path(app.config["INSTANCE_DIR"]) / "uploads")


def stored_files(app: Flask) -> dict[str, bytes]:
    """Every file in the app's document store (its folder, or its bucket and prefix), by key."""
    with app.app_context():
        storage = get_storage()
    if isinstance(storage, S3Storage):  # read as the bucket lists it, not through the app's own lookups
        found: dict[str, bytes] = {}
        pages = storage.client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket,
                                                                           Prefix=storage.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                body = storage.client.get_object(Bucket=storage.bucket, Key=item["Key"])["Body"].read()
                found[item["Key"].removeprefix(storage.prefix)] = body
        return found
    root = uploads_dir(app)
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}
