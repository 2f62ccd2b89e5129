"""Configuration classes; every value comes from the environment, read when the app is created."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)) or default)


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment."""

    DEBUG = False
    TESTING = False
    ENV_NAME = "base"

    def __init__(self) -> None:
        instance = Path(_env("FELLOWSHIP_INSTANCE", str(BASE_DIR / "instance")) or "")
        self.INSTANCE_DIR = str(instance)
        #: Where documents and export files are kept: unset (a folder, UPLOAD_FOLDER or INSTANCE_DIR/uploads),
        #: file:///abs/folder, or s3://bucket?endpoint=...&region=... with the keys in AWS_ACCESS_KEY_ID and
        #: AWS_SECRET_ACCESS_KEY (see fellowship/documents/storage.py). Every host must see the same store.
        self.STORAGE_URL = _env("STORAGE_URL")
        self.UPLOAD_FOLDER = _env("UPLOAD_FOLDER")
        self.SECRET_KEY = _env("SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{instance / 'fellowship.db'}")
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")

        # Mail: SMTP with a timeout on every connection, so a hung server delays, never blocks.
        self.MAIL_SERVER = _env("MAIL_SERVER", "127.0.0.1")
        self.MAIL_PORT = _env_int("MAIL_PORT", 8025)
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        self.MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 10)
        self.MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Fellowship <no-reply@fellowship.local>")
        #: Base of the links written into emails (no request exists in a worker).
        # Links in emails point at the port `make run` / `flask dev` serves (PORT, 5000 by default) unless set.
        self.PUBLIC_URL = (_env("PUBLIC_URL", f"http://127.0.0.1:{_env_int('PORT', 5000)}") or "").rstrip("/")
        #: Who applicants, referees and alumni write to: shown in the footer, on application pages, in every email.
        self.PROGRAMME_CONTACT_NAME = _env("PROGRAMME_CONTACT_NAME", "Fellowship programme office")
        self.PROGRAMME_CONTACT_EMAIL = _env("PROGRAMME_CONTACT_EMAIL", "programme@fellowship.local")

        # Outbox delivery: a refused message is retried with backoff (doubling from the base, capped) for a
        # duration counted from its first attempt; the first refusal after that marks it failed.
        self.OUTBOX_RETRY_FOR_SECONDS = _env_int("OUTBOX_RETRY_FOR_SECONDS", 3 * 24 * 3600)
        self.OUTBOX_RETRY_BASE_SECONDS = _env_int("OUTBOX_RETRY_BASE_SECONDS", 30)
        self.OUTBOX_RETRY_MAX_SECONDS = _env_int("OUTBOX_RETRY_MAX_SECONDS", 3600)
        #: The beat sweep runs this often; it is the only dispatcher of retries (their due time is in the row).
        self.OUTBOX_SWEEP_SECONDS = _env_int("OUTBOX_SWEEP_SECONDS", 60)
        #: A message handed to the broker is handed again by the sweep after this long if nobody took it.
        self.OUTBOX_SWEEP_GRACE_SECONDS = _env_int("OUTBOX_SWEEP_GRACE_SECONDS", 60)
        #: A worker sending a message holds it this long; it must outlast the SMTP exchange (six MAIL_TIMEOUT
        #: steps) with time to spare for recording "sent" through a database outage.
        self.OUTBOX_LEASE_SECONDS = _env_int("OUTBOX_LEASE_SECONDS", 600)
        #: After the broker failed to take a task, this process leaves new ones to the sweep for this long.
        self.BROKER_RETRY_AFTER_SECONDS = _env_int("BROKER_RETRY_AFTER_SECONDS", 10)
        #: Set when Redis is unreachable in development: tasks run in the web process.
        self.TASKS_IN_PROCESS = _env_bool("TASKS_IN_PROCESS", False)
        # Health: worker and beat record a heartbeat this often; staff see a banner, and /healthz?deep=1 answers
        # 503, when either was not seen, or the oldest email due but unsent waited, longer than the threshold.
        self.HEARTBEAT_SECONDS = _env_int("HEARTBEAT_SECONDS", 30)
        self.HEALTH_STALE_AFTER_SECONDS = _env_int("HEALTH_STALE_AFTER_SECONDS", 600)
        #: Each web process re-reads the figures behind the staff banner at most this often.
        self.HEALTH_BANNER_CACHE_SECONDS = _env_int("HEALTH_BANNER_CACHE_SECONDS", 30)
        #: Rehearsals (staging, the fault drills): run the daily and hourly jobs every N seconds instead.
        self.SCHEDULED_JOBS_EVERY_SECONDS = _env_int("SCHEDULED_JOBS_EVERY_SECONDS", 0)
        every = float(self.SCHEDULED_JOBS_EVERY_SECONDS) or None

        self.CELERY = {
            "broker_url": self.REDIS_URL,
            "result_backend": None,
            "task_ignore_result": True,
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_timeout": 3,
            "broker_connection_retry_on_startup": True,
            "broker_transport_options": {"visibility_timeout": 3600, "socket_timeout": 5, "max_retries": 0,
                                         "socket_connect_timeout": 3},
            "task_always_eager": self.TASKS_IN_PROCESS,
            #: Celery's file-backed scheduler, plus the beat's heartbeat and one-line broker-outage logs.
            "beat_scheduler": "fellowship.health.processes:HeartbeatScheduler",
            "beat_schedule": {
                "sweep-outbox": {
                    "task": "notifications.sweep_outbox",
                    "schedule": float(self.OUTBOX_SWEEP_SECONDS),
                },
                "close-due-calls": {"task": "eligibility.close_due_calls", "schedule": every or 60.0},
                "remind-drafts": {"task": "applications.remind_drafts",
                                  "schedule": every or crontab(hour=2, minute=0)},
                "expire-offers": {"task": "selection.expire_offers", "schedule": every or crontab(minute=15)},
                "referee-reminders": {"task": "referees.send_reminders",
                                      "schedule": every or crontab(hour=3, minute=0)},
                "reviewer-reminders": {"task": "selection.remind_reviewers",
                                       "schedule": every or crontab(hour=4, minute=0)},
                "alumni-followups": {"task": "alumni.run_daily_followups",
                                     "schedule": every or crontab(hour=1, minute=0)},
                # Every 10 minutes: a reminder is due 24 hours before an interview, whatever the hour.
                "interview-reminders": {"task": "interviews.send_reminders", "schedule": every or 600.0},
            },
        }

        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", self.REDIS_URL)
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_STRATEGY = "fixed-window"
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "5 per minute")
        #: How many proxies in front of the app append the client's address to X-Forwarded-For (the load balancer,
        #: and nginx on the host if any). 0: the connection's address is the client's. Behind a proxy that must be
        #: set, or every user counts as the proxy's one address against the per-address rate limits.
        self.TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
        #: Requests one personal access token may make to the JSON API (all operations together).
        self.API_RATE_LIMIT = _env("API_RATE_LIMIT", "600 per minute")

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = False
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = False
        self.REMEMBER_COOKIE_DURATION = timedelta(days=14)
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
        self.WTF_CSRF_TIME_LIMIT = 6 * 3600
        self.MAX_CONTENT_LENGTH = 12 * 1024 * 1024

        self.EMAIL_CONFIRM_MAX_AGE = _env_int("EMAIL_CONFIRM_MAX_AGE", 3 * 24 * 3600)
        self.PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MAX_AGE", 3600)
        #: How long an emailed invitation to an account (sent by an admin) can be used.
        self.INVITATION_MAX_AGE = _env_int("INVITATION_MAX_AGE", 7 * 24 * 3600)
        #: Development only: folder where the local mail sink writes received messages.
        self.MAIL_SINK_DIR = _env("MAIL_SINK_DIR")
        self.PER_PAGE = 50
        #: Exports with more rows than this run as a Celery task with a progress page.
        self.EXPORT_INLINE_LIMIT = _env_int("EXPORT_INLINE_LIMIT", 3000)


