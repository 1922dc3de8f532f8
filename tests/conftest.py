from __future__ import annotations

import datetime as dt
import os

import pytest

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


@pytest.fixture
def demo_company(db):
    """A small demo company (deterministic), made through the real bulk writer."""
    from retain.demo.generate import DemoSpec, demo_company_create

    return demo_company_create(spec=DemoSpec(customers=300, seed=3, as_of=AS_OF), password=PASSWORD)


def pytest_report_header(config):
    return f"RETAIN_DATABASE_URL={os.environ.get('RETAIN_DATABASE_URL', '(SQLite default)')}"
