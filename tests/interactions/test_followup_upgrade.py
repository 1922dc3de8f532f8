"""A database made while a follow-up record was the model ``Interaction`` upgrades with
``retain migrate`` and keeps every row, permission and audit event.

``followup_era.sql`` is the ``sqlite3 .dump`` of a database made by commit f176de9 (the last one
with ``interactions.Interaction``): ``retain migrate``, then four customers with two follow-ups
each logged through ``followup_log`` (audited; each first one's next step opened a task), one
of those tasks completed through ``task_complete`` (its follow-up linked from the task), a
group ``auditors`` holding ``view_interaction`` and ``change_interaction``, and the user ``li``
holding ``view_interaction`` directly. The upgrade runs the real command in its own process
against a copy, as a user would.
"""

from __future__ import annotations

from pathlib import Path

from tests.upgrade import old_database, permissions_held
from tests.upgrade import retain_migrate as _retain_migrate
from tests.upgrade import rows as _rows

DUMP = Path(__file__).with_name("followup_era.sql")
FOLLOWUPS = (
    "SELECT f.id, c.code, f.kind, f.occurred_at, f.content, f.next_step, f.next_step_on,"
    " u.username, f.logged_at FROM interactions_{table} f"
    " JOIN customers_customer c ON c.id = f.customer_id"
    " LEFT JOIN accounts_user u ON u.id = f.owner_id ORDER BY f.id"
)
HELD = permissions_held("ct.app_label = 'interactions'")


def test_an_interaction_era_database_keeps_its_followups_permissions_and_history(tmp_path):
    database = tmp_path / "old.sqlite3"
    old_database(DUMP, database)
    followups = _rows(database, FOLLOWUPS.format(table="interaction"))
    held = _rows(database, HELD)
    linked = _rows(database, "SELECT id, interaction_id FROM tasks_task ORDER BY id")
    assert len(followups) == 9 and sum(f is not None for _, f in linked) == 1
    assert ("group", "auditors", "interactions", "interaction", "change_interaction") in held
    assert ("user", "li", "interactions", "interaction", "view_interaction") in held

    result = _retain_migrate(tmp_path, database)

    assert result.returncode == 0, result.stderr
    assert "interactions.0002_rename_interaction_followup... OK" in result.stdout
    assert _rows(database, FOLLOWUPS.format(table="followup")) == followups
    assert _rows(database, "SELECT id, followup_id FROM tasks_task ORDER BY id") == linked
    # every holder keeps the same permissions, under the new model and codenames
    assert _rows(database, HELD) == [
        (kind, who, "interactions", "followup", codename.replace("interaction", "followup"))
        for kind, who, _, _, codename in held
    ]
    assert (
        _rows(database, "SELECT codename FROM auth_permission WHERE codename LIKE '%interaction'")
        == []
    )
    assert _rows(
        database, "SELECT model FROM django_content_type WHERE app_label = 'interactions'"
    ) == [("followup",)]
    assert _rows(database, "SELECT object_type, COUNT(*) FROM audit_auditevent GROUP BY 1") == [
        ("interactions.followup", 9)
    ]
    tables = {r[0] for r in _rows(database, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "interactions_followup" in tables and "interactions_interaction" not in tables
    assert _rows(database, "PRAGMA foreign_key_check") == []

    again = _retain_migrate(tmp_path, database)  # nothing left to rename

    assert again.returncode == 0, again.stderr
    assert "Applying" not in again.stdout
    assert _rows(database, FOLLOWUPS.format(table="followup")) == followups
    assert _rows(database, HELD) == [
        (kind, who, "interactions", "followup", codename.replace("interaction", "followup"))
        for kind, who, _, _, codename in held
    ]
