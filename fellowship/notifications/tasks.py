"""Celery tasks of the outbox: deliver one message, and the beat sweep."""

from __future__ import annotations

from celery import Task, shared_task

from fellowship.notifications import services


@shared_task(name=services.DELIVER_TASK, bind=True, acks_late=True,
             reject_on_worker_lost=True, max_retries=None)
def deliver_message_task(self: Task, message_id: int) -> str:
    result = services.deliver(message_id)
    if result.status == "retry" and result.retry_in is not None and not self.request.is_eager:
        # The due time is also stored on the row, so the sweep re-queues it if this retry is lost.
        services.dispatch(message_id, countdown=result.retry_in)
    return result.status


@shared_task(name="notifications.sweep_outbox", acks_late=True)
def sweep_outbox_task() -> int:
    return services.sweep()
