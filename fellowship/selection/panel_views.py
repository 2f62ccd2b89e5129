"""Selection pages (panel_views)."""

from fellowship.selection import bp  # noqa: F401
