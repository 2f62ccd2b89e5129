"""Where uploaded files live: a small interface, a local-folder backend, and the configured one."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

log = logging.getLogger(__name__)

#: Keys are random hex strings; anything else is refused before it can become a path.
_KEY_RE = re.compile(r"^[0-9a-f]{16,64}$")


def new_key() -> str:
    """A fresh random storage key, unrelated to the file's name or owner."""
    return secrets.token_hex(20)


class DocumentStorage(Protocol):
    """A place to keep uploaded files by key (a local folder today; S3 or similar later)."""

    def save(self, key: str, data: bytes | BinaryIO) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


class LocalFolderStorage:
    """Files under one folder outside the web root, written atomically (temp file + rename)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY_RE.fullmatch(key):
            raise ValueError("not a storage key")
        return self.root / key[:2] / key  # two-level fan-out keeps folders small

    def save(self, key: str, data: bytes | BinaryIO) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as tmp:
                if isinstance(data, bytes | bytearray):
                    tmp.write(data)
                else:
                    shutil.copyfileobj(data, tmp)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def _local_storage() -> DocumentStorage:
    folder = current_app.config.get("UPLOAD_FOLDER") or str(Path(current_app.config["INSTANCE_DIR"]) / "uploads")
    return LocalFolderStorage(folder)


#: Backends by the name set in the DOCUMENT_STORAGE config key.
BACKENDS: dict[str, Callable[[], DocumentStorage]] = {"local": _local_storage}


def get_storage() -> DocumentStorage:
    """The storage backend named by DOCUMENT_STORAGE (default "local")."""
    name = current_app.config.get("DOCUMENT_STORAGE") or "local"
    try:
        return BACKENDS[name]()
    except KeyError:
        raise RuntimeError(f"Unknown DOCUMENT_STORAGE {name!r}; use one of {', '.join(BACKENDS)}.") from None
