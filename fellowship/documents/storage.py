"""Where uploaded files live: a small interface, a local-folder and an S3 backend, and the configured one.

STORAGE_URL chooses the backend:
- unset, or ``file:///abs/folder``: a folder on this host (UPLOAD_FOLDER, else INSTANCE_DIR/uploads, when unset);
  fine for one machine and for ``make run``;
- ``s3://bucket[/prefix]?endpoint=https://...&region=...``: a bucket of any S3-compatible store (AWS S3, SeaweedFS,
  MinIO, Ceph...), shared by every web and worker process on every host. The keys come from boto3's standard chain
  (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an instance role), never from the URL. The bucket stays
  private: downloads are streamed through the app, which decides who may read each file.

A store that cannot be reached (or refuses) raises StorageUnavailable, whose message is written for the user.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

from fellowship.errors import DomainError

log = logging.getLogger(__name__)

#: Keys are random hex strings; anything else is refused before it can become a path.
_KEY_RE = re.compile(r"^[0-9a-f]{16,64}$")

STORAGE_UNAVAILABLE = _l("We could not store your file just now; nothing was saved. "
                         "Please try again in a few minutes.")
READ_UNAVAILABLE = _l("Stored files cannot be read just now. Please try again in a few minutes.")


class StorageUnavailable(DomainError):
    """The document store could not be reached or refused the operation (the message is for the user)."""

    def __init__(self, message: str | None = None, *, cause: BaseException | None = None) -> None:
        super().__init__(message or str(STORAGE_UNAVAILABLE))
        self.cause = cause


def new_key() -> str:
    """A fresh random storage key, unrelated to the file's name or owner."""
    return secrets.token_hex(20)


def check_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise ValueError("not a storage key")
    return key


class DocumentStorage(Protocol):
    """A place to keep uploaded files by key."""

    def save(self, key: str, data: bytes | BinaryIO) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def check(self) -> None: ...


