"""Selection pages (decision_views)."""

from fellowship.selection import bp  # noqa: F401
