from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys

import pytest

# the real SMTP server, the webhook receiver and immediate Huey, for every test that asks
from tests.fixtures.messaging import hook, huey_immediate, smtp  # noqa: F401

#: The fixed "today" of the tests; nothing reads the wall clock.
AS_OF = dt.date(2026, 11, 1)
PASSWORD = "a-long-test-password"


@pytest.fixture
def as_of() -> dt.date:
    return AS_OF


@pytest.fixture
def admin_user(db):
    from retain.accounts.services import user_create

    return user_create(username="boss", password=PASSWORD, role="admin")


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher():
    """Hash test passwords with MD5: a demo company has 12 users and the production hasher
    takes about 0.45 s each. Logins still go through Django's real authentication."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="session", autouse=True)
def _cache_in_process():
    """The tests' cache lives in this process: the file cache in RETAIN_HOME would outlive the
    test database (and its reused primary keys) and be shared with other test runs. Servers
    that tests start in subprocesses use their own RETAIN_HOME's cache."""
    from django.test.utils import override_settings

    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=locmem):
        yield


@pytest.fixture(autouse=True)
def _cache_cleared():
    """Every test starts with an empty cache (the board's figures are cached by run id)."""
    from django.core.cache import cache

    cache.clear()
    yield


def _demo_company_make():
    from retain.demo.generate import DemoSpec, demo_company_create

    return demo_company_create(spec=DemoSpec(customers=300, seed=3, as_of=AS_OF), password=PASSWORD)


@pytest.fixture
def demo_company(db):
    """A small demo company (deterministic), made through the real bulk writer."""
    return _demo_company_make()


@pytest.fixture(scope="class")
def demo_company_read(django_db_setup, django_db_blocker):
    """The demo company made once for a class of tests that only read it.

    It is written inside a transaction that the class's tests run in (each test in its own
    savepoint, rolled back as usual) and that is rolled back after the class, so no other
    test sees it. Tests that change the company, or that need committed rows (another
    connection, ``transaction=True``), use ``demo_company``.
    """
    from django.db import transaction

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            company = _demo_company_make()
        except BaseException:
            outer.__exit__(*sys.exc_info())
            raise
    try:
        yield company
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def file_database(tmp_path, transactional_db):
    """On SQLite, move the test database to a file for the test, as production keeps it:
    Django and the engine's SQLite reads (``TableSource.COPY``, the production path) then
    open the same committed rows. Use with ``transaction=True``. None on PostgreSQL."""
    from django.db import connection

    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield None
        return
    memory = connection.settings_dict["NAME"]
    keeper = sqlite3.connect(memory, uri=True)  # the shared in-memory database lives on
    path = tmp_path / "retain.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    # Django ignores close() on an in-memory database: name the file first, then close.
    connection.settings_dict["NAME"] = str(path)
    connection.close()
    try:
        yield path
    finally:
        connection.close()
        connection.settings_dict["NAME"] = memory
        connection.ensure_connection()
        keeper.close()


def pytest_report_header(config):
    return f"RETAIN_DATABASE_URL={os.environ.get('RETAIN_DATABASE_URL', '(SQLite default)')}"
