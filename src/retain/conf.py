"""Read retain's settings from the environment, once.

Every setting retain reads is named here; ``settings.py`` and the CLI use this and
nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("zh-hans", "en")


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Environment:
    home: Path
    database_url: str
    secret_key: str
    debug: bool
    allowed_hosts: tuple[str, ...]
    redis_url: str | None
    time_zone: str
    language: str
    https: bool
    email_host: str
    email_port: int
    email_from: str
    search_limit: int


def _secret_key(home: Path) -> str:
    """Return RETAIN_SECRET_KEY, or the key kept in RETAIN_HOME (made on first run)."""
    given = os.environ.get("RETAIN_SECRET_KEY")
    if given:
        return given
    path = home / "secret_key"
    if path.exists():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # Written with O_EXCL so that two processes starting at once agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@lru_cache(maxsize=1)
def environment() -> Environment:
    home = Path(os.environ.get("RETAIN_HOME") or "./.retain").expanduser().resolve()
    database_url = os.environ.get("RETAIN_DATABASE_URL") or f"sqlite:///{home / 'retain.sqlite3'}"
    language = (os.environ.get("RETAIN_LANGUAGE") or "zh-hans").lower()
    if language not in LANGUAGES:
        raise ValueError(f"RETAIN_LANGUAGE must be one of {', '.join(LANGUAGES)}, not {language!r}")
    hosts = os.environ.get("RETAIN_ALLOWED_HOSTS") or "127.0.0.1,localhost,[::1]"
    return Environment(
        home=home,
        database_url=database_url,
        secret_key=_secret_key(home),
        debug=_bool(os.environ.get("RETAIN_DEBUG")),
        allowed_hosts=tuple(h.strip() for h in hosts.split(",") if h.strip()),
        redis_url=os.environ.get("RETAIN_REDIS_URL") or None,
        time_zone=os.environ.get("RETAIN_TIME_ZONE") or "Asia/Shanghai",
        language=language,
        https=_bool(os.environ.get("RETAIN_HTTPS")),
        email_host=os.environ.get("RETAIN_EMAIL_HOST") or "localhost",
        email_port=int(os.environ.get("RETAIN_EMAIL_PORT") or "25"),
        email_from=os.environ.get("RETAIN_EMAIL_FROM") or "retain@localhost",
        search_limit=int(os.environ.get("RETAIN_SEARCH_LIMIT") or "30"),
    )
