"""Rendering report PDFs off the request: an RQ queue on Redis when REDIS_URL is set.

A large recap (more activities than REPORT_QUEUE_THRESHOLD) is rendered by a worker
(`flask --app inclusive_day report worker`) into the PDF cache, while the browser waits on
a status page; without Redis, or for a small scope, the request renders it inline. A job is
named after the PDF's fingerprint, so asking twice for the same PDF queues it once.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

QUEUE_NAME = "reports"
JOB_TIMEOUT = 600  # seconds a render may take before the worker gives up
RESULT_TTL = 3600


@dataclass(frozen=True)
class JobState:
    """Where a queued render stands: queued, started, finished, failed or missing."""

    status: str
    position: int | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "stopped", "canceled")


def redis_connection() -> Redis | None:
    """The Redis connection for report jobs, when REDIS_URL is configured."""
    url = current_app.config.get("REDIS_URL")
    return Redis.from_url(url) if url else None


def report_queue(is_async: bool | None = None) -> Queue | None:
    """The reports queue, or None when reports render inline (no REDIS_URL)."""
    connection = redis_connection()
    if connection is None:
        return None
    if is_async is None:
        is_async = current_app.config.get("REPORT_QUEUE_ASYNC", True)
    return Queue(QUEUE_NAME, connection=connection, is_async=is_async)


def queue_threshold() -> int:
    """Scopes with more activities than this render in the background (when a queue exists)."""
    return int(current_app.config.get("REPORT_QUEUE_THRESHOLD", 5000))


def enqueue(kind: str, params: dict, lang: str, fingerprint: str) -> JobState:
    """Queue the render of a report PDF into the cache, unless it is queued or running."""
    queue = report_queue()
    state = job_state(fingerprint)
    if state.status in ("queued", "started", "deferred", "scheduled"):
        return state
    if state.status != "missing":
        Job.fetch(fingerprint, connection=queue.connection).delete()
    job = queue.enqueue_call(
        render_job,
        args=(kind, dict(params), lang, fingerprint),
        job_id=fingerprint,
        timeout=JOB_TIMEOUT,
        result_ttl=RESULT_TTL,
        failure_ttl=RESULT_TTL,
        description=f"{kind} {params} {lang}",
    )
    return _state_of(job)


def job_state(fingerprint: str) -> JobState:
    """How the render job of this fingerprint is doing ("missing" when there is none)."""
    connection = redis_connection()
    if connection is None:
        return JobState("missing")
    try:
        job = Job.fetch(fingerprint, connection=connection)
    except NoSuchJobError:
        return JobState("missing")
    return _state_of(job)


def _state_of(job: Job) -> JobState:
    status = job.get_status(refresh=True)
    value = status.value if isinstance(status, JobStatus) else str(status or "missing")
    position = job.get_position() if value == "queued" else None
    return JobState(value, position)


def render_job(kind: str, params: dict, lang: str, fingerprint: str) -> str:
    """The worker's task: render one report PDF into the cache; return its file name."""
    if has_app_context():
        with current_app.app_context():
            return _render_into_cache(kind, params, lang, fingerprint)
    from inclusive_day import create_app

    with create_app().app_context():
        return _render_into_cache(kind, params, lang, fingerprint)


def _render_into_cache(kind: str, params: dict, lang: str, fingerprint: str) -> str:
    from inclusive_day.extensions import db
    from inclusive_day.reports.pdf import render_report, store

    try:
        data = render_report(kind, params, lang)
        return store(fingerprint, data).name
    finally:
        db.session.remove()
