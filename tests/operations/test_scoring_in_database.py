"""The engine run inside the app's database (Ibis over its tables) agrees with the rows read
through the ORM. Needs committed rows in a database another connection can open: runs on
PostgreSQL (and a file SQLite database); the in-memory SQLite test database cannot."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from retain.orders.models import OrderLine, ProductCategory
from retain.scoring.models import CustomerScore
from retain.scoring.services import scoring_run
from retain.scoring.tables import TableSource
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


def test_database_copy_and_memory_tables_give_the_same_scores(demo_company):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("Ibis cannot open the in-memory SQLite test database from another connection")

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

    in_database = scoring_run(as_of=AS_OF, source=TableSource.DATABASE, now=NOW)
    from_database = scores()
    copied = scoring_run(as_of=AS_OF, source=TableSource.COPY, now=NOW)
    from_copy = scores()
    in_memory = scoring_run(as_of=AS_OF, source=TableSource.MEMORY, now=NOW)

    assert in_database.customers == copied.customers == in_memory.customers == len(from_database)
    assert len(from_database) > 0
    assert from_copy == from_database
    assert scores() == from_database
    preferred = CustomerScore.objects.get(customer=buyer)
    assert (preferred.preferred_channel, preferred.preferred_category) == ("online", "图书 books")
    assert CustomerScore.objects.exclude(preferred_category="").count() > len(from_database) // 2
