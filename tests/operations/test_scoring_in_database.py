"""The engine run inside the app's database (Ibis over its tables) agrees with the rows read
through the ORM. Needs committed rows in a database another connection can open: runs on
PostgreSQL (and a file SQLite database); the in-memory SQLite test database cannot."""

from __future__ import annotations

import pytest
from django.db import connection

from retain.scoring.models import CustomerScore
from retain.scoring.services import scoring_run
from retain.scoring.tables import TableSource
from tests.conftest import AS_OF

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
        )
    )


def test_database_copy_and_memory_tables_give_the_same_scores(demo_company):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("Ibis cannot open the in-memory SQLite test database from another connection")

    in_database = scoring_run(as_of=AS_OF, source=TableSource.DATABASE, now=NOW)
    from_database = scores()
    copied = scoring_run(as_of=AS_OF, source=TableSource.COPY, now=NOW)
    from_copy = scores()
    in_memory = scoring_run(as_of=AS_OF, source=TableSource.MEMORY, now=NOW)

    assert in_database.customers == copied.customers == in_memory.customers == len(from_database)
    assert len(from_database) > 0
    assert from_copy == from_database
    assert scores() == from_database
