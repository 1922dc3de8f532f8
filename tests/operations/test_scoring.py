"""Scoring run: stores the engine's results in bulk, idempotent, crash-safe, one at a time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from retain.analytics import score_customers
from retain.customers.models import Customer
from retain.orders.models import OrderLine, ProductCategory
from retain.scoring.models import (
    CustomerScore,
    KpiSnapshot,
    RunStatus,
    ScoringRun,
    SegmentChange,
)
from retain.scoring.services import ScoringBusyError, ScoringOrderError
from retain.scoring.tables import TableSource, app_tables
from retain.tags.models import CustomerTag
from tests.conftest import AS_OF
from tests.factories import (
    ComplaintFactory,
    CustomerFactory,
    OrderFactory,
    SurveyResponseFactory,
)

from .conftest import NOW

pytestmark = pytest.mark.django_db


def text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def state() -> tuple[list, list, list, list]:
    """Everything a run writes, comparable between runs."""
    scores = list(
        CustomerScore.objects.order_by("customer_id").values_list(
            "customer_id",
            "as_of",
            "quadrant",
            "lifecycle_stage",
            "rfm_segment",
            "churn_risk",
            "risk_reasons",
            "p_alive",
            "predicted_ltv",
            "previous_quadrant",
            "previous_churn_risk",
        )
    )
    changes = list(
        SegmentChange.objects.order_by("id").values_list(
            "id", "customer_id", "as_of", "dimension", "from_value", "to_value"
        )
    )
    tags = list(
        CustomerTag.objects.order_by("id").values_list("id", "customer_id", "tag_id", "automatic")
    )
    kpis = list(KpiSnapshot.objects.values_list("month", "as_of", "figures"))
    return scores, changes, tags, kpis


def test_run_stores_the_engines_scores_for_every_customer(demo_company, score):
    # given the demo company; when it is scored
    run = score(AS_OF)

    # then each customer has one score row equal to the engine's own output
    tables = app_tables(source=TableSource.MEMORY)
    expected = score_customers(tables.orders, as_of=AS_OF, **tables.engine_kwargs())
    assert run.status == RunStatus.DONE
    assert (
        run.customers == Customer.objects.count() == len(expected) == CustomerScore.objects.count()
    )
    stored = {s.customer_id: s for s in CustomerScore.objects.all()}
    for rec in expected.to_dict("records"):
        s = stored[int(rec["customer_id"])]
        assert s.quadrant == text(rec["quadrant"])
        assert s.lifecycle_stage == rec["lifecycle_stage"]
        assert s.churn_risk == text(rec["churn_risk"])
        assert s.order_count == rec["order_count"]
    # lifetime values are never negative, even where the spend model has no finite mean
    assert not CustomerScore.objects.filter(predicted_ltv__lt=0).exists()
    assert CustomerScore.objects.filter(predicted_ltv__gt=0).count() > run.customers // 2
    counts = expected["quadrant"].value_counts().to_dict()
    for quadrant, n in counts.items():
        assert CustomerScore.objects.filter(quadrant=quadrant).count() == n
    # the month's KPI snapshot, with the complaint rate
    snapshot = KpiSnapshot.objects.get()
    assert snapshot.month == dt.date(2026, 11, 1)
    assert snapshot.figures["customer_count"] == run.customers
    assert snapshot.figures["complaint_rate"] is not None
    # first run: everyone's history starts, nobody "changed"
    assert run.changes == 0
    assert SegmentChange.objects.filter(from_value="").count() == 3 * run.customers


def test_a_second_run_for_the_same_day_changes_nothing(demo_company, score):
    score(AS_OF)
    score(AS_OF + dt.timedelta(days=1))
    before = state()

    again = score(AS_OF + dt.timedelta(days=1))

    assert state() == before
    assert again.status == RunStatus.DONE
    assert ScoringRun.objects.filter(status=RunStatus.DONE).count() == 3


def test_a_run_that_fails_mid_write_leaves_the_old_scores(demo_company, score, monkeypatch):
    score(AS_OF)
    before = state()

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("retain.scoring.services.tag_rules_apply", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        score(AS_OF + dt.timedelta(days=7))

    assert state() == before
    failed = ScoringRun.objects.get(as_of=AS_OF + dt.timedelta(days=7))
    assert failed.status == RunStatus.FAILED
    assert failed.error == "RuntimeError: disk full"
    # and the next run works
    monkeypatch.undo()
    assert score(AS_OF + dt.timedelta(days=7)).status == RunStatus.DONE


def test_a_second_concurrent_run_is_refused(demo_company, score):
    ScoringRun.objects.create(as_of=AS_OF, status=RunStatus.RUNNING, started_at=NOW)

    with pytest.raises(ScoringBusyError):
        score(AS_OF)

    assert CustomerScore.objects.count() == 0
    assert ScoringRun.objects.count() == 1


def test_a_stale_running_run_is_taken_as_crashed(demo_company, score):
    crashed = ScoringRun.objects.create(
        as_of=AS_OF, status=RunStatus.RUNNING, started_at=NOW - dt.timedelta(hours=3)
    )

    run = score(AS_OF)

    crashed.refresh_from_db()
    assert crashed.status == RunStatus.FAILED
    assert crashed.error == "abandoned (stale)"
    assert run.status == RunStatus.DONE


def test_a_run_back_in_time_is_refused(demo_company, score):
    score(AS_OF)
    before = state()

    with pytest.raises(ScoringOrderError):
        score(AS_OF - dt.timedelta(days=1))

    assert state() == before


def test_history_records_a_move_to_high_risk(demo_company, score):
    score(AS_OF)
    customer = (
        Customer.objects.filter(score__churn_risk="low", score__lifecycle_stage="returning")
        .order_by("id")
        .first()
    )
    later = AS_OF + dt.timedelta(days=1)
    at = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
    # an unresolved complaint and a detractor answer: two risk reasons make it high
    ComplaintFactory(customer=customer, opened_at=at)
    SurveyResponseFactory(customer=customer, sent_at=at, answered_at=at, nps=2)

    run = score(later)

    change = SegmentChange.objects.get(customer=customer, as_of=later, dimension="churn_risk")
    assert (change.from_value, change.to_value) == ("low", "high")
    s = CustomerScore.objects.get(customer=customer)
    assert "unresolved complaint" in s.risk_reasons and "NPS detractor" in s.risk_reasons
    assert (s.previous_churn_risk, s.previous_as_of) == ("low", AS_OF)
    assert run.changes == SegmentChange.objects.filter(as_of=later).exclude(from_value="").count()


def test_scores_keep_each_customers_preferred_channel_and_category(demo_company, score):
    # given a customer with orders whose largest line gives the order's category:
    # offline twice, online twice, a refunded offline order and an order without a category
    tea, books = (ProductCategory.objects.create(name=n) for n in ("茶叶 tea", "图书 books"))
    buyer = CustomerFactory(code="PREF1")
    for day, channel, status, lines in [
        (1, "offline", "paid", [(tea, "80"), (books, "20")]),  # tea: the largest line
        (10, "offline", "paid", [(books, "40"), (tea, "40")]),  # books: the first of a tie
        (20, "online", "paid", [(tea, "30")]),
        (25, "offline", "refunded", [(books, "100"), (books, "100")]),  # not a purchase
        (30, "online", "paid", [(None, "10")]),
    ]:
        order = OrderFactory(
            customer=buyer,
            ordered_at=dt.datetime(2026, 9, day, 10, tzinfo=dt.UTC),
            channel=channel,
            status=status,
            amount=Decimal("100"),
        )
        for category, amount in lines:
            OrderLine.objects.create(
                order=order, category=category, product="p", amount=Decimal(amount)
            )
    plain = CustomerFactory(code="PREF2")
    OrderLine.objects.create(
        order=OrderFactory(customer=plain, ordered_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC)),
        product="p",
        amount=Decimal("100"),
    )
    prospect = CustomerFactory(code="PREF3")

    # when the company is scored
    score(AS_OF)

    # then two online and two offline purchases: the latest (online) wins; tea has two orders
    s = CustomerScore.objects.get(customer=buyer)
    assert (s.preferred_channel, s.preferred_category) == ("online", "茶叶 tea")
    assert s.get_preferred_channel_display() == "Online"
    s = CustomerScore.objects.get(customer=plain)
    assert (s.preferred_channel, s.preferred_category) == ("online", "")
    s = CustomerScore.objects.get(customer=prospect)
    assert (s.preferred_channel, s.preferred_category) == ("", "")
    # and every stored preference is the engine's over the same tables
    tables = app_tables(source=TableSource.MEMORY, preferences=True)
    expected = score_customers(tables.score_orders, as_of=AS_OF, **tables.engine_kwargs())
    want = {
        int(r["customer_id"]): (text(r["preferred_channel"]), text(r["preferred_category"]))
        for r in expected.to_dict("records")
    }
    stored = {
        cid: (channel, category)
        for cid, channel, category in CustomerScore.objects.values_list(
            "customer_id", "preferred_channel", "preferred_category"
        )
    }
    assert stored == want
    # the demo company's orders have lines with categories: most buyers have a preference
    buyers = CustomerScore.objects.filter(order_count__gt=0).count()
    assert CustomerScore.objects.exclude(preferred_category="").count() > buyers // 2
