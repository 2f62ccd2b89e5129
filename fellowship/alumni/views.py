"""alumni/views pages."""

from fellowship.alumni import bp  # noqa: F401