class LocalFolderStorage:
    """Files under one folder outside the web root, written atomically (temp file + rename)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"folder {self.root}"

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key  # two-level fan-out keeps folders small

    def save(self, key: str, data: bytes | BinaryIO) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")  # mode 0600
        except OSError as exc:
            raise StorageUnavailable(cause=exc) from exc
        try:
            with os.fdopen(fd, "wb") as tmp:
                if isinstance(data, bytes | bytearray):
                    tmp.write(data)
                else:
                    shutil.copyfileobj(data, tmp)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException as exc:
            Path(tmp_name).unlink(missing_ok=True)
            if isinstance(exc, OSError):  # a full or read-only disk: the user can only try again later
                raise StorageUnavailable(cause=exc) from exc
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageUnavailable(str(READ_UNAVAILABLE), cause=exc) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def check(self) -> None:
        """Raise StorageUnavailable unless the folder can be written (for the deep health check)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StorageUnavailable(str(READ_UNAVAILABLE), cause=exc) from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(str(READ_UNAVAILABLE), cause=PermissionError(f"{self.root} is not writable"))

    def stored_keys(self) -> Iterator[str]:
        """Every stored key (temporary files of unfinished writes and foreign names are skipped)."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*/*")):
            if path.is_file() and _KEY_RE.fullmatch(path.name) and path.parent.name == path.name[:2]:
                yield path.name


class _ObjectStream(io.RawIOBase):
    """An object's body read as a file: what send_file streams, closing the connection when the response ends."""

    def __init__(self, body: Any, key: str) -> None:
        self._body = body
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from botocore.exceptions import BotoCoreError

        try:
            chunk = self._body.read(len(buffer))
        except (BotoCoreError, OSError) as exc:  # the store went away mid-stream: the response is cut short
            log.error("stored object %s: reading failed midway: %s", self._key, exc)
            raise OSError(f"object store read failed: {exc}") from exc
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3Storage:
    """Objects in one private bucket of an S3-compatible store, under an optional key prefix."""

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, addressing_style: str | None = None, connect_timeout: float = 5,
                 read_timeout: float = 30, max_attempts: int = 3) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        # Short timeouts and a few retries: an upload waits seconds, not minutes, for a store that is down.
        config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                        retries={"max_attempts": max_attempts, "mode": "standard"},
                        s3={"addressing_style": addressing_style or ("path" if endpoint_url else "auto")},
                        # Checksums only where the API requires them: several S3-compatible stores do not
                        # accept the trailing checksums botocore sends by default since 1.36.
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required")
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region,
                                                     config=config)

    def __repr__(self) -> str:
        return f"bucket {self.bucket}{'/' + self.prefix if self.prefix else ''} at {self.endpoint_url or 'AWS'}"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    @staticmethod
    def _errors() -> tuple[type[BaseException], ...]:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        return (BotoCoreError, ClientError, Boto3Error)

    def save(self, key: str, data: bytes | BinaryIO) -> None:
        name = self._name(key)
        try:
            if isinstance(data, bytes | bytearray):
                self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(data))
            else:  # a file (an export): sent in parts when large, never read whole into memory
                self.client.upload_fileobj(data, self.bucket, name)
        except self._errors() as exc:
            log.error("object store %r: saving %s failed: %s", self, key, exc)
            raise StorageUnavailable(cause=exc) from exc

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _is_missing(exc):
                raise FileNotFoundError(key) from exc
            log.error("object store %r: reading %s failed: %s", self, key, exc)
            raise StorageUnavailable(str(READ_UNAVAILABLE), cause=exc) from exc
        except self._errors() as exc:
            log.error("object store %r: reading %s failed: %s", self, key, exc)
            raise StorageUnavailable(str(READ_UNAVAILABLE), cause=exc) from exc
        return io.BufferedReader(_ObjectStream(response["Body"], key), buffer_size=64 * 1024)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        except self._errors() as exc:
            raise StorageUnavailable(cause=exc) from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise StorageUnavailable(str(READ_UNAVAILABLE), cause=exc) from exc
        except self._errors() as exc:
            raise StorageUnavailable(str(READ_UNAVAILABLE), cause=exc) from exc
        return True

    def check(self) -> None:
        """Raise StorageUnavailable unless the bucket answers (for the deep health check)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors() as exc:
            raise StorageUnavailable(str(READ_UNAVAILABLE), cause=exc) from exc


def _is_missing(exc: Any) -> bool:
    error = exc.response.get("Error", {}) if hasattr(exc, "response") else {}
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") if hasattr(exc, "response") else None
    return error.get("Code") in {"NoSuchKey", "404", "NotFound"} or status == 404


def storage_from_url(url: str | None, default_folder: str | os.PathLike[str]) -> DocumentStorage:
    """The backend a STORAGE_URL names (see the module's docstring); unset means the default folder."""
    if not url:
        return LocalFolderStorage(default_folder)
    parts = urlsplit(url)
    if parts.scheme == "file":
        folder = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not folder.startswith("/"):
            raise ValueError(f"STORAGE_URL {url!r}: a folder is given as file:///absolute/path")
        return LocalFolderStorage(folder)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"STORAGE_URL {url!r}: name the bucket, as s3://bucket?endpoint=...")
        if parts.username or parts.password:
            raise ValueError("STORAGE_URL: give the keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, "
                             "not in the URL")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region", "addressing", "connect_timeout", "read_timeout",
                                "max_attempts"}
        if unknown:
            raise ValueError(f"STORAGE_URL: unknown option(s) {', '.join(sorted(unknown))}")
        return S3Storage(parts.netloc, prefix=unquote(parts.path), endpoint_url=query.get("endpoint"),
                         region=query.get("region"), addressing_style=query.get("addressing"),
                         connect_timeout=float(query.get("connect_timeout", 5)),
                         read_timeout=float(query.get("read_timeout", 30)),
                         max_attempts=int(query.get("max_attempts", 3)))
    raise ValueError(f"STORAGE_URL {url!r}: use file:///folder or s3://bucket?endpoint=...")


def default_folder() -> str:
    """The folder store's place when STORAGE_URL is unset: UPLOAD_FOLDER, else INSTANCE_DIR/uploads."""
    return current_app.config.get("UPLOAD_FOLDER") or str(Path(current_app.config["INSTANCE_DIR"]) / "uploads")


_CACHE = "document_storage"


def get_storage() -> DocumentStorage:
    """The configured backend, made once per process and configuration (an S3 client holds a connection pool;
    a forked worker process makes its own)."""
    identity = (current_app.config.get("STORAGE_URL") or "", default_folder(), os.getpid())
    cached = current_app.extensions.get(_CACHE)
    if cached is not None and cached[0] == identity:
        return cached[1]
    storage = storage_from_url(identity[0], identity[1])
    current_app.extensions[_CACHE] = (identity, storage)
    return storage
