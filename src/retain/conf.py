"""Read retain's settings from the environment, once.

Every setting retain reads is named here; ``settings.py`` and the CLI use this and
nothing else reads ``os.environ``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("zh-hans", "en")
#: The address people reach retain at; links in e-mails (churn alerts, unsubscribe) use it.
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
#: No customer is contacted in these hours (local time), "HH:MM-HH:MM".
DEFAULT_QUIET_HOURS = "21:00-08:00"
#: Minutes to a complaint's first response, per severity ("a reply within 30 minutes").
DEFAULT_COMPLAINT_FIRST_RESPONSE = "urgent=30,high=120,normal=480,low=1440"
#: Hours to a complaint's resolution, per severity.
DEFAULT_COMPLAINT_RESOLUTION = "urgent=24,high=48,normal=72,low=120"
SEVERITIES = ("urgent", "high", "normal", "low")


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
    trusted_proxies: tuple[str, ...]
    login_ip_limit: int
    base_url: str
    quiet_hours: tuple[dt.time, dt.time]
    complaint_first_response: dict[str, int]  # minutes per severity
    complaint_resolution: dict[str, int]  # hours per severity


def _quiet_hours(value: str) -> tuple[dt.time, dt.time]:
    """ "21:00-08:00" -> (21:00, 08:00)."""
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError as exc:
        raise ValueError(f"RETAIN_QUIET_HOURS must look like 21:00-08:00, not {value!r}") from exc
    return start, end


def per_severity(name: str, value: str, default: str) -> dict[str, int]:
    """ "urgent=30,high=120" over the defaults -> {"urgent": 30, "high": 120, ...}."""
    out: dict[str, int] = {}
    for text in (default, value):
        for item in filter(None, (i.strip() for i in text.split(","))):
            key, _, number = item.partition("=")
            key = key.strip().lower()
            if key not in SEVERITIES or not number.strip().isdigit():
                raise ValueError(
                    f"{name} must look like urgent=30,high=120 (severities: "
                    f"{', '.join(SEVERITIES)}), not {value!r}"
                )
            out[key] = int(number)
    return out


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


def _private(home: Path) -> None:
    """RETAIN_HOME holds the SQLite database, the secret key, uploads and reject files:
    the folder is 0700 and everything retain creates is 0600 (folders 0700) — a umask of
    077 for the process, so SQLite's database, journal and WAL files are covered too."""
    os.umask(0o077)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if home.stat().st_mode & 0o077:
            home.chmod(0o700)
    except PermissionError:  # not ours (a shared mount): leave it as its owner set it
        pass


@lru_cache(maxsize=1)
def environment() -> Environment:
    home = Path(os.environ.get("RETAIN_HOME") or "./.retain").expanduser().resolve()
    _private(home)
    database_url = os.environ.get("RETAIN_DATABASE_URL") or f"sqlite:///{home / 'retain.sqlite3'}"
    language = (os.environ.get("RETAIN_LANGUAGE") or "zh-hans").lower()
    if language not in LANGUAGES:
        raise ValueError(f"RETAIN_LANGUAGE must be one of {', '.join(LANGUAGES)}, not {language!r}")
    hosts = os.environ.get("RETAIN_ALLOWED_HOSTS") or "127.0.0.1,localhost,[::1]"
    proxies = tuple(
        p.strip() for p in (os.environ.get("RETAIN_TRUSTED_PROXIES") or "").split(",") if p.strip()
    )
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ValueError(
                f"RETAIN_TRUSTED_PROXIES: {proxy!r} is not an IP address or network"
            ) from None
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
        trusted_proxies=proxies,
        login_ip_limit=int(os.environ.get("RETAIN_LOGIN_IP_LIMIT") or "20"),
        base_url=(os.environ.get("RETAIN_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
        quiet_hours=_quiet_hours(os.environ.get("RETAIN_QUIET_HOURS") or DEFAULT_QUIET_HOURS),
        complaint_first_response=per_severity(
            "RETAIN_COMPLAINT_FIRST_RESPONSE",
            os.environ.get("RETAIN_COMPLAINT_FIRST_RESPONSE") or "",
            DEFAULT_COMPLAINT_FIRST_RESPONSE,
        ),
        complaint_resolution=per_severity(
            "RETAIN_COMPLAINT_RESOLUTION",
            os.environ.get("RETAIN_COMPLAINT_RESOLUTION") or "",
            DEFAULT_COMPLAINT_RESOLUTION,
        ),
    )
