"""kill -9 in the middle of a scoring run, of an import, of the worker: the next run takes
over at once, the dead import is marked failed with its reason and retried, nothing is
half-written. Real processes on a file SQLite database, or on PostgreSQL in the PostgreSQL
pass (a database of its own next to the test database)."""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow

SETUP = (
    "import django, os, sys, time\n"
    "os.environ['DJANGO_SETTINGS_MODULE'] = 'retain.settings'\n"
    "django.setup()\n"
)


class Site:
    """A retain home with its own database, driven through subprocesses."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
        self.env["RETAIN_HOME"] = str(home)
        self.postgres = os.environ.get("RETAIN_DATABASE_URL", "").startswith("postgres")
        if self.postgres:
            import psycopg

            url = urlsplit(os.environ["RETAIN_DATABASE_URL"])
            name = f"{url.path.lstrip('/')}_kill"
            with psycopg.connect(os.environ["RETAIN_DATABASE_URL"], autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                con.execute(f'CREATE DATABASE "{name}"')
            self.url = urlunsplit(url._replace(path=f"/{name}"))
            self.env["RETAIN_DATABASE_URL"] = self.url

    def one(self, sql: str):
        if self.postgres:
            import psycopg

            with psycopg.connect(self.url) as con:
                return con.execute(sql).fetchone()[0]
        with sqlite3.connect(self.home / "retain.sqlite3", timeout=30) as con:
            return con.execute(sql).fetchone()[0]

    def wait(self, sql: str, want, timeout: float = 120.0):
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.one(sql)
            if want(value):
                return value
            time.sleep(0.2)
        return value

    def retain(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "retain.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def python(self, code: str, timeout: int = 300) -> str:
        done = subprocess.run(
            [sys.executable, "-c", SETUP + code],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def start(self, code: str) -> subprocess.Popen:
        # output to a file: a pipe nobody reads fills up and blocks the worker's logging
        log = (self.home / f"process-{time.monotonic_ns()}.log").open("w")
        return subprocess.Popen(
            [sys.executable, "-c", SETUP + code],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


@pytest.fixture
def site(tmp_path) -> Site:
    site = Site(tmp_path)
    made = site.retain(
        "demo-data", "--customers", "150", "--seed", "3", "--as-of", "2026-11-01",
        "--password", PASSWORD,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return site


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def test_a_scoring_run_killed_mid_run_is_taken_over_at_once(site):
    # a `retain score` that is killed -9 while the engine works
    scoring = site.start(
        "import retain.scoring.services as s\n"
        "real = s.score_customers\n"
        "def slow(*a, **k):\n"
        "    time.sleep(300)\n"
        "    return real(*a, **k)\n"
        "s.score_customers = slow\n"
        "from retain.cli import app\n"
        "app(['score', '--as-of', '2026-11-01'], prog_name='retain')\n"
    )
    try:
        running = site.wait(
            "select count(*) from scoring_scoringrun where status = 'running'", lambda v: v == 1
        )
        assert running == 1
    finally:
        kill(scoring)

    # the next run does not wait two hours: it takes over and scores everyone
    again = site.retain("score", "--as-of", "2026-11-01")

    assert again.returncode == 0, again.stderr
    assert site.one("select string_agg(status, ',' order by id) from scoring_scoringrun"
                    if site.postgres else
                    "select group_concat(status) from scoring_scoringrun") == "failed,done"  # fmt: skip
    assert site.one("select error from scoring_scoringrun order by id limit 1") == (
        "abandoned (stale): its process stopped"
    )
    assert site.one("select count(*) from scoring_customerscore") == site.one(
        "select count(*) from customers_customer"
    )


def test_a_worker_killed_mid_import_leaves_nothing_and_the_job_is_retried(site, tmp_path):
    before = site.one("select count(*) from customers_customer")
    path = tmp_path / "many.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["客户编号", "客户名称", "客户类型"])
        for n in range(120):  # more than one batch (of 50 below): killed with rows written
            # names that share nothing, so the duplicate search after the import stays quick
            name = hashlib.sha1(str(n).encode()).hexdigest()[:12]
            writer.writerow([f"K{n:05d}", name, "企业"])
    job_id = int(
        site.python(
            "from django.core.files.uploadedfile import SimpleUploadedFile\n"
            "from retain.accounts.models import User\n"
            "from retain.imports.services import import_job_create, import_job_queue\n"
            f"data = open({str(path)!r}, 'rb').read()\n"
            "job = import_job_create(kind='customers', upload=SimpleUploadedFile('many.csv', data),"
            " user=User.objects.get(username='admin'),"
            " mapping={'客户编号': 'code', '客户名称': 'name', '客户类型': 'kind'})\n"
            "import_job_queue(job=job)\n"
            "print(job.pk)\n"
        )
    )
    # a worker that stops for a long while after the first batch, inside the transaction
    worker = site.start(
        "import retain.imports.engine as engine\n"
        "import retain.imports.services as s\n"
        "engine.BATCH = 50\n"
        "real = s.import_file\n"
        "def slow(**kw):\n"
        "    report = kw['progress']\n"
        "    def progress(done, total):\n"
        "        report(done, total)\n"
        "        time.sleep(300)  # the first report comes after the first batch\n"
        "    return real(**{**kw, 'progress': progress})\n"
        "s.import_file = slow\n"
        "from retain.cli import app\n"
        "app(['worker', '--workers', '1'], prog_name='retain')\n"
    )
    try:
        progress = site.home / "media" / "imports" / "progress" / f"{job_id}.json"
        deadline = time.monotonic() + 120
        while not progress.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert progress.exists(), site.one(
            f"select status || ': ' || error_summary from imports_importjob where id = {job_id}"
        )
        assert site.one(f"select status from imports_importjob where id = {job_id}") == "running"
    finally:
        kill(worker)

    # nothing of the file was saved; the import page marks the job failed, with the reason
    assert site.one("select count(*) from customers_customer") == before
    marked = site.python(
        "from django.utils import translation\n"
        "translation.activate('en')\n"
        "from retain.imports.services import import_jobs_reap\n"
        "print(import_jobs_reap())\n"
    )
    assert marked == "1"
    assert site.one(f"select status from imports_importjob where id = {job_id}") == "failed"
    assert site.one(f"select error_summary from imports_importjob where id = {job_id}") == (
        "The worker stopped while importing this file (it was killed or crashed). "
        "Nothing from this file was saved; you can retry it."
    )

    # retried, a healthy worker imports the whole file once
    site.python(
        "from retain.accounts.models import User\n"
        "from retain.imports.models import ImportJob\n"
        "from retain.imports.services import import_job_retry\n"
        f"import_job_retry(job=ImportJob.objects.get(pk={job_id}),"
        " user=User.objects.get(username='admin'))\n"
    )
    healthy = site.start("from retain.cli import app\napp(['worker', '--workers', '1'])\n")
    try:
        status = site.wait(
            f"select status from imports_importjob where id = {job_id}",
            lambda v: v in ("done", "failed"),
            timeout=300,
        )
    finally:
        healthy.terminate()
        healthy.wait(timeout=30)
    assert status == "done"
    assert site.one(f"select created_count from imports_importjob where id = {job_id}") == 120
    assert site.one("select count(*) from customers_customer") == before + 120
