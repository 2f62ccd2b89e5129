"""`flask storage migrate-folder`: a folder store copied into the bucket, each object verified, safe to run again."""

from __future__ import annotations

from pathlib import Path

import pytest

from fellowship.documents.storage import LocalFolderStorage, new_key
from tests.documents.files import stored_files
from tests.servers import SeaweedServer

pytestmark = pytest.mark.parametrize("document_store", ["s3"], indirect=True)


def migrate(app, *args: str):
    return app.test_cli_runner().invoke(args=["storage", "migrate-folder", *args])


@pytest.fixture
def folder_store(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A folder store as an installation leaves it: documents, an export, and an unfinished write's temp file."""
    store = LocalFolderStorage(tmp_path / "uploads")
    files = {new_key(): b"%PDF-1.4 cv", new_key(): b"\x89PNG passport", new_key(): b"Name,Country\n" * 5000}
    for key, data in files.items():
        store.save(key, data)
    (tmp_path / "uploads" / "ab").mkdir(exist_ok=True)
    (tmp_path / "uploads" / "ab" / ".upload-x1y2").write_bytes(b"half")  # never an object
    return tmp_path / "uploads", files


def test_a_folder_store_is_copied_verified_and_a_second_run_copies_nothing(app, document_store, folder_store):
    folder, files = folder_store

    dry = migrate(app, "--source", str(folder), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 objects: 3 to copy, 0 already there" in dry.output
    assert stored_files(app) == {}

    first = migrate(app, "--source", str(folder))
    assert first.exit_code == 0, first.output
    assert "3 objects: 3 copied and verified, 0 already there (same checksum), 0 mismatched, 0 failed." in first.output
    assert stored_files(app) == files

    again = migrate(app, "--source", str(folder), "-v")
    assert again.exit_code == 0, again.output
    assert "3 objects: 0 copied and verified, 3 already there (same checksum)" in again.output

    # An object that differs in the bucket (a copy cut short, say) is copied again.
    key = next(iter(files))
    with app.app_context():
        from fellowship.documents.storage import get_storage

        get_storage().save(key, b"truncated")
    fixed = migrate(app, "--source", str(folder))
    assert fixed.exit_code == 0 and "1 copied and verified, 2 already there" in fixed.output
    assert stored_files(app) == files


def test_the_migration_fails_loudly_when_the_store_cannot_take_the_objects(
        app, document_store, folder_store, seaweed_server: SeaweedServer):
    folder, files = folder_store
    seaweed_server.stop()
    try:
        result = migrate(app, "--source", str(folder))
    finally:
        seaweed_server.start()
    assert result.exit_code == 1
    assert "3 objects: 0 copied and verified, 0 already there (same checksum), 0 mismatched, 3 failed." in result.output
    assert migrate(app, "--source", str(folder)).exit_code == 0  # and succeeds once the store is back
    assert stored_files(app) == files


def test_the_migration_refuses_to_copy_a_folder_into_itself(app, document_store, folder_store, monkeypatch):
    folder, _ = folder_store
    monkeypatch.setitem(app.config, "STORAGE_URL", f"file://{folder}")
    result = migrate(app, "--source", str(folder))
    assert result.exit_code != 0 and "STORAGE_URL names this same folder" in result.output
