"""Analytics tables: door visits and check-ins counted as they arrive, distinct people kept as
compressed bitmaps per unit and month, so that reports read what was counted rather than
recount the raw rows (see analytics.models)."""
