"""Sign-in limits and token lifetimes (issue #11, item 8): parallel attempts are counted
exactly, a username is locked from the address that failed (not for everyone), an address
that fails too often is locked, the login page says until when; API tokens may expire and
end when the password changes or the user is deactivated."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from retain.accounts.login import LOCKOUT_FAILURES
from retain.accounts.models import LoginThrottle
from retain.accounts.services import user_create
from retain.api.models import ApiToken
from retain.audit.models import AuditEvent
from tests.access.conftest import bearer
from tests.conftest import PASSWORD


def _try(username: str, password: str, address: str = "10.0.0.1"):
    request = RequestFactory().post("/login/", REMOTE_ADDR=address)
    return authenticate(request, username=username, password=password)


def _checked() -> int:
    """Password checks made: failed sign-ins that were not refused by a lock."""
    return AuditEvent.objects.filter(action="login_failed", after__locked=False).count()


PARALLEL_SCRIPT = """
import threading
import django
django.setup()
from django.contrib.auth import authenticate
from django.db import connection
from django.test import RequestFactory
from retain.accounts.services import user_create
from retain.audit.models import AuditEvent

user_create(username="boss", password="a-long-test-password", role="admin")
start = threading.Barrier(40)
errors = []

def attempt():
    try:
        start.wait()
        request = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.1")
        authenticate(request, username="boss", password="wrong-password")
    except BaseException as exc:
        errors.append(repr(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=attempt) for _ in range(40)]
for t in threads:
    t.start()
for t in threads:
    t.join()
checked = AuditEvent.objects.filter(action="login_failed", after__locked=False).count()
print(checked, AuditEvent.objects.filter(action="login_failed").count(), errors)
"""


def test_forty_parallel_wrong_passwords_get_exactly_five_checks_on_a_sqlite_file(tmp_path):
    """retain's own SQLite set-up (a file, WAL, immediate transactions), in a process of its
    own: the test database is in memory, where SQLite cannot wait for a lock."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    env.update(RETAIN_HOME=str(tmp_path / "home"), DJANGO_SETTINGS_MODULE="retain.settings")
    retain = str(Path(sys.executable).with_name("retain"))
    subprocess.run([retain, "migrate"], env=env, check=True, capture_output=True, timeout=600)

    done = subprocess.run(
        [sys.executable, "-c", PARALLEL_SCRIPT],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert done.stdout.split(maxsplit=2) == [str(LOCKOUT_FAILURES), "40", "[]\n"]


@pytest.mark.django_db(transaction=True)
def test_forty_parallel_wrong_passwords_get_exactly_five_checks(settings):
    if connection.vendor == "sqlite":
        pytest.skip("in-memory SQLite cannot wait for a lock; the SQLite file test covers it")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user_create(username="boss", password=PASSWORD, role="admin")
    start = threading.Barrier(40)
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            start.wait()
            _try("boss", "wrong-password")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert _checked() == LOCKOUT_FAILURES
    assert AuditEvent.objects.filter(action="login_failed").count() == 40
    assert _try("boss", PASSWORD) is None  # locked, even with the right password


@pytest.mark.django_db
def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(company):
    for _ in range(LOCKOUT_FAILURES):
        assert _try("admin", "wrong-password", "203.0.113.9") is None

    assert _try("admin", PASSWORD, "203.0.113.9") is None  # locked from there
    assert _try("admin", PASSWORD, "10.0.0.2") == company.users["admin"]  # not from here


@pytest.mark.django_db
def test_an_address_that_fails_too_often_is_locked_for_every_username(company, settings):
    settings.RETAIN_LOGIN_IP_LIMIT = 6
    for name in ["east", "west", "lead", "east", "west", "lead"]:
        _try(name, "wrong-password", "203.0.113.9")

    assert _try("manager", PASSWORD, "203.0.113.9") is None
    assert _try("manager", PASSWORD, "10.0.0.2") == company.users["manager"]
    assert _checked() == 6


@pytest.mark.django_db
def test_signing_in_does_not_use_up_the_address_limit(company, settings):
    settings.RETAIN_LOGIN_IP_LIMIT = 3
    for _ in range(5):
        assert _try("east", PASSWORD, "10.0.0.3") == company.users["east"]


@pytest.mark.django_db
def test_the_login_page_says_the_account_is_locked_and_until_when(client, company):
    with time_machine.travel(dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC), tick=False):
        for _ in range(LOCKOUT_FAILURES):
            client.post(reverse("login"), {"username": "east", "password": "wrong-password"})
        response = client.post(reverse("login"), {"username": "east", "password": PASSWORD})

    until = LoginThrottle.objects.get(key="user:east@127.0.0.1").locked_until
    assert until == dt.datetime(2026, 11, 2, 1, 15, tzinfo=dt.UTC)
    errors = response.context["form"].non_field_errors()
    assert [e.code for e in errors.as_data()] == ["locked"]
    shown = date_format(timezone.localtime(until), "DATETIME_FORMAT")
    assert shown in errors[0]
    assert shown in response.content.decode()  # the page says until when
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_token_stops_working_when_it_expires(client, company):
    east = company.users["east"]
    created = client.post(
        "/api/v1/tokens",
        {"name": "short", "expires_in_days": 1},
        content_type="application/json",
        headers=bearer(company, "east"),
    )
    assert created.status_code == 201, created.content
    raw = created.json()["token"]
    headers = {"Authorization": f"Bearer {raw}"}

    assert client.get("/api/v1/tokens", headers=headers).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, minutes=1)):
        assert client.get("/api/v1/tokens", headers=headers).status_code == 401
    assert ApiToken.objects.get(user=east, name="short").expires_at is not None


@pytest.mark.django_db
def test_changing_the_password_ends_the_users_tokens(client, company):
    manager = company.users["manager"]
    admin = company.users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)

    response = client.post(
        f"/admin/accounts/user/{manager.pk}/password/",
        {"password1": "another-long-password-1", "password2": "another-long-password-1"},
    )

    assert response.status_code == 302
    api = Client()  # no session: the token alone
    assert api.get("/api/v1/customers", headers=bearer(company, "manager")).status_code == 401
    assert not ApiToken.objects.filter(user=manager, revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="token_revoke", after__reason="password changed")


@pytest.mark.django_db
def test_deactivating_the_user_ends_their_tokens(client, company):
    analyst = company.users["analyst"]
    analyst.is_active = False
    analyst.save()

    assert ApiToken.objects.get(user=analyst).revoked_at is not None
    analyst.is_active = True
    analyst.save()  # back again: the old token stays revoked
    assert client.get("/api/v1/customers", headers=bearer(company, "analyst")).status_code == 401
    # other users' tokens are untouched
    assert client.get("/api/v1/customers", headers=bearer(company, "east")).status_code == 200
