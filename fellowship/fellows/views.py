"""fellows/views pages."""

from fellowship.fellows import bp  # noqa: F401
