"""What the upgrade tests share: a database made by old code (a ``sqlite3 .dump``), the real
``retain migrate`` run in its own process against it, and queries of what it holds."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def old_database(dump: Path, path: Path) -> Path:
    """The database ``dump`` was taken from, at ``path``."""
    with sqlite3.connect(path) as db:
        db.executescript(dump.read_text(encoding="utf-8"))
    return path


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def retain_migrate(home: Path, database: Path) -> subprocess.CompletedProcess[str]:
    """``retain migrate`` on ``database`` as a user runs it (no test settings)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    environ.update({"RETAIN_HOME": str(home), "RETAIN_DATABASE_URL": f"sqlite:///{database}"})
    return subprocess.run(
        [sys.executable, "-m", "retain.cli", "migrate"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=600,
        check=False,
    )


def permissions_held(where: str) -> str:
    """Who holds which permission (group or user, name, app label, model, codename) on the
    content types ``where`` selects (a condition on ``ct``)."""
    joins = (
        " JOIN auth_permission p ON p.id = {link}.permission_id"
        " JOIN django_content_type ct ON ct.id = p.content_type_id"
    )
    return (
        "SELECT 'group', g.name, ct.app_label, ct.model, p.codename FROM auth_group_permissions gp"
        " JOIN auth_group g ON g.id = gp.group_id" + joins.format(link="gp") + f" WHERE {where}"
        " UNION ALL SELECT 'user', u.username, ct.app_label, ct.model, p.codename"
        " FROM accounts_user_user_permissions up JOIN accounts_user u ON u.id = up.user_id"
        + joins.format(link="up")
        + f" WHERE {where} ORDER BY 1, 2, 5"
    )
