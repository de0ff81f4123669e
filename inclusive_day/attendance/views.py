"""Staff pages for attendance: headcounts, check-ins, tally, paper sheets, live counter."""

# The public QR check-in pages live in their own module on this blueprint.
from inclusive_day.attendance import views_public  # noqa: F401
