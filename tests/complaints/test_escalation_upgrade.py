"""A database made while ``ComplaintEscalation`` lived in the tasks app upgrades with
``retain migrate`` and keeps its escalations and the permissions on them.

``escalation_era.sql`` is the ``sqlite3 .dump`` of a database made by commit 31cc4c9 (the last
one with ``tasks.ComplaintEscalation``): ``retain migrate``, three high-severity complaints
opened through ``complaint_open`` (two of them two days and one day old, one just now), then
``complaint_deadlines_check``, which escalated the two overdue ones; a group ``auditors`` and
the user ``li`` hold ``view_complaintescalation``. The upgrade runs the real command in its own
process against a copy, as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.upgrade import old_database, permissions_held
from tests.upgrade import retain_migrate as _retain_migrate
from tests.upgrade import rows as _rows

DUMP = Path(__file__).with_name("escalation_era.sql")
ESCALATIONS = (
    "SELECT e.id, c.description, e.deadline, e.escalated_at FROM {table} e"
    " JOIN complaints_complaint c ON c.id = e.complaint_id ORDER BY e.id"
)
HELD = permissions_held("ct.model = 'complaintescalation'")


def test_a_tasks_era_database_keeps_its_escalations_and_permissions(tmp_path):
    database = tmp_path / "old.sqlite3"
    old_database(DUMP, database)
    escalations = _rows(database, ESCALATIONS.format(table="tasks_complaintescalation"))
    held = _rows(database, HELD)
    assert [e[1] for e in escalations] == ["投诉 0", "投诉 1"]
    assert {app for _, _, app, _, _ in held} == {"tasks"}
    assert ("group", "auditors", "tasks", "complaintescalation", "view_complaintescalation") in held
    assert ("user", "li", "tasks", "complaintescalation", "view_complaintescalation") in held

    result = _retain_migrate(tmp_path, database)

    assert result.returncode == 0, result.stderr
    assert "complaints.0006_complaintescalation... OK" in result.stdout
    after = ESCALATIONS.format(table="complaints_complaintescalation")
    assert _rows(database, after) == escalations
    assert _rows(database, HELD) == [(k, who, "complaints", m, code) for k, who, _, m, code in held]
    assert _rows(
        database, "SELECT app_label FROM django_content_type WHERE model = 'complaintescalation'"
    ) == [("complaints",)]
    tables = {r[0] for r in _rows(database, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "tasks_complaintescalation" not in tables
    assert _rows(database, "PRAGMA foreign_key_check") == []

    again = _retain_migrate(tmp_path, database)  # nothing left to move

    assert again.returncode == 0, again.stderr
    assert "Applying" not in again.stdout
    assert _rows(database, after) == escalations
    assert _rows(database, HELD) == [(k, who, "complaints", m, code) for k, who, _, m, code in held]


def test_the_deadline_check_still_escalates_once_after_the_move(tmp_path):
    """The upgraded database is used by the code: a complaint already escalated in the tasks
    era is not escalated again, the one opened just now is once it is overdue."""
    database = tmp_path / "old.sqlite3"
    old_database(DUMP, database)
    assert _retain_migrate(tmp_path, database).returncode == 0
    script = (
        "import datetime as dt, django; django.setup();"
        "from django.utils import timezone;"
        "from retain.complaints.deadlines import complaint_deadlines_check as check;"
        "print(check(now=timezone.now() + dt.timedelta(days=1)).escalated)"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    environ.update(
        RETAIN_HOME=str(tmp_path),
        RETAIN_DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="retain.settings",
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environ, timeout=600
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split()[-1] == "1"
    assert [
        r[1] for r in _rows(database, ESCALATIONS.format(table="complaints_complaintescalation"))
    ] == [
        "投诉 0",
        "投诉 1",
        "投诉 2",
    ]
