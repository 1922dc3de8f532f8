"""Huey jobs of scoring: the nightly run."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task()
def scoring_run_job(as_of: str) -> int:
    """Score every customer as of a date (YYYY-MM-DD); returns the run id."""
    from retain.scoring.services import scoring_run

    return scoring_run(as_of=dt.date.fromisoformat(as_of)).pk


@db_periodic_task(crontab(hour="1", minute="30"))
def scoring_nightly() -> None:
    from retain.scoring.services import scoring_run

    scoring_run(as_of=timezone.localdate())
