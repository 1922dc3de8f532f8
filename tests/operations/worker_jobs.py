"""Jobs for the test of several workers on Redis, and the worker's entry point with them.

The test's workers import this module, then run the real ``retain worker`` command. Each job
appends a line to a file in $WORKER_JOB_LOG, so the test sees which process ran what, when.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
import django

django.setup()

from huey import crontab  # noqa: E402
from huey.contrib.djhuey import db_periodic_task, db_task  # noqa: E402

LOG_DIR = Path(os.environ.get("WORKER_JOB_LOG", "."))


def _note(name: str, text: str) -> None:
    with (LOG_DIR / name).open("a") as f:
        f.write(text + "\n")


@db_periodic_task(crontab())
def every_minute() -> None:
    now = dt.datetime.now(dt.UTC)
    _note("periodic.log", f"{now:%Y-%m-%dT%H:%M} {os.getpid()} {now:%S.%f}")


@db_task()
def slow_job(seconds: float) -> None:
    _note("slow.log", f"start {os.getpid()}")
    time.sleep(seconds)
    _note("slow.log", f"end {os.getpid()}")
