"""Copy a folder store into the configured object store, verifying every object by its SHA-256 read back.

Idempotent: an object already in the target with the same checksum is left alone, so the copy can be run again
(after an interruption, or once more just before switching STORAGE_URL) and only copies what is new or differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from fellowship.documents.storage import DocumentStorage, LocalFolderStorage, StorageUnavailable

CHUNK = 1024 * 1024


def sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    with stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class MigrationReport:
    copied: int = 0  #: written to the target (or, in a dry run, that would be)
    already_there: int = 0  #: present in the target with the same checksum: left alone
    mismatched: list[str] = field(default_factory=list)  #: read back from the target with another checksum
    failed: list[str] = field(default_factory=list)  #: could not be read, written or read back

    @property
    def total(self) -> int:
        return self.copied + self.already_there + len(self.mismatched) + len(self.failed)

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.failed


def _target_checksum(target: DocumentStorage, key: str) -> str | None:
    """The object's checksum in the target, or None when it is not there."""
    try:
        return sha256_of(target.open(key))
    except FileNotFoundError:
        return None


def migrate_folder(source: LocalFolderStorage, target: DocumentStorage, *, dry_run: bool = False,
                   progress: Callable[[str, str], None] | None = None) -> MigrationReport:
    """Copy every object of `source` into `target` and verify each; `progress(key, outcome)` hears of each one."""
    report = MigrationReport()
    note = progress or (lambda key, outcome: None)
    for key in source.stored_keys():
        try:
            expected = sha256_of(source.open(key))
            if _target_checksum(target, key) == expected:
                report.already_there += 1
                note(key, "already there")
                continue
            if dry_run:
                report.copied += 1
                note(key, "would copy")
                continue
            with source.open(key) as stream:
                target.save(key, stream)
            found = _target_checksum(target, key)
        except (OSError, StorageUnavailable) as exc:
            report.failed.append(key)
            note(key, f"failed: {getattr(exc, 'cause', None) or exc}")
            continue
        if found == expected:
            report.copied += 1
            note(key, "copied")
        else:
            report.mismatched.append(key)
            note(key, f"MISMATCH: sha256 {expected} in the folder, {found or 'nothing'} read back")
    return report
