"""Huey jobs of the nightly run: thin, each calls :func:`~retain.pipeline.services.pipeline_run`."""

from __future__ import annotations

import datetime as dt
import logging

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from retain.pipeline.queue import signals_connect

log = logging.getLogger(__name__)

signals_connect(HUEY)  # jobs in flight are recorded, so a dead worker's job is not lost


@db_periodic_task(crontab())
def lost_jobs() -> None:
    """Every minute: queue again (once) or fail the jobs of a worker that stopped mid-job."""
    from retain.pipeline.queue import lost_jobs_reap

    lost_jobs_reap()


@db_periodic_task(crontab(hour="1", minute="30"))
def nightly() -> None:
    """Every night at 01:30: the whole run for today (scores, board, the daily steps).

    Tasks and greetings made in the quiet hours wait until they end (08:00 by default).
    """
    from retain.pipeline.services import pipeline_now, pipeline_run

    day, now = pipeline_now(None)
    pipeline_run(as_of=day, now=now)


@db_periodic_task(crontab(minute="*/5"))
def complaint_deadlines() -> None:
    """Every five minutes: escalate complaints past their first-response deadline."""
    from retain.pipeline.models import StepName
    from retain.pipeline.services import pipeline_now, pipeline_run

    day, now = pipeline_now(None)
    pipeline_run(as_of=day, now=now, steps=[StepName.COMPLAINTS])


@db_periodic_task(crontab(minute="45"))
def board_figures_poll() -> None:
    """Every hour: the board of a scoring run made outside the nightly run (once)."""
    from retain.pipeline.models import StepName
    from retain.pipeline.services import pipeline_now, pipeline_run

    day, now = pipeline_now(None)
    pipeline_run(as_of=day, now=now, steps=[StepName.BOARD])


@db_task()
def pipeline_job(as_of: str, steps: list[str] | None = None) -> list[str]:
    """The nightly run (or some of its steps) for a day (YYYY-MM-DD), queued by hand.

    Returns the steps that failed. A step this version no longer has (a job queued before an
    upgrade, e.g. the old "detractors") is left out with a warning, not a failed job.
    """
    from retain.pipeline.models import StepName
    from retain.pipeline.services import ALL_STEPS, pipeline_now, pipeline_run

    day, now = pipeline_now(dt.date.fromisoformat(as_of))
    known = set(StepName.values)
    gone = [s for s in steps or [] if s not in known]
    if gone:
        log.warning("pipeline job for %s: no step named %s; left out", as_of, ", ".join(gone))
    wanted = ALL_STEPS if steps is None else [StepName(s) for s in steps if s in known]
    result = pipeline_run(as_of=day, now=now, steps=wanted)
    return [s.name.value for s in result.failed]
