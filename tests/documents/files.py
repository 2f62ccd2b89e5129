"""Small real files (and impostors) for upload tests, plus helpers to upload and to look at storage."""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import submit_form


def pdf(body: bytes = b"<< /Type /Catalog /Pages 2 0 R >>") -> bytes:
    """A small well-formed PDF with one blank page; `body` is the catalog dictionary."""
    objects = [body, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
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


def pdf_with_javascript_in_object_stream() -> bytes:
    """The action hidden in a compressed object stream, invisible to a plain byte search."""
    hidden = zlib.compress(b"4 0 << /S /JavaScript /JS (app.alert(1)) >>")
    stream = (b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(hidden)
              + hidden + b"\nendstream")
    return pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>").replace(
        b"%%EOF", b"5 0 obj\n" + stream + b"\nendobj\n%%EOF")


def pdf_with_image_stream(image: bytes) -> bytes:
    """A scan: one image stream of raw bytes, which may by chance spell names such as /JS."""
    stream = b"<< /Type /XObject /Subtype /Image /Filter /DCTDecode /Length %d >>\nstream\n" % len(image)
    return pdf().replace(b"%%EOF", b"4 0 obj\n" + stream + image + b"\nendstream\nendobj\n%%EOF")


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
    """Every file in the upload folder, by name."""
    root = uploads_dir(app)
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}
