"""Where a report PDF is rendered: served from the cache, queued for the report worker, or
rendered now in the request.

With REDIS_URL set, a large recap (more activities than REPORT_QUEUE_THRESHOLD) is rendered
by a worker (`flask --app inclusive_day report worker`) into the PDF cache on an RQ queue,
while the browser waits on a status page; without Redis, or for a small scope, the request
renders it inline. A job is named after the PDF's fingerprint, so asking twice for the same
PDF queues it once. A job runs in the app of the process that takes it from the queue: the
worker command's, or the request's own when the queue is synchronous.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from inclusive_day.activities.queries import count_activities
from inclusive_day.extensions import db
from inclusive_day.periods import Month
from inclusive_day.replica import read_from_replica
from inclusive_day.reports.cache import cached, fingerprint, store
from inclusive_day.reports.construction import ConstructionScope
from inclusive_day.reports.documents import render_construction, render_league, render_recap
from inclusive_day.reports.recap import RecapScope, large_recap_threshold, recap_activity_scope
from inclusive_day.units.models import Unit

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
    """The worker's task: render one report PDF into the cache; return its file name.

    It runs in the app of the process that took it (`flask report worker` keeps its app
    context pushed for its jobs), in a context of its own so that its session ends with it."""
    if not has_app_context():
        raise RuntimeError(
            "Report jobs need the app: run them with `flask --app inclusive_day report worker`."
        )
    with current_app.app_context():
        read_from_replica()  # a report's reads, like the report pages': the replica's, if any
        try:
            return store(fingerprint, _render(kind, params, lang)).name
        finally:
            db.session.remove()


def _render(kind: str, params: dict, lang: str) -> bytes:
    """Render a report PDF from its kind and URL parameters (what a queued job carries)."""
    if kind == "recap":
        return render_recap(RecapScope.from_params(params), lang)
    if kind == "league":
        unit = db.session.get(Unit, int(params["unit"]))
        return render_league(unit, Month.parse(params["month"]), lang)
    if kind == "construction":
        return render_construction(ConstructionScope.from_params(params), lang)
    raise ValueError(f"unknown report {kind!r}")


# --- Dispatch --------------------------------------------------------------------------------


def _is_large(scope: RecapScope, unit: Unit) -> bool:
    """Whether the recap of `scope` (over `unit`'s subtree) is worth the report worker."""
    activity_scope = recap_activity_scope(scope.campaign_id, unit.path, scope.start, scope.end)
    return count_activities(activity_scope) > large_recap_threshold()


def recap_pdf(scope: RecapScope, unit: Unit, lang: str) -> Path | JobState:
    """The recap PDF of `scope` in `lang`: the cached file, or the state of its queued render
    when it is large and a queue is configured, else the file rendered now."""
    params = scope.params()
    key = fingerprint("recap", params, lang)
    path = cached(key)
    if path is not None:
        return path
    if report_queue() is not None and _is_large(scope, unit):
        return enqueue("recap", params, lang, key)
    return store(key, render_recap(scope, lang))


def league_pdf(unit: Unit, month: Month, lang: str) -> Path:
    """The monthly notice PDF of `unit` for `month` in `lang`: cached, else rendered now."""
    key = fingerprint("league", {"unit": str(unit.id), "month": str(month)}, lang)
    return cached(key) or store(key, render_league(unit, month, lang))


def construction_pdf(scope: ConstructionScope, lang: str) -> Path:
    """The construction progress notice of `scope` in `lang`: cached, else rendered now."""
    key = fingerprint("construction", scope.params(), lang)
    return cached(key) or store(key, render_construction(scope, lang))
