"""The engine run inside the app's database (Ibis over its tables) agrees with the rows read
through the ORM. Needs committed rows in a database another connection can open: on
PostgreSQL the test database; on SQLite the test database moved to a file for the test, as
production keeps it, so the path production takes there (``TableSource.COPY``) is the one
tested."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from retain.orders.models import OrderLine, ProductCategory
from retain.scoring.models import CustomerScore
from retain.scoring.services import scoring_run
from retain.scoring.tables import TableSource, resolved_source
from tests.conftest import AS_OF
from tests.factories import CustomerFactory, OrderFactory

from .conftest import NOW

pytestmark = pytest.mark.django_db(transaction=True)


def scores() -> list[tuple]:
    return list(
        CustomerScore.objects.order_by("customer_id").values_list(
            "customer_id",
            "quadrant",
            "lifecycle_stage",
            "rfm_segment",
            "churn_risk",
            "risk_reasons",
            "order_count",
            "recency_days",
            "open_complaints",
            "last_nps",
            "preferred_channel",
            "preferred_category",
        )
    )


def test_database_copy_and_memory_tables_give_the_same_scores(demo_company, file_database):
    production = {"sqlite": TableSource.COPY, "postgresql": TableSource.COPY}
    assert resolved_source(TableSource.AUTO) == production[connection.vendor]

    # orders of several lines: the largest line (the first of a tie) is the order's category
    tea, books = (ProductCategory.objects.create(name=n) for n in ("茶叶 tea", "图书 books"))
    buyer = CustomerFactory(code="PREF1")
    for day, lines in [(1, [(tea, "80"), (books, "20")]), (2, [(books, "40"), (tea, "40")]),
                       (3, [(None, "90"), (books, "10")])]:  # fmt: skip
        order = OrderFactory(customer=buyer, ordered_at=dt.datetime(2026, 9, day, tzinfo=dt.UTC))
        for category, amount in lines:
            OrderLine.objects.create(
                order=order, category=category, product="p", amount=Decimal(amount)
            )

    # production's path (PostgreSQL and a SQLite file: copied into DuckDB)
    production_run = scoring_run(as_of=AS_OF, source=TableSource.AUTO, now=NOW)
    from_production = scores()
    in_database = scoring_run(as_of=AS_OF, source=TableSource.DATABASE, now=NOW)
    from_database = scores()
    copied = scoring_run(as_of=AS_OF, source=TableSource.COPY, now=NOW)
    assert (copied.status, file_database is None) == ("done", connection.vendor != "sqlite")
    from_copy = scores()
    in_memory = scoring_run(as_of=AS_OF, source=TableSource.MEMORY, now=NOW)

    assert in_database.customers == copied.customers == in_memory.customers == len(from_database)
    assert production_run.customers == len(from_database) == 304  # 303 of the demo + PREF1
    assert from_production == from_copy == from_database
    assert scores() == from_database
    preferred = CustomerScore.objects.get(customer=buyer)
    assert (preferred.preferred_channel, preferred.preferred_category) == ("online", "图书 books")
    assert CustomerScore.objects.exclude(preferred_category="").count() > len(from_database) // 2


def test_the_churn_fingerprint_is_the_same_through_every_source(demo_company, file_database):
    # the fingerprint's aggregates (follow-ups' outcomes, businesses) run in the database
    # itself with TableSource.DATABASE: PostgreSQL cannot sum a boolean cast to a number
    from retain.analytics import AnalyticsSettings
    from retain.scoring.services import _data_fingerprint
    from retain.scoring.tables import app_tables
    from retain.tasks.models import Task, TaskKind, TaskStatus, WinbackOutcome

    customer = CustomerFactory(code="FP1", kind="company")
    at = dt.datetime(2026, 10, 2, 9, 0, tzinfo=dt.UTC)
    Task.objects.create(
        customer=customer, kind=TaskKind.WINBACK, key="fp:1", title="call", due_on=AS_OF,
        created_at=at, closed_at=at, status=TaskStatus.DONE, outcome=WinbackOutcome.LOST,
    )  # fmt: skip
    cfg = AnalyticsSettings()
    prints = {s: _data_fingerprint(app_tables(source=s), cfg) for s in TableSource}
    assert len(set(prints.values())) == 1, prints
    # and a closed follow-up's outcome is part of it
    Task.objects.filter(key="fp:1").update(outcome=WinbackOutcome.WON_BACK)
    assert _data_fingerprint(app_tables(source=TableSource.DATABASE), cfg) not in prints.values()
