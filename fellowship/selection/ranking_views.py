"""Selection pages (ranking_views)."""

from fellowship.selection import bp  # noqa: F401
