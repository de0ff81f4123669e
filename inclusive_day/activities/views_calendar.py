"""Month, week and list calendars of activities for any subtree."""

from inclusive_day.activities import bp  # noqa: F401
