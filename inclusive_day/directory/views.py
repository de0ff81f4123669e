"""Public directory pages (no login)."""

from inclusive_day.directory import bp  # noqa: F401
