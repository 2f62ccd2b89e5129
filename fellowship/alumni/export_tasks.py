"""Background build of large alumni exports (ExportJob), with progress the staff page shows."""

from __future__ import annotations

from celery import shared_task

from fellowship.alumni import exports
from fellowship.extensions import db


@shared_task(name="alumni.build_export", acks_late=True)
def build_export_task(job_id: int) -> int | None:
    """Build one export job; a second delivery of the same job does nothing (the claim has one winner)."""
    job = exports.build_export(job_id)
    db.session.commit()
    return job.done_rows if job is not None else None
