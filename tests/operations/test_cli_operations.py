"""`retain score` and `retain daily` as real processes on a file SQLite database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow


def retain(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    env["RETAIN_HOME"] = str(home)
    env["RETAIN_LANGUAGE"] = "en"
    return subprocess.run(
        [sys.executable, "-m", "retain.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_score_then_daily_fills_the_inboxes_and_a_second_run_changes_nothing(tmp_path):
    made = retain(
        "demo-data",
        "--customers",
        "150",
        "--seed",
        "3",
        "--as-of",
        "2026-11-01",
        "--password",
        PASSWORD,
        home=tmp_path,
    )
    assert made.returncode == 0, made.stderr

    scored = retain("score", "--as-of", "2026-11-01", home=tmp_path)
    daily = retain("daily", "--as-of", "2026-11-01", home=tmp_path)
    with sqlite3.connect(tmp_path / "retain.sqlite3") as con:
        customers = con.execute("select count(*) from customers_customer").fetchone()[0]
        # the demo's history has done tasks of its measured plans; the daily run adds open ones
        tasks = con.execute(
            "select id, customer_id, key, owner_id, status from tasks_task"
            " where status = 'open' order by id"
        ).fetchall()
        owners = {
            r[0]
            for r in con.execute(
                "select distinct u.username from tasks_task t join accounts_user u"
                " on u.id = t.owner_id where t.status = 'open'"
            )
        }
    again_score = retain("score", "--as-of", "2026-11-01", home=tmp_path)
    again_daily = retain("daily", "--as-of", "2026-11-01", home=tmp_path)
    with sqlite3.connect(tmp_path / "retain.sqlite3") as con:
        tasks_after = con.execute(
            "select id, customer_id, key, owner_id, status from tasks_task"
            " where status = 'open' order by id"
        ).fetchall()

    assert scored.returncode == daily.returncode == 0, scored.stderr + daily.stderr
    assert scored.stdout.strip().startswith(
        f"Scored {customers} customers as of 2026-11-01: 0 segment changes"
    )
    assert f"{len(tasks)} playbook tasks created, 0 withdrawn" in daily.stdout
    assert {"sales1", "sales2", "sales3", "sales4", "sales5", "sales6"} <= owners
    assert tasks_after == tasks
    assert "0 automatic tags added, 0 removed" in again_score.stdout
    assert "0 playbook tasks created, 0 withdrawn" in again_daily.stdout


def test_a_bad_date_is_a_clear_error(tmp_path):
    result = retain("score", "--as-of", "1 November", home=tmp_path)

    assert result.returncode == 2
    assert "--as-of must be a date like 2026-11-01, not '1 November'" in result.stderr
