"""Rate limits that hold across every worker: Flask-Limiter's counters kept in the app's own
database when no Redis is configured (see storage.py)."""
