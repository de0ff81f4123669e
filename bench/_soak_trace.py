"""A gunicorn config for `bench/soak.py --trace DIR`: where a worker's memory goes.

Each worker starts tracemalloc when it is forked and, every SOAK_TRACE_EVERY seconds, writes
to SOAK_TRACE_DIR a tracemalloc snapshot and a count of the live objects by type
(`<pid>-<n>.snap`, `<pid>-<n>.types.json`). The bench compares the first and the last of each
worker. Tracing slows the workers and costs memory of its own, so a traced run's RSS figure
is not the soak's figure; it only shows which lines keep what.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path


def post_fork(server, worker) -> None:  # noqa: ARG001  (gunicorn's hook signature)
    folder = Path(os.environ["SOAK_TRACE_DIR"])
    every = float(os.environ.get("SOAK_TRACE_EVERY", "60"))
    tracemalloc.start(int(os.environ.get("SOAK_TRACE_FRAMES", "8")))

    def dump() -> None:
        n = 0
        while True:
            time.sleep(every)
            n += 1
            name = folder / f"{os.getpid()}-{n:03d}"
            tracemalloc.take_snapshot().dump(f"{name}.snap")
            types = Counter(type(o).__qualname__ for o in gc.get_objects())
            Path(f"{name}.types.json").write_text(json.dumps(dict(types.most_common(300))))

    threading.Thread(target=dump, daemon=True, name="soak-trace").start()
