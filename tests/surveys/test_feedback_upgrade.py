"""A database made while the surveys app was called ``feedback`` upgrades with ``retain migrate``.

``feedback_era.sql`` is the ``sqlite3 .dump`` of a database made by commit 097120e (the last one
with ``retain.feedback``): ``retain migrate``, then six customers, each with an NPS answer
entered through ``survey_answer_enter`` (audited; the four detractors got service tasks), an
unanswered question and a satisfaction answer. The upgrade runs the real command in its own
process against a copy, as a user would.
"""

from __future__ import annotations

from pathlib import Path

from retain.accounts.access import ROLE_PERMISSIONS
from tests.upgrade import old_database
from tests.upgrade import retain_migrate as _retain_migrate
from tests.upgrade import rows as _rows

DUMP = Path(__file__).with_name("feedback_era.sql")
ANSWERS = (
    "SELECT r.id, s.name, c.code, r.sent_at, r.answered_at, r.nps, r.satisfaction, r.comment"
    " FROM {prefix}_surveyresponse r JOIN {prefix}_survey s ON s.id = r.survey_id"
    " JOIN customers_customer c ON c.id = r.customer_id ORDER BY r.id"
)
GROUP_PERMISSIONS = (
    "SELECT g.name, ct.app_label, p.codename FROM auth_group_permissions gp"
    " JOIN auth_group g ON g.id = gp.group_id JOIN auth_permission p ON p.id = gp.permission_id"
    " JOIN django_content_type ct ON ct.id = p.content_type_id"
    " WHERE ct.model IN ('survey', 'surveyresponse') ORDER BY 1, 3"
)


def _old_database(path: Path) -> None:
    old_database(DUMP, path)


def test_a_feedback_era_database_keeps_its_answers_permissions_and_history(tmp_path):
    database = tmp_path / "old.sqlite3"
    _old_database(database)
    answers = _rows(database, ANSWERS.format(prefix="feedback"))
    permissions = _rows(database, GROUP_PERMISSIONS)
    assert len(answers) == 18 and sum(r[5] is not None for r in answers) == 6
    assert {app for _, app, _ in permissions} == {"feedback"}

    result = _retain_migrate(tmp_path, database)

    assert result.returncode == 0, result.stderr
    assert "Renamed the 'feedback' app" in result.stdout
    assert _rows(database, ANSWERS.format(prefix="surveys")) == answers
    kept = {(group, "surveys", codename) for group, _, codename in permissions}
    now_held = set(_rows(database, GROUP_PERMISSIONS))
    assert kept <= now_held  # every group keeps what it held
    for group, app, codename in now_held - kept:  # and gains only what the policy gives it now
        assert f"{app}.{codename}" in ROLE_PERMISSIONS[group], (group, codename)
    tables = {r[0] for r in _rows(database, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert not {t for t in tables if t.startswith("feedback_")}
    assert _rows(database, "SELECT COUNT(*) FROM django_migrations WHERE app='feedback'") == [(0,)]
    assert _rows(database, "SELECT name FROM django_migrations WHERE app='surveys'")[0] == (
        "0001_initial",
    )
    assert _rows(database, "SELECT object_type, COUNT(*) FROM audit_auditevent GROUP BY 1") == [
        ("surveys.surveyresponse", 6)
    ]
    # the answers' foreign key follows the renamed survey table
    assert _rows(database, "PRAGMA foreign_key_check") == []
    assert (
        "surveys_survey"
        in _rows(database, "SELECT sql FROM sqlite_master WHERE name='surveys_surveyresponse'")[0][
            0
        ]
    )

    again = _retain_migrate(tmp_path, database)  # a second run has nothing to rename

    assert again.returncode == 0, again.stderr
    assert "Renamed" not in again.stdout
    assert _rows(database, ANSWERS.format(prefix="surveys")) == answers


def test_a_new_database_is_not_touched_by_the_rename(tmp_path):
    database = tmp_path / "new.sqlite3"

    result = _retain_migrate(tmp_path, database)

    assert result.returncode == 0, result.stderr
    assert "Renamed" not in result.stdout
    assert _rows(database, "SELECT COUNT(*) FROM surveys_surveyresponse") == [(0,)]
