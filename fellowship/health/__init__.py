"""Health of the background processing: heartbeats of the Celery worker and beat, the outbox backlog, and the
checks staff, the banner and `/healthz?deep=1` read. App-wide machinery of the task system; no domain area
imports it."""
