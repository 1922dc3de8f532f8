"""End to end: an import job queued as the web does it runs in a real Huey worker process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.imports.conftest import SEED_HEADER, SEED_ROWS, write_csv

pytestmark = pytest.mark.slow


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    env["RETAIN_HOME"] = str(home)
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "retain.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def _wait(db: Path, sql: str, want, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as con:
            row = con.execute(sql).fetchone()
            value = row[0] if row else None
        if want(value):
            return value
        time.sleep(0.3)
    return value


def test_a_queued_import_runs_in_the_worker_with_progress_and_result(tmp_path):
    home = tmp_path / "home"
    env = _env(home)
    _run(["migrate"], env)
    _run(["createuser", "importer", "--role", "manager", "--password", PASSWORD], env)
    rows = [*SEED_ROWS, ["C2024003", "坏公司", "王*", "", "", "去年", "", "", ""]]
    path = write_csv(tmp_path / "客户信息表.csv", SEED_HEADER, rows, "gbk")
    queue = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='retain.settings'; django.setup()\n"
        "from django.core.files import File\n"
        "from retain.accounts.models import User\n"
        "from retain.imports.services import import_job_create, import_job_queue, import_job_update\n"
        f"fh = open({str(path)!r}, 'rb')\n"
        "job = import_job_create(kind='customers', upload=File(fh, name='客户信息表.csv'), "
        "user=User.objects.get(username='importer'))\n"
        "import_job_update(job=job, kind='customers', mapping={}, mode='valid')\n"
        "import_job_queue(job=job)\n"
    )
    subprocess.run([sys.executable, "-c", queue], env=env, check=True, timeout=120)
    db = home / "retain.sqlite3"
    assert _wait(db, "select status from imports_importjob", lambda v: True) == "queued"

    worker = subprocess.Popen(
        [sys.executable, "-m", "retain.cli", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = _wait(
            db, "select status from imports_importjob", lambda v: v in ("done", "failed")
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert status == "done"
    with sqlite3.connect(db) as con:
        job = con.execute(
            "select created_count, rejected_count, processed_rows, reject_file from imports_importjob"
        ).fetchone()
        codes = [r[0] for r in con.execute("select code from customers_customer order by code")]
    assert job[:3] == (2, 1, 3)
    assert codes == ["C2024001", "C2024002"]
    reject = (home / "media" / job[3]).read_text(encoding="utf-8-sig")
    assert reject.splitlines()[1].startswith("C2024003,坏公司")