class DevelopmentConfig(Config):
    DEBUG = True
    ENV_NAME = "development"

    def __init__(self) -> None:
        super().__init__()
        # A fixed development key keeps sessions across restarts; never used outside development.
        self.SECRET_KEY = self.SECRET_KEY or "dev-only-not-secret"  # noqa: S105
        self.MAIL_SINK_DIR = self.MAIL_SINK_DIR or str(Path(self.INSTANCE_DIR) / "mail")


class TestingConfig(Config):
    TESTING = True
    ENV_NAME = "testing"

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = self.SECRET_KEY or "testing-only-not-secret"  # noqa: S105
        self.SERVER_NAME = None


class ProductionConfig(Config):
    ENV_NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        if not self.SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be set in the environment outside development and testing.")
        self.SESSION_COOKIE_SECURE = True
        self.REMEMBER_COOKIE_SECURE = True
        self.PREFERRED_URL_SCHEME = "https"


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_environment(name: str | None = None) -> Config:
    """The config object named by `name` or FELLOWSHIP_CONFIG (default: development)."""
    key = name or _env("FELLOWSHIP_CONFIG", "development") or "development"
    try:
        return CONFIGS[key]()
    except KeyError:
        raise RuntimeError(f"Unknown FELLOWSHIP_CONFIG {key!r}; use one of {', '.join(CONFIGS)}.") from None
