"""Stored files follow their transaction: a new file whose rows roll back is deleted, a replaced one goes on commit.

Domain-free (documents and the questionnaire engine's file answers both use it): a row and its file must never part,
and the database decides whether the row exists only when the transaction ends.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from fellowship.documents.storage import DocumentStorage, StorageUnavailable

log = logging.getLogger(__name__)

# Files to remove once the transaction's outcome is known (Session.info keys).
_DELETE_ON_COMMIT = "documents_delete_on_commit"
_DELETE_ON_ROLLBACK = "documents_delete_on_rollback"


def delete_after_commit(session: Session, storage: DocumentStorage, key: str) -> None:
    """Delete the file once the transaction commits (its row is gone or points elsewhere)."""
    session.info.setdefault(_DELETE_ON_COMMIT, []).append((storage, key))


def delete_after_rollback(session: Session, storage: DocumentStorage, key: str) -> None:
    """Delete the file if the transaction does not commit (no row will refer to it)."""
    session.info.setdefault(_DELETE_ON_ROLLBACK, []).append((storage, key))


def _delete_files(pairs: list[tuple[DocumentStorage, str]] | None) -> None:
    for storage, key in pairs or []:
        try:
            storage.delete(key)
        except (OSError, StorageUnavailable) as exc:  # an orphan file is harmless; a row without its file is not
            log.warning("stored file %s not deleted: %s", key, exc)


@event.listens_for(Session, "after_commit")
def _files_after_commit(session: Session) -> None:
    session.info.pop(_DELETE_ON_ROLLBACK, None)  # the new files are now referenced by committed rows
    _delete_files(session.info.pop(_DELETE_ON_COMMIT, None))


@event.listens_for(Session, "after_transaction_end")
def _files_after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """Ended without commit (rolled back, or the session closed): the new files belong to no row."""
    if transaction.parent is None:
        session.info.pop(_DELETE_ON_COMMIT, None)  # the old rows are still there, so are their files
        _delete_files(session.info.pop(_DELETE_ON_ROLLBACK, None))
