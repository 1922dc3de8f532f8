"""Health and readiness of a running retain, for load balancers and monitors.

``liveness`` says the process answers (no database). ``readiness`` asks the database, the
job queue and the last scoring run. Both return plain figures and states only: no names,
no error texts (an exception's class name at most), nothing about a customer.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

#: A last scoring run older than this is reported ``stale`` (the nightly run is daily).
SCORING_STALE_AFTER = dt.timedelta(hours=36)


def liveness() -> dict[str, Any]:
    return {"status": "ok"}


def _database() -> dict[str, Any]:
    from django.db import connection

    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; the class name says which
        return {"ok": False, "error": type(exc).__name__}
    return {
        "ok": True,
        "vendor": connection.vendor,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _queue() -> dict[str, Any]:
    from huey.contrib.djhuey import HUEY

    backend = "redis" if type(HUEY).__name__ == "RedisHuey" else "sqlite"
    try:
        pending = HUEY.pending_count()
    except Exception as exc:  # Redis down, SQLite file unreadable
        return {"ok": False, "backend": backend, "error": type(exc).__name__}
    return {"ok": True, "backend": backend, "pending": pending}


def _scoring(now: dt.datetime) -> dict[str, Any]:
    from retain.scoring.models import ScoringRun

    try:
        run = (
            ScoringRun.objects.order_by("-started_at")
            .only("as_of", "status", "started_at", "finished_at")
            .first()
        )
    except Exception as exc:
        return {"state": "unknown", "error": type(exc).__name__}
    if run is None:
        return {"state": "never"}
    at = run.finished_at or run.started_at
    age = now - at
    return {
        "state": run.status,
        "as_of": run.as_of.isoformat(),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "age_seconds": int(age.total_seconds()),
        "stale": age > SCORING_STALE_AFTER,
    }


def readiness(*, now: dt.datetime) -> tuple[bool, dict[str, Any]]:
    """(ready, report). Ready when the database and the job queue answer; the last scoring
    run is reported (a failed or stale run is shown, it does not take retain out of service)."""
    database = _database()
    queue = _queue()
    scoring = _scoring(now) if database["ok"] else {"state": "unknown"}
    ready = bool(database["ok"] and queue["ok"])
    return ready, {
        "status": "ok" if ready else "unavailable",
        "checks": {"database": database, "queue": queue, "scoring": scoring},
    }
