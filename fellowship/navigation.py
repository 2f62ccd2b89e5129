"""Where to send the user back to: only paths on this site, never an open redirect."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site ("/calls?page=2"), else None ("//evil", "https://…", "/\\evil")."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
