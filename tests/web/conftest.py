"""Fixtures of the web-interface tests: a scored demo company, users of each role, a client
signed in as one of them, and the clock fixed at the demo company's day."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.conftest import AS_OF, PASSWORD

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)  # 18:00 in Shanghai


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def scored_company(demo_company):
    """The 300-customer demo company, scored as of AS_OF with the board computed."""
    from retain.kpis.services import board_figures_refresh
    from retain.scoring.services import scoring_run
    from retain.scoring.tables import TableSource

    run = scoring_run(as_of=AS_OF, source=TableSource.MEMORY, now=NOW)
    board_figures_refresh(run=run, source=TableSource.MEMORY)
    return run


@pytest.fixture
def login(client):
    """Sign the test client in as a demo user (admin, manager, sales1, marketing, ...)."""

    def as_user(username: str):
        assert client.login(username=username, password=PASSWORD)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return as_user


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    with translation.override("en"):
        yield


FIGURES = {
    "as_of": "2026-11-01",
    "customer_count": 10,
    "purchasing_customers": 8,
    "active_customers": 5,
    "new_customers": 1,
    "retention_rate": 0.75,
    "churn_rate": 0.25,
    "repurchase_rate": 0.5,
    "average_historical_ltv": 640.0,
    "nps": 20.0,
    "complaint_rate": 0.01,
    "positive_review_rate": 0.8,
    "revenue": 5000.0,
    "core_customers": 2,
    "core_share": 0.25,
    "core_revenue": 3000.0,
    "core_revenue_share": 0.6,
    "potential_customers": 1,
    "potential_share": 0.125,
    "potential_revenue": 1000.0,
    "potential_revenue_share": 0.2,
    "basic_customers": 2,
    "basic_share": 0.25,
    "basic_revenue": 500.0,
    "basic_revenue_share": 0.1,
    "watch_customers": 3,
    "watch_share": 0.375,
    "watch_revenue": 500.0,
    "watch_revenue_share": 0.1,
}


@pytest.fixture
def small_run(db):
    """A finished scoring run with its month's KPI snapshot (no engine): fast fixtures for
    the pages that only read them."""
    from retain.scoring.models import KpiSnapshot, RunStatus, ScoringRun

    run = ScoringRun.objects.create(
        as_of=AS_OF, status=RunStatus.DONE, started_at=NOW, finished_at=NOW, customers=10
    )
    KpiSnapshot.objects.create(month=AS_OF.replace(day=1), as_of=AS_OF, figures=dict(FIGURES))
    return run


@pytest.fixture
def staff(db):
    """Users of every role (password PASSWORD), by username."""
    from retain.accounts.models import Team
    from retain.accounts.services import user_create

    users = {
        name: user_create(username=name, password=PASSWORD, role=role)
        for name, role in [
            ("admin", "admin"),
            ("manager", "manager"),
            ("sales1", "sales"),
            ("sales2", "sales"),
            ("marketing", "marketing"),
            ("service", "service"),
            ("analyst", "analyst"),
        ]
    }
    team = Team.objects.create(name="east", lead=users["sales1"])
    users["sales1"].team = team
    users["sales1"].save(update_fields=["team"])
    return users
