"""SQLite's write lock (issue #12, item 9): an import stages its rows before it takes the
lock, so other writers are not blocked while the file is read; a lock held elsewhere is
retried and then reported plainly; a locked database never answers HTTP 500."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.http import HttpResponse
from django.urls import path as url

from tests.imports.conftest import write_csv

_calls = {"n": 0}


def _flaky(request):
    """Locked on the first call, fine on the second."""
    _calls["n"] += 1
    if _calls["n"] == 1:
        raise OperationalError("database is locked")
    return HttpResponse("read")


def _always_locked(request):
    raise OperationalError("database is locked")


urlpatterns = [url("flaky/", _flaky), url("locked/", _always_locked)]


@pytest.fixture
def lock_urls(settings):
    settings.ROOT_URLCONF = __name__
    _calls["n"] = 0
    from retain.core import middleware

    old, middleware.RETRY_PAUSE = middleware.RETRY_PAUSE, 0.01
    yield
    middleware.RETRY_PAUSE = old


def test_a_locked_read_is_tried_again(client, lock_urls):
    response = client.get("/flaky/")

    assert (response.status_code, response.content, _calls["n"]) == (200, b"read", 2)


def test_a_locked_write_answers_503_with_a_clear_message_never_500(client, lock_urls):
    client.raise_request_exception = False

    page = client.post("/locked/")
    api = client.get("/locked/", HTTP_ACCEPT="application/json")

    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert "The database is busy with another change (an import, perhaps)" in page.content.decode()
    assert api.status_code == 503
    assert api.json() == {
        "detail": "The database is busy with another change (an import, perhaps); please try "
        "again in a moment."
    }


# --------------------------------------------------------------------------- a real file


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    env["RETAIN_HOME"] = str(home)
    return env


SNIPPET = """
import os, sqlite3, sys, time
os.environ['DJANGO_SETTINGS_MODULE'] = 'retain.settings'
import django
django.setup()
from pathlib import Path
from django.conf import settings
from retain.imports import engine
from retain.imports.reading import ImportFileError
engine.BATCH = 200
db = settings.DATABASES['default']['NAME']
mode = sys.argv[2]
waits = []

def write_elsewhere():
    con = sqlite3.connect(db, timeout=1)
    started = time.perf_counter()
    try:
        con.execute('create table if not exists probe (x integer)')
        con.execute('insert into probe values (1)')
        con.commit()
        waits.append('ok')
    except sqlite3.OperationalError as exc:
        waits.append(str(exc))
    finally:
        con.close()

def progress(done, total):
    if done < 2000:  # while the file is being read and staged
        write_elsewhere()

if mode == 'busy':
    settings.DATABASES['default']['OPTIONS']['timeout'] = 0.2
    engine.LOCK_TRIES, engine.LOCK_PAUSE = 2, 0.05
try:
    result = engine.import_file(path=Path(sys.argv[1]), kind='customers', progress=progress)
    print('RESULT', result.rows, result.created, result.committed)
except ImportFileError as exc:
    print('REFUSED', exc)
print('WAITS', waits)
"""


@pytest.mark.slow
def test_other_writers_are_not_blocked_while_an_import_reads_its_file(tmp_path):
    home = tmp_path / "home"
    env = _env(home)
    done = subprocess.run(
        [sys.executable, "-m", "retain.cli", "migrate"], env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    rows = [[f"C{i:05}", f"公司{i}"] for i in range(3000)]
    path = write_csv(tmp_path / "big.csv", ["客户编号", "客户名称"], rows)

    run = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(path), "normal"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "RESULT 3000 3000 True" in lines
    # Every write made while the file was read went through at once (1 s timeout).
    assert lines[-1] == "WAITS " + repr(["ok"] * 9)


@pytest.mark.slow
def test_a_lock_held_elsewhere_is_retried_then_reported_plainly(tmp_path):
    home = tmp_path / "home"
    env = _env(home)
    done = subprocess.run(
        [sys.executable, "-m", "retain.cli", "migrate"], env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    path = write_csv(tmp_path / "small.csv", ["客户编号", "客户名称"], [["C1", "甲"]])
    holder = sqlite3.connect(home / "retain.sqlite3", isolation_level=None)
    holder.execute("begin immediate")  # a long write elsewhere holds the lock
    try:
        run = subprocess.run(
            [sys.executable, "-c", SNIPPET, str(path), "busy"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        holder.execute("rollback")
        holder.close()

    assert run.returncode == 0, run.stderr
    # The command line speaks the default language, Chinese.
    assert (
        "REFUSED small.csv：数据库一直在处理其他修改；没有导入任何数据。请一分钟后再试。"
        in run.stdout.splitlines()
    )
    with sqlite3.connect(home / "retain.sqlite3") as con:
        assert con.execute("select count(*) from customers_customer").fetchone() == (0,)


@pytest.mark.django_db
def test_rows_staged_past_memory_go_through_a_temporary_file_unchanged(
    tmp_path, importer, monkeypatch
):
    from retain.customers.models import Customer
    from retain.imports import engine

    monkeypatch.setattr(engine, "BATCH", 50)
    monkeypatch.setattr(engine, "STAGE_IN_MEMORY", 100)  # batches 3 and 4 are spilled
    rows = [[f"C{i:03}", f"公司{i}", "2024-01-15"] for i in range(200)]
    rows[170][2] = "2024-02-30"  # a bad date in a spilled batch
    path = write_csv(tmp_path / "c.csv", ["客户编号", "客户名称", "首次接触时间"], rows)

    result = engine.import_file(path=path, kind="customers", actor=importer, valid_rows=True)

    assert (result.rows, result.created, result.rejected) == (200, 199, 1)
    assert [str(e) for e in result.errors] == [
        "row 172, 首次接触时间: 2024-02-30 is not a real date"
    ]
    assert Customer.objects.count() == 199
