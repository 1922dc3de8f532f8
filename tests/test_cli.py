"""The command line: real processes where the process matters, CliRunner for the rest."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retain.accounts.models import User
from retain.cli import app

runner = CliRunner()
COMMANDS = ["demo", "serve", "migrate", "createuser", "demo-data", "worker", "check"]


def _retain(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    environ.update({"RETAIN_HOME": str(home), **env})
    return subprocess.run(
        [sys.executable, "-m", "retain.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )


def test_help_lists_every_command_with_one_line(tmp_path):
    result = _retain("--help", home=tmp_path)

    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        line = next(line for line in result.stdout.splitlines() if f" {command} " in line)
        assert len(line.split(command, 1)[1].strip()) > 10, line


def test_migrate_then_demo_data_in_a_fresh_home(tmp_path):
    result = _retain(
        "demo-data",
        "--customers",
        "40",
        "--seed",
        "2",
        "--password",
        "pw-demo-123456",
        home=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "Made 40 customers" in result.stdout
    assert (tmp_path / "retain.sqlite3").exists()
    assert (tmp_path / "secret_key").exists()


def test_check_passes_with_production_settings(tmp_path):
    result = _retain(
        "check",
        "--strict",
        home=tmp_path,
        RETAIN_HTTPS="1",
        RETAIN_SECRET_KEY=secrets.token_urlsafe(50),
        RETAIN_ALLOWED_HOSTS="crm.example.com",
        RETAIN_BASE_URL="https://crm.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_check_strict_warns_of_the_default_base_url_with_debug_off(tmp_path):
    production = {
        "RETAIN_HTTPS": "1",
        "RETAIN_SECRET_KEY": secrets.token_urlsafe(50),
        "RETAIN_ALLOWED_HOSTS": "crm.example.com",
    }

    strict = _retain("check", "--strict", home=tmp_path, **production)
    lenient = _retain("check", home=tmp_path, **production)

    assert strict.returncode == 1
    assert "retain.W001" in strict.stderr + strict.stdout
    assert "RETAIN_BASE_URL is the development default" in strict.stderr + strict.stdout
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr


def test_check_reports_deploy_warnings_without_https(tmp_path):
    result = _retain("check", "--strict", home=tmp_path)

    assert result.returncode == 1
    assert "security.W008" in result.stderr + result.stdout


@pytest.mark.django_db
def test_createuser_makes_a_user_in_the_role():
    result = runner.invoke(
        app, ["createuser", "li", "--role", "marketing", "--password", "a-long-test-password"]
    )

    assert result.exit_code == 0, result.output
    user = User.objects.get(username="li")
    assert user.role == "marketing"
    assert list(user.groups.values_list("name", flat=True)) == ["marketing"]
    assert user.check_password("a-long-test-password")


@pytest.mark.django_db
def test_createuser_refuses_an_unknown_role_and_stores_nothing():
    result = runner.invoke(
        app, ["createuser", "li", "--role", "boss", "--password", "a-long-test-password"]
    )

    assert result.exit_code == 2
    assert "role must be one of" in result.output
    assert not User.objects.filter(username="li").exists()


@pytest.mark.django_db
def test_createuser_refuses_a_duplicate_username():
    runner.invoke(app, ["createuser", "li", "--password", "a-long-test-password"])
    result = runner.invoke(app, ["createuser", "li", "--password", "another-long-password"])

    assert result.exit_code == 2
    assert "username" in result.output
    assert User.objects.get(username="li").check_password("a-long-test-password")
