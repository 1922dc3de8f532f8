"""End to end with a real Huey worker process on a file SQLite database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow


def _env(home: Path, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    env.update(
        RETAIN_HOME=str(home),
        RETAIN_EMAIL_HOST="127.0.0.1",
        RETAIN_EMAIL_PORT=str(smtp_port),
        RETAIN_EMAIL_FROM="retain@example.com",
    )
    return env


def _python(code: str, env: dict[str, str]) -> None:
    setup = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='retain.settings'; django.setup()\n"
    subprocess.run([sys.executable, "-c", setup + code], env=env, check=True, timeout=120)


def _wait(db: Path, sql: str, want, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as con:
            value = con.execute(sql).fetchone()[0]
        if want(value):
            return value
        time.sleep(0.5)
    return value


def test_the_worker_scores_runs_the_daily_jobs_and_mails(tmp_path, smtp_server):
    from django.conf import settings

    env = _env(tmp_path, settings.EMAIL_PORT)  # the smtp_server fixture set it
    db = tmp_path / "retain.sqlite3"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "retain.cli",
            "demo-data",
            "--customers",
            "150",
            "--seed",
            "3",
            "--as-of",
            "2026-11-01",
            "--password",
            PASSWORD,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    worker = subprocess.Popen(
        [sys.executable, "-m", "retain.cli", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # when a scoring run, the daily jobs and a staff e-mail are queued
        _python(
            "from retain.pipeline.tasks import pipeline_job; "
            "pipeline_job('2026-11-01', ['scores', 'board'])",
            env,
        )
        status = _wait(
            db, "select group_concat(status) from scoring_scoringrun", lambda v: v == "done"
        )
        assert status == "done"
        # a person with a birthday today who agreed to e-mail
        _python(
            "import datetime as dt\n"
            "from retain.customers.models import Customer\n"
            "from retain.customers.services import consent_set\n"
            "c = Customer.objects.filter(kind='person').exclude(email='').order_by('id').first()\n"
            "Customer.objects.filter(pk=c.pk).update(birthday=dt.date(1990, 11, 1), email='bday@example.com')\n"
            "consent_set(customer=c, channel='email', granted=True, source='test')\n",
            env,
        )
        _python(
            "from retain.pipeline.tasks import pipeline_job; "
            "pipeline_job('2026-11-01', ['tasks', 'alerts', 'care', 'complaints'])",
            env,
        )
        _python(
            "from retain.tasks.tasks import email_send; "
            "email_send(subject='worker check', body='hello', to=['li@example.com'])",
            env,
        )
        # then the worker did them: scores, tasks for the sales users, the e-mail
        scored = _wait(db, "select count(*) from scoring_customerscore", lambda v: v > 0)
        customers = _wait(db, "select count(*) from customers_customer", lambda v: True)
        tasks = _wait(db, "select count(*) from tasks_task", lambda v: v > 0)
        assert scored == customers
        assert tasks > 0
        mail = smtp_server.wait_for(2, timeout=60)
        assert any(m["Subject"] == "worker check" for m in mail)
        greeting = smtp_server.to("bday@example.com")
        assert len(greeting) == 1 and "生日快乐" in greeting[0].get_payload(decode=True).decode()
        sent = _wait(
            db,
            "select group_concat(status) from care_delivery where address = 'bday@example.com'",
            lambda v: v == "sent",
        )
        assert sent == "sent"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
