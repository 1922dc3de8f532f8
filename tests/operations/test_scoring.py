"""Scoring run: stores the engine's results in bulk, idempotent, crash-safe, one at a time."""

from __future__ import annotations

import datetime as dt
import pickle
from decimal import Decimal

import pandas as pd
import pytest

from retain.analytics import parse_reasons, score_customers
from retain.customers.models import Customer
from retain.orders.models import OrderLine, ProductCategory
from retain.scoring.models import (
    ChurnModelVersion,
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
    # (with the channel and category, as the run: their mix is a feature of the churn model)
    tables = app_tables(source=TableSource.MEMORY, preferences=True)
    # the run learned a churn model from the company's history and stored it, versioned
    version = run.churn_model
    assert version is not None and version.as_of == AS_OF
    assert version.kind in {"logistic", "hgb"} and version.fallback_reason == ""
    churn = pickle.loads(bytes(version.model))
    assert churn.kind == version.kind and churn.horizon_days == 90
    # with its back-test: every model beside every baseline, at each cut-off
    assert version.backtest is not None
    assert {r["model"] for r in version.backtest["summary"]} == {
        "logistic",
        "hgb",
        "recency",
        "rfm_logistic",
        "bgnbd",
    }
    assert version.backtest["chosen"] == version.kind
    expected = score_customers(tables.engine_tables(), as_of=AS_OF, churn=churn)
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
        # the probability and the reason codes are the engine's, stored as codes
        if s.churn_probability is None:
            assert pd.isna(rec["churn_probability"])
        else:
            assert s.churn_probability == pytest.approx(rec["churn_probability"], abs=1e-6)
        assert s.reason_codes == [r.to_dict() for r in parse_reasons(text(rec["risk_reasons"]))]
        assert s.value_spend == pytest.approx(rec["value_spend"], abs=0.01)
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


def test_the_churn_model_is_retrained_only_when_the_data_changed(demo_company, score):
    first = score(AS_OF).churn_model
    # the same data on the next day: the same version
    later = AS_OF + dt.timedelta(days=1)
    assert score(later).churn_model.pk == first.pk
    # a new order: a new version, trained as of the run
    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    OrderFactory(customer=Customer.objects.order_by("id").first(), ordered_at=at)
    newer = score(later + dt.timedelta(days=1)).churn_model
    assert newer.pk != first.pk and newer.as_of == later + dt.timedelta(days=1)
    assert ChurnModelVersion.objects.count() == 2


def test_a_new_follow_up_alone_retrains_the_churn_model(demo_company, score):
    # follow-ups and their outcomes are churn features: a new one, or a closed one, is new data
    from retain.tasks.models import Task, TaskKind, TaskStatus, WinbackOutcome

    first = score(AS_OF).churn_model
    later = AS_OF + dt.timedelta(days=1)
    assert score(later).churn_model.pk == first.pk
    customer = Customer.objects.order_by("id").first()
    task = Task.objects.create(
        customer=customer,
        kind=TaskKind.WINBACK,
        key="winback:test",
        title="call",
        due_on=later,
        created_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC),
    )
    second = score(later + dt.timedelta(days=1)).churn_model
    assert second.pk != first.pk
    # the same data again: reused; the follow-up closed with an outcome: retrained
    assert score(later + dt.timedelta(days=2)).churn_model.pk == second.pk
    task.status = TaskStatus.DONE
    task.outcome = WinbackOutcome.LOST
    task.closed_at = dt.datetime(2026, 11, 4, 9, 0, tzinfo=dt.UTC)
    task.save()
    third = score(later + dt.timedelta(days=3)).churn_model
    assert third.pk not in (first.pk, second.pk)
    assert ChurnModelVersion.objects.count() == 3


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
    from django.utils import timezone

    # a run alive on another host: its heartbeat is fresh
    ScoringRun.objects.create(
        as_of=AS_OF,
        status=RunStatus.RUNNING,
        started_at=NOW,
        heartbeat_at=timezone.now(),
        host="elsewhere",
        pid=4242,
    )

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
    assert crashed.error == "abandoned (stale): its process stopped"
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
    # an unresolved complaint and a detractor answer push its churn probability up
    ComplaintFactory(customer=customer, opened_at=at)
    SurveyResponseFactory(customer=customer, sent_at=at, answered_at=at, nps=2)

    run = score(later)

    change = SegmentChange.objects.get(customer=customer, as_of=later, dimension="churn_risk")
    assert (change.from_value, change.to_value) == ("low", "high")
    s = CustomerScore.objects.get(customer=customer)
    codes = {r["code"]: r["params"] for r in s.reason_codes}
    assert codes["nps"] == {"score": 2.0}
    assert "recent_complaint" in codes or "open_complaint" in codes
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
    expected = score_customers(tables.engine_tables(), as_of=AS_OF)
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
