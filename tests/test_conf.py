"""Settings come from the environment once; the secret key is made and kept on first run."""

from __future__ import annotations

import pytest

from retain import conf


@pytest.fixture
def fresh_env(monkeypatch, tmp_path):
    for name in (
        "RETAIN_SECRET_KEY",
        "RETAIN_DATABASE_URL",
        "RETAIN_LANGUAGE",
        "RETAIN_DEBUG",
        "RETAIN_ALLOWED_HOSTS",
        "RETAIN_BASE_URL",
        "RETAIN_QUIET_HOURS",
        "RETAIN_COMPLAINT_FIRST_RESPONSE",
        "RETAIN_COMPLAINT_RESOLUTION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path / "home"))
    conf.environment.cache_clear()
    yield tmp_path / "home"
    conf.environment.cache_clear()


def test_defaults_put_everything_in_retain_home(fresh_env):
    env = conf.environment()

    assert env.home == fresh_env
    assert env.database_url == f"sqlite:///{fresh_env / 'retain.sqlite3'}"
    assert env.time_zone == "Asia/Shanghai"
    assert env.language == "zh-hans"
    assert env.debug is False
    assert env.redis_url is None


def test_secret_key_is_generated_once_and_kept(fresh_env):
    first = conf.environment().secret_key
    conf.environment.cache_clear()
    second = conf.environment().secret_key

    assert len(first) >= 50
    assert first == second
    assert (fresh_env / "secret_key").read_text() == first
    assert (fresh_env / "secret_key").stat().st_mode & 0o077 == 0


def test_given_secret_key_wins_and_no_file_is_written(fresh_env, monkeypatch):
    monkeypatch.setenv("RETAIN_SECRET_KEY", "x" * 60)

    assert conf.environment().secret_key == "x" * 60
    assert not (fresh_env / "secret_key").exists()


def test_unknown_language_is_refused_with_the_choices(fresh_env, monkeypatch):
    monkeypatch.setenv("RETAIN_LANGUAGE", "fr")

    with pytest.raises(ValueError, match="zh-hans, en"):
        conf.environment()


def test_postgres_url_and_hosts_are_read(fresh_env, monkeypatch):
    monkeypatch.setenv("RETAIN_DATABASE_URL", "postgresql://db.example:5432/retain")
    monkeypatch.setenv("RETAIN_ALLOWED_HOSTS", "crm.example.com, 10.0.0.5")
    monkeypatch.setenv("RETAIN_DEBUG", "true")

    env = conf.environment()

    assert env.database_url == "postgresql://db.example:5432/retain"
    assert env.allowed_hosts == ("crm.example.com", "10.0.0.5")
    assert env.debug is True


def test_links_quiet_hours_and_complaint_deadlines_have_defaults(fresh_env):
    import datetime as dt

    env = conf.environment()

    assert env.base_url == "http://127.0.0.1:8000"
    assert env.quiet_hours == (dt.time(21, 0), dt.time(8, 0))
    assert env.complaint_first_response == {"urgent": 30, "high": 120, "normal": 480, "low": 1440}
    assert env.complaint_resolution == {"urgent": 24, "high": 48, "normal": 72, "low": 120}


def test_links_quiet_hours_and_complaint_deadlines_come_from_the_environment(
    fresh_env, monkeypatch
):
    import datetime as dt

    monkeypatch.setenv("RETAIN_BASE_URL", "https://crm.example.com/")
    monkeypatch.setenv("RETAIN_QUIET_HOURS", "22:30-07:00")
    monkeypatch.setenv("RETAIN_COMPLAINT_FIRST_RESPONSE", "urgent=10")
    monkeypatch.setenv("RETAIN_COMPLAINT_RESOLUTION", "low=240,high=36")

    env = conf.environment()

    assert env.base_url == "https://crm.example.com"
    assert env.quiet_hours == (dt.time(22, 30), dt.time(7, 0))
    assert env.complaint_first_response == {"urgent": 10, "high": 120, "normal": 480, "low": 1440}
    assert env.complaint_resolution == {"urgent": 24, "high": 36, "normal": 72, "low": 240}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RETAIN_QUIET_HOURS", "9pm-8am"),
        ("RETAIN_COMPLAINT_FIRST_RESPONSE", "critical=5"),
        ("RETAIN_COMPLAINT_RESOLUTION", "low=soon"),
    ],
)
def test_a_malformed_setting_is_refused_by_name(fresh_env, monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=name):
        conf.environment()


def test_churn_alert_links_use_the_base_url(settings):
    from retain.scoring.alerts import base_url

    settings.RETAIN_BASE_URL = "https://crm.example.com/"

    assert base_url() == "https://crm.example.com"
