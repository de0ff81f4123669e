"""The audit log's pages."""

from inclusive_day.audit import bp  # noqa: F401
