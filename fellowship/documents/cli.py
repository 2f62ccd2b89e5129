"""`flask storage ...`: operations on the document store."""

from __future__ import annotations

from pathlib import Path

import click

from fellowship.documents import bp
from fellowship.documents.migration import migrate_folder
from fellowship.documents.storage import LocalFolderStorage, default_folder, get_storage


@bp.cli.command("migrate-folder")
@click.option("--source", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The folder store to copy (default: UPLOAD_FOLDER, else INSTANCE_DIR/uploads).")
@click.option("--dry-run", is_flag=True, help="Only tell what would be copied.")
@click.option("--verbose", "-v", is_flag=True, help="A line for every object.")
def migrate_folder_command(source: Path | None, dry_run: bool, verbose: bool) -> None:
    """Copy every file of a folder store into the store STORAGE_URL names, verifying each by SHA-256 read back.

    Safe to run again: objects already there with the same checksum are skipped. Exits 1 on any mismatch or
    failure, so a script can stop before switching STORAGE_URL."""
    folder = (source or Path(default_folder())).resolve()
    if not folder.is_dir():
        raise click.ClickException(f"{folder} is not a folder.")
    target = get_storage()
    if isinstance(target, LocalFolderStorage) and target.root.resolve() == folder:
        raise click.ClickException("STORAGE_URL names this same folder: set it to the bucket to copy into, "
                                   "e.g. STORAGE_URL='s3://bucket?endpoint=https://...'.")
    click.echo(f"{'Checking' if dry_run else 'Copying'} folder {folder} into {target!r}.")

    def progress(key: str, outcome: str) -> None:
        problem = outcome.startswith(("failed", "MISMATCH"))
        if verbose or problem:
            click.echo(f"  {key}: {outcome}", err=problem)

    report = migrate_folder(LocalFolderStorage(folder), target, dry_run=dry_run, progress=progress)
    click.echo(f"{report.total} objects: {report.copied} {'to copy' if dry_run else 'copied and verified'}, "
               f"{report.already_there} already there (same checksum), {len(report.mismatched)} mismatched, "
               f"{len(report.failed)} failed.")
    if not report.ok:
        raise click.exceptions.Exit(1)
