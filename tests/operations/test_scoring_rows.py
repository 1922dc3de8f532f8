"""The score and history rows built column-wise (``_score_rows``, written with COPY or
``executemany``) equal those of the per-customer loop they replaced, kept here as the
reference: on a first run, a later run with moves, and a re-run of the same day."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from retain.analytics import parse_reasons
from retain.customers.models import Customer
from retain.scoring import services
from retain.scoring.models import CustomerScore, SegmentChange
from retain.scoring.tables import as_date
from tests.conftest import AS_OF
from tests.factories import ComplaintFactory

pytestmark = pytest.mark.django_db

SCORE_FIELDS = [
    f.attname for f in CustomerScore._meta.concrete_fields if f.attname not in {"run_id", "as_of"}
]


def _int(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return int(value)


def _float(value: Any, digits: int = 6) -> float | None:
    if value is None or pd.isna(value):
        return None
    return round(float(value), digits)


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def reference_rows(
    as_of: dt.date, frame: pd.DataFrame, before: dict[int, tuple]
) -> tuple[list[dict[str, Any]], list[tuple]]:
    """The loop over customers that ``_scores_from_frame`` ran until the rows were built
    column-wise (commit f176de9), unchanged but for returning plain values."""
    known = set(Customer.objects.values_list("id", flat=True))
    scores, changes = [], []
    for rec in frame.to_dict("records"):
        cid = int(rec["customer_id"])
        if cid not in known:
            continue
        old = before.get(cid)
        if old is None:
            prev: tuple[Any, str, str, str] = (None, "", "", "")
        elif old[1] == as_of:
            prev = (old[5], old[6], old[7], old[8])
        else:
            prev = (old[1], old[2], old[3], old[4])
        score = {
            "customer_id": cid,
            "quadrant": _text(rec.get("quadrant")),
            "lifecycle_stage": _text(rec.get("lifecycle_stage")),
            "rfm_segment": _text(rec.get("rfm_segment")),
            "r_score": _int(rec.get("r_score")),
            "f_score": _int(rec.get("f_score")),
            "m_score": _int(rec.get("m_score")),
            "value_tier": _text(rec.get("value_tier")),
            "activity_level": _text(rec.get("activity_level")),
            "order_count": _int(rec.get("order_count")) or 0,
            "total_spend": _float(rec.get("total_spend"), 2) or 0.0,
            "recency_days": _int(rec.get("recency_days")),
            "last_purchase": as_date(rec.get("last_purchase")),
            "p_alive": _float(rec.get("p_alive")),
            "predicted_ltv": _float(rec.get("predicted_ltv"), 2),
            "expected_purchases_90d": _float(rec.get("expected_purchases_90d")),
            "open_complaints": _int(rec.get("open_complaints")) or 0,
            "recent_complaints": _int(rec.get("recent_complaints")) or 0,
            "last_nps": _int(rec.get("last_nps")),
            "churn_risk": _text(rec.get("churn_risk")),
            "risk_reasons": _text(rec.get("risk_reasons")),
            "churn_probability": _float(rec.get("churn_probability")),
            "expected_lost_value": _float(rec.get("expected_lost_value"), 2),
            "churn_model": _text(rec.get("churn_model")),
            "reason_codes": [r.to_dict() for r in parse_reasons(_text(rec.get("risk_reasons")))],
            "value_spend": _float(rec.get("value_spend"), 2) or 0.0,
            "activity_orders": _int(rec.get("activity_orders")) or 0,
            "preferred_channel": _text(rec.get("preferred_channel")),
            "preferred_category": _text(rec.get("preferred_category")),
            "previous_as_of": prev[0],
            "previous_quadrant": prev[1],
            "previous_lifecycle_stage": prev[2],
            "previous_churn_risk": prev[3],
        }
        scores.append(score)
        for dimension, was in (
            ("quadrant", prev[1]),
            ("lifecycle_stage", prev[2]),
            ("churn_risk", prev[3]),
        ):
            if old is None or was != score[dimension]:
                changes.append((cid, dimension, was, score[dimension]))
    return scores, changes


def stored_state() -> dict[int, tuple]:
    return {
        row[0]: row
        for row in CustomerScore.objects.values_list(
            "customer_id",
            "as_of",
            "quadrant",
            "lifecycle_stage",
            "churn_risk",
            "previous_as_of",
            "previous_quadrant",
            "previous_lifecycle_stage",
            "previous_churn_risk",
        )
    }


def run_and_compare(score, monkeypatch, as_of: dt.date) -> int:
    """Score as of ``as_of``; the stored rows equal the reference built from the same frame."""
    frames: list[pd.DataFrame] = []
    engine = services.score_customers

    def keep_frame(*args: Any, **kwargs: Any) -> pd.DataFrame:
        frames.append(engine(*args, **kwargs))
        return frames[-1]

    monkeypatch.setattr(services, "score_customers", keep_frame)
    before = stored_state()
    history_before = set(
        SegmentChange.objects.exclude(as_of=as_of).values_list(
            "id", "customer_id", "as_of", "dimension", "from_value", "to_value"
        )
    )
    run = score(as_of)
    (frame,) = frames
    expected, changes = reference_rows(as_of, frame, before)

    stored = list(CustomerScore.objects.order_by("customer_id").values(*SCORE_FIELDS))
    assert stored == sorted(expected, key=lambda s: s["customer_id"])
    assert set(CustomerScore.objects.values_list("run_id", "as_of")) == {(run.pk, as_of)}
    # this day's history in the reference's order (ids ascend with it), earlier days kept
    todays = list(
        SegmentChange.objects.filter(as_of=as_of)
        .order_by("id")
        .values_list("customer_id", "dimension", "from_value", "to_value")
    )
    assert sorted(todays) == sorted(changes)
    assert (
        set(
            SegmentChange.objects.exclude(as_of=as_of).values_list(
                "id", "customer_id", "as_of", "dimension", "from_value", "to_value"
            )
        )
        == history_before
    )
    assert run.customers == len(expected)
    assert run.changes == sum(1 for c in changes if c[2] != "")
    return len(changes)


def test_rows_equal_the_per_customer_loop(demo_company, score, monkeypatch):
    first = run_and_compare(score, monkeypatch, AS_OF)
    assert first == 3 * CustomerScore.objects.count()  # every customer is new: 3 each

    # a month later, with complaints: customers move, so changes have a "from"
    for customer in Customer.objects.order_by("id")[:40]:
        ComplaintFactory(customer=customer, severity="high")
    later = AS_OF + dt.timedelta(days=30)
    moves = run_and_compare(score, monkeypatch, later)
    assert 0 < moves < first
    ids_before = list(SegmentChange.objects.filter(as_of=later).order_by("id").values_list("id"))

    # a re-run of that day: the same rows, the same history rows (their ids too)
    assert run_and_compare(score, monkeypatch, later) == moves
    assert (
        list(SegmentChange.objects.filter(as_of=later).order_by("id").values_list("id"))
        == ids_before
    )
