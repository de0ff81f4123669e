"""How far behind its primary the reporting replica is: the time from a commit on the primary
until the replica has replayed it, idle and while a writer loads the primary.

Usage: .venv/bin/python bench/replica_lag.py --database-url postgresql://postgres@127.0.0.1:5432/bench_replica
       [--replica-url postgresql://postgres@127.0.0.1:5433/bench_replica] [--commits N]
       [--load-rows N]
Needs a streaming replica of the primary's server (scripts/replica.sh makes one on port 5433;
without --replica-url the primary's URL on port 5433 is used). The bench database is emptied
and given one scratch table; a physical replica follows it by itself.

1. idle: --commits single-row commits, one after the other; for each, the seconds from its
   COMMIT returning until the replica's pg_last_wal_replay_lsn() passes the primary's
   pg_current_wal_lsn() read right after it (polled every millisecond);
2. loaded: the same, while another connection commits --load-rows rows at a time, as fast as
   it can (bulk imports, a demo load, the nightly rebuilds of counted-once tables).
Prints one JSON line: median, 95th percentile and largest lag in milliseconds for each.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time

from _shared import arguments, empty_database
from sqlalchemy import create_engine, make_url, text

from inclusive_day.replica import replayed_behind

POLL_SECONDS = 0.001
GIVE_UP_SECONDS = 60


def lag_after_commit(primary, replica) -> float:
    """Seconds from a one-row commit on the primary until the replica has replayed it."""
    primary.execute(text("INSERT INTO lag_probe (note) VALUES ('probe')"))
    primary.commit()
    committed = time.perf_counter()
    written = primary.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
    primary.commit()
    while replayed_behind(replica, written) > 0:
        if time.perf_counter() - committed > GIVE_UP_SECONDS:
            raise RuntimeError("the replica replayed nothing for a minute: is it streaming?")
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - committed


def figures(lags: list[float]) -> dict:
    ms = sorted(lag * 1000 for lag in lags)
    return {
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
        "max_ms": round(ms[-1], 2),
    }


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--replica-url")
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--load-rows", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(args.database_url, tmp, "bench_replica")
    if not url.startswith("postgresql"):
        raise SystemExit("A replica needs PostgreSQL: give --database-url postgresql://...")
    replica_url = args.replica_url or make_url(url).set(port=5433).render_as_string(False)
    replica_url = replica_url.replace("postgresql://", "postgresql+psycopg://", 1)
    primary_engine = create_engine(url)
    replica_engine = create_engine(replica_url, isolation_level="AUTOCOMMIT")
    with primary_engine.begin() as conn:
        conn.execute(text("CREATE TABLE lag_probe (id bigserial PRIMARY KEY, note text)"))
    result = {"database": "postgresql", "commits": args.commits, "load_rows": args.load_rows}
    stop = threading.Event()

    def load() -> None:
        with primary_engine.connect() as conn:
            while not stop.is_set():
                conn.execute(
                    text(
                        "INSERT INTO lag_probe (note) SELECT repeat('x', 200) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"n": args.load_rows},
                )
                conn.commit()

    with primary_engine.connect() as primary, replica_engine.connect() as replica:
        # The replica knows the new table once it has replayed its creation.
        lag_after_commit(primary, replica)
        result["idle"] = figures([lag_after_commit(primary, replica) for _ in range(args.commits)])
        writer = threading.Thread(target=load)
        writer.start()
        try:
            result["loaded"] = figures(
                [lag_after_commit(primary, replica) for _ in range(args.commits)]
            )
        finally:
            stop.set()
            writer.join()
    with primary_engine.begin() as conn:
        result["rows_loaded"] = conn.execute(text("SELECT count(*) FROM lag_probe")).scalar_one()
        conn.execute(text("DROP TABLE lag_probe"))
    primary_engine.dispose()
    replica_engine.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
