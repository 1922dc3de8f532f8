"""`retain backup` and `retain restore` end to end: a demo company with an upload, backed up
from one RETAIN_HOME and restored into a fresh one; every table and every file compared.

The database is that of the pass: SQLite files in the two homes, or (when
RETAIN_DATABASE_URL is PostgreSQL) two databases made for the test and dropped after it."""

from __future__ import annotations

import os
import secrets
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import PASSWORD

RETAIN = [sys.executable, "-c", "from retain.cli import main; main()"]
PG_BASE = os.environ.get("RETAIN_DATABASE_URL", "")
ON_POSTGRES = PG_BASE.startswith(("postgres://", "postgresql://"))


def _run(home: Path, url: str | None, *args: str, check: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETAIN_")}
    env["RETAIN_HOME"] = str(home)
    if url:
        env["RETAIN_DATABASE_URL"] = url
    done = subprocess.run(
        [*RETAIN, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"retain {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def _pg_url(name: str) -> str:
    parts = urlsplit(PG_BASE)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def databases() -> Iterator[tuple[str | None, str | None]]:
    """(source URL, target URL): None on SQLite (the homes' files)."""
    if not ON_POSTGRES:
        yield None, None
        return
    import psycopg

    suffix = secrets.token_hex(4)
    names = [f"retain_backup_src_{suffix}", f"retain_backup_dst_{suffix}"]
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(names[0]), _pg_url(names[1])
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(home: Path, url: str | None) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, by table name."""
    if url is None:
        conn = sqlite3.connect(home / "retain.sqlite3")
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        out = {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
        conn.close()
        return out
    import psycopg

    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema='public' AND table_type='BASE TABLE'"
            )
        ]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}


def test_backup_restores_every_table_and_file_into_a_fresh_home(tmp_path, databases):
    source_url, target_url = databases
    home, fresh = tmp_path / "home", tmp_path / "fresh"
    _run(
        home,
        source_url,
        "demo-data",
        "--customers",
        "30",
        "--as-of",
        "2026-11-01",
        "--password",
        PASSWORD,
    )
    upload = home / "media" / "imports" / "2026" / "customers.csv"
    upload.parent.mkdir(parents=True)
    upload.write_text("name,phone\n张三,13800000000\n", encoding="utf-8")
    (home / "retain.env").write_text("RETAIN_LANGUAGE=en\n")
    archive = tmp_path / "out" / "retain.tar.gz"

    done = _run(home, source_url, "backup", "--out", str(archive))

    engine = "postgresql" if ON_POSTGRES else "sqlite"
    assert done.stdout.startswith(f"Backed up the {engine} database and ")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert not list(archive.parent.glob("*.partial"))

    done = _run(fresh, target_url, "restore", str(archive))
    assert done.stdout.startswith(f"Restored the {engine} database and ")

    before, after = _tables(home, source_url), _tables(fresh, target_url)
    assert sorted(after) == sorted(before)
    assert len(before) > 50
    assert len(before["customers_customer"]) == 30
    assert len(before["orders_order"]) > 30
    for name in before:
        assert after[name] == before[name], name
    for rel in ("secret_key", "media/imports/2026/customers.csv", "retain.env"):
        assert (fresh / rel).read_bytes() == (home / rel).read_bytes(), rel
        assert stat.S_IMODE((fresh / rel).stat().st_mode) == 0o600, rel

    # The restored installation works: the demo users log in with the restored key and data.
    check = _run(
        fresh, target_url, "export-customers", "--as", "admin", "--out", str(tmp_path / "c.csv")
    )
    assert check.stdout.startswith("Exported 30 customers")

    # A database that holds tables is not overwritten by mistake.
    again = _run(fresh, target_url, "restore", str(archive), check=False)
    assert again.returncode == 1
    assert "restore with --force to replace them" in again.stderr
    forced = _run(fresh, target_url, "restore", str(archive), "--force")
    assert forced.returncode == 0
    assert _tables(fresh, target_url) == after


def test_restore_refuses_a_file_that_is_no_backup(tmp_path):
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"not a tar")
    url = None if not ON_POSTGRES else PG_BASE
    done = _run(tmp_path / "home", url, "restore", str(bogus), "--force", check=False)
    assert done.returncode == 1
    assert f"{bogus}: not a retain backup" in done.stderr
