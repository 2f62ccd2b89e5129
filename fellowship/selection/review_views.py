"""Selection pages (review_views)."""

from fellowship.selection import bp  # noqa: F401
