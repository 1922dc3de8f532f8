"""Back up and restore a retain installation: the database and the files in RETAIN_HOME.

One archive (a gzip'd tar, written owner-only, mode 0600) holds:

- ``manifest.json``: what the archive holds (format version, database engine, time made);
- ``database.sqlite3`` (a copy made with SQLite's online backup API, safe while the web
  server and the worker write) or ``database.pgdump`` (``pg_dump --format=custom``);
- ``home/...``: every other file in RETAIN_HOME: the secret key, uploads and reject files
  (``media/``), the job queue (``huey.sqlite3``, also copied with the backup API), the demo
  login and any settings file kept there. SQLite's ``-wal``/``-shm``/``-journal`` files and
  earlier backups are left out.

Restore puts the database back (``pg_restore --clean`` on PostgreSQL, an atomic file
replace on SQLite) and then the files. It refuses a database that already holds tables
unless ``force`` is given.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
HOME_PREFIX = "home/"
#: Left out of the archive: SQLite's side files (the backup API copies the data), backups.
_SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal")
_SKIPPED_DIRS = {"backups"}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    engine: str
    files: int
    size: int


@dataclass(frozen=True)
class RestoreResult:
    engine: str
    files: int
    made_at: str


def _engine(database: Mapping[str, Any]) -> str:
    engine = str(database["ENGINE"])
    if engine.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in engine:
        return "postgresql"
    raise BackupError(f"backup supports SQLite and PostgreSQL, not {engine}")


def _pg_env(database: Mapping[str, Any]) -> dict[str, str]:
    """libpq's environment for Django's connection settings (no password on a command line)."""
    env = dict(os.environ)
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        value = database.get(key)
        if value:
            env[var] = str(value)
    sslmode = (database.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} not found: install PostgreSQL's client tools "
            "(Debian/Ubuntu: apt install postgresql-client)"
        )
    return path


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database with the online backup API (consistent under writers)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _home_files(home: Path, exclude: set[Path]) -> list[Path]:
    files = []
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home)
        if rel.parts[0] in _SKIPPED_DIRS or not path.is_file() or path.is_symlink():
            continue
        if path.resolve() in exclude or path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        files.append(path)
    return files


def backup_create(*, database: Mapping[str, Any], home: Path, out: Path) -> BackupResult:
    """Write one owner-only archive of the database and RETAIN_HOME's files to ``out``."""
    engine = _engine(database)
    out = out.expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    exclude = {out}
    with tempfile.TemporaryDirectory(prefix="retain-backup-") as tmp:
        work = Path(tmp)
        if engine == "sqlite":
            db_path = Path(str(database["NAME"])).resolve()
            exclude.add(db_path)
            db_copy = work / SQLITE_MEMBER
            _sqlite_copy(db_path, db_copy)
        else:
            db_copy = work / PG_MEMBER
            _run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--file={db_copy}",
                ],
                _pg_env(database),
            )
        files = _home_files(home, exclude)
        manifest = {
            "format": FORMAT,
            "engine": engine,
            "made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "files": [str(p.relative_to(home)) for p in files],
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial = out.with_name(out.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when a partial file of an earlier failed run was there
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                tar.add(work / MANIFEST, arcname=MANIFEST)
                tar.add(db_copy, arcname=db_copy.name)
                for path in files:
                    member = HOME_PREFIX + str(path.relative_to(home))
                    if path.suffix == ".sqlite3":  # a live database (the job queue)
                        copy = work / "copy.sqlite3"
                        _sqlite_copy(path, copy)
                        tar.add(copy, arcname=member)
                        copy.unlink()
                    else:
                        tar.add(path, arcname=member)
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(path=out, engine=engine, files=len(files), size=out.stat().st_size)


def _manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BackupError(f"{archive}: not a retain backup (no {MANIFEST})")
    manifest: dict[str, Any] = json.loads(member.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive}: backup format {manifest.get('format')!r} is not known")
    return manifest


def backup_restore(
    *, archive: Path, database: Mapping[str, Any], home: Path, tables: list[str], force: bool
) -> RestoreResult:
    """Restore ``archive`` into the database and RETAIN_HOME.

    ``tables`` are the tables the target database holds now; a database with tables is
    only overwritten with ``force``.
    """
    engine = _engine(database)
    archive = archive.expanduser().resolve()
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    try:
        tar = tarfile.open(archive, mode="r:gz")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive}: not a retain backup ({exc})") from exc
    with tar, tempfile.TemporaryDirectory(prefix="retain-restore-") as tmp:
        manifest = _manifest(tar, archive)
        if manifest["engine"] != engine:
            raise BackupError(
                f"{archive} holds a {manifest['engine']} database; "
                f"RETAIN_DATABASE_URL points to {engine}"
            )
        if tables and not force:
            raise BackupError(
                f"the database already holds {len(tables)} tables; "
                "restore with --force to replace them"
            )
        work = Path(tmp)
        # The "data" filter refuses absolute paths, links out of the folder and devices.
        tar.extractall(work, filter="data")
        if engine == "sqlite":
            target = Path(str(database["NAME"])).resolve()
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = target.with_name(target.name + ".restoring")
            shutil.copyfile(work / SQLITE_MEMBER, staged)
            os.chmod(staged, 0o600)
            for suffix in _SKIPPED_SUFFIXES:
                Path(str(target) + suffix).unlink(missing_ok=True)
            os.replace(staged, target)
        else:
            _run(
                [
                    _tool("pg_restore"),
                    "--no-owner",
                    "--no-privileges",
                    "--clean",
                    "--if-exists",
                    "--single-transaction",
                    "--exit-on-error",
                    f"--dbname={database['NAME']}",
                    str(work / PG_MEMBER),
                ],
                _pg_env(database),
            )
        files = 0
        source_home = work / HOME_PREFIX.rstrip("/")
        for path in sorted(source_home.rglob("*")) if source_home.exists() else []:
            if not path.is_file():
                continue
            target_file = home / path.relative_to(source_home)
            target_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(path, target_file)
            os.chmod(target_file, 0o600)
            files += 1
    return RestoreResult(engine=engine, files=files, made_at=str(manifest["made_at"]))
