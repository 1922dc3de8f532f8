"""Hand-checked small cases: exact values of the summary, scores, labels and cohorts."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from retain.analytics import (
    MIX_COLUMNS,
    PREFERENCE_COLUMNS,
    AnalyticsSettings,
    CustomerColumns,
    FollowupColumns,
    OrderColumns,
    RfmSegment,
    Tables,
    cohort_retention,
    customer_summary,
    kpis_by_month,
    model_inputs,
    score_summary,
)
from retain.analytics._labels import SEGMENT_GRID, segment_of

AS_OF = dt.date(2024, 6, 30)


def _orders(rows: list[tuple[int, str, float]], status: list[str] | None = None) -> ibis.Table:
    data: dict[str, list[object]] = {
        "customer_id": [r[0] for r in rows],
        "timestamp": [pd.Timestamp(r[1]) for r in rows],
        "amount": [r[2] for r in rows],
    }
    if status is not None:
        data["status"] = list(status)
    return ibis.memtable(pd.DataFrame(data))


def _summary(
    table: ibis.Table, settings: AnalyticsSettings | None = None, **kw: object
) -> pd.DataFrame:
    """The summary of ``table`` with the other tables and column maps of ``kw`` (Tables)."""
    tables = Tables(table, **kw)  # type: ignore[arg-type]
    frame = customer_summary(tables, as_of=AS_OF, settings=settings).to_pandas()
    return frame.set_index("customer_id").sort_index()


def test_purchase_history_columns_have_exact_values() -> None:
    # given customer 1 with three orders on two days, a refund and an order after as_of
    t = _orders(
        [
            (1, "2024-01-10 09:00", 100.0),
            (1, "2024-01-10 17:30", 20.0),
            (1, "2024-05-01 12:00", 60.0),
            (1, "2024-05-02 12:00", -15.0),
            (1, "2024-07-01 08:00", 999.0),
        ]
    )
    s = _summary(t).loc[1]
    assert (s.order_count, s.purchase_days, s.frequency) == (3, 2, 1)
    assert s.first_purchase == pd.Timestamp("2024-01-10 09:00")
    assert s.last_purchase == pd.Timestamp("2024-05-01 12:00")
    assert (s.recency_days, s.t_x_days, s.T_days) == (60, 112, 172)
    assert s.avg_interpurchase_days == 112.0
    assert (s.gross_spend, s.refund_amount, s.refund_count, s.total_spend) == (180, 15, 1, 165)
    assert s.avg_order_value == 55.0
    assert s.monetary_value == 60.0  # mean spend of repeat purchase days (day 1 excluded)
    assert (s.recent_orders, s.recent_spend, s.value_spend) == (1, 45.0, 165.0)
    assert s.lifecycle_stage == "returning"


def test_status_marks_refunds_and_cancellations() -> None:
    t = _orders(
        [(1, "2024-06-01", 50.0), (1, "2024-06-02", 30.0), (1, "2024-06-03", 70.0),
         (1, "2024-06-04", 0.0)],
        status=["paid", "REFUNDED", "cancelled", "paid"],
    )  # fmt: skip
    s = _summary(t, columns=OrderColumns(status="status")).loc[1]
    # the free order is a purchase worth 0; the cancelled order does not exist
    assert (s.order_count, s.gross_spend, s.refund_amount, s.total_spend) == (2, 50.0, 30.0, 20.0)


def test_model_inputs_follow_the_lifetimes_conventions_exactly() -> None:
    # given customer 1: two orders on the first day, a refund on a later day, a cancelled
    # order, two repeat days and an order after as_of; customer 2: only a refund;
    # customer 3: one free order
    t = _orders(
        [(1, "2024-01-10 09:00", 100.0), (1, "2024-01-10 17:30", 20.0),
         (1, "2024-02-01 12:00", 40.0), (1, "2024-02-01 13:00", 10.0),
         (1, "2024-03-05 08:00", -15.0), (1, "2024-04-01 10:00", 70.0),
         (1, "2024-05-01 10:00", 500.0), (1, "2024-07-01 08:00", 999.0),
         (2, "2024-03-01 10:00", 25.0), (3, "2024-06-29 23:59", 0.0)],
        status=["paid", "paid", "paid", "paid", "paid", "paid", "cancelled", "paid",
                "refunded", "paid"],
    )  # fmt: skip
    # when only the model inputs are computed
    m = model_inputs(Tables(t, columns=OrderColumns(status="status")), as_of=AS_OF).to_pandas()
    m = m.set_index("customer_id").sort_index()
    # then: frequency = distinct purchase days - 1; t_x and T from the first purchase day;
    # monetary value = mean spend of the repeat days (first day and refunds excluded)
    assert m.index.tolist() == [1, 3]  # customer 2 never purchased
    assert m.loc[1].tolist() == [2, 82, 172, 60.0]  # (50 + 70) / 2
    assert m.loc[3].tolist() == [0, 0, 1, 0.0]
    # and they equal the summary's columns of the same name
    full = _summary(t, columns=OrderColumns(status="status")).loc[[1, 3], list(m.columns)]
    pd.testing.assert_frame_equal(m, full, check_dtype=False)


def test_rfm_ties_share_a_score_and_scores_are_quintiles() -> None:
    # ten customers, spend 10..100, two of them tied at 50
    spend = [10, 20, 30, 40, 50, 50, 70, 80, 90, 100]
    t = _orders([(i + 1, "2024-06-01", float(v)) for i, v in enumerate(spend)])
    s = _summary(t)
    assert s["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # all bought on the same day once: one tie group each for R and F
    assert set(s["r_score"]) == {1} and set(s["f_score"]) == {1}


def test_segment_grid_covers_every_score_pair_with_the_eleven_names() -> None:
    names = {segment_of(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert names == set(RfmSegment)
    assert segment_of(5, 5) == "Champions" and segment_of(1, 1) == "Lost"
    assert segment_of(1, 5) == "Cannot lose" and segment_of(5, 1) == "New"
    assert all(len(row) == 5 for row in SEGMENT_GRID.values())


def test_lifecycle_stages_follow_the_windows() -> None:
    t = _orders(
        [
            (1, "2024-06-20", 10.0),  # one purchase 10 days ago: new
            (2, "2023-01-01", 10.0), (2, "2024-06-01", 10.0),  # repeat, recent: returning
            (3, "2023-06-01", 10.0), (3, "2023-12-01", 10.0),  # 212 days ago: silent
            (4, "2023-01-01", 10.0),  # 546 days ago: churned
        ]
    )  # fmt: skip
    customers = ibis.memtable({"customer_id": [1, 2, 3, 4, 5]})
    s = _summary(t, customers=customers)
    assert s["lifecycle_stage"].tolist() == ["new", "returning", "silent", "churned", "prospect"]
    assert s.loc[5, "order_count"] == 0 and pd.isna(s.loc[5, "r_score"])


def test_value_and_activity_make_the_quadrant() -> None:
    # 10 customers; 1 and 2 are the top 20% by spend; 1 and 3 bought twice in 90 days
    rows = [(1, "2024-05-01", 500.0), (1, "2024-06-01", 500.0), (2, "2024-01-05", 900.0)]
    rows += [(3, "2024-04-10", 5.0), (3, "2024-04-20", 5.0)]
    rows += [(c, "2024-02-01", 20.0) for c in range(4, 11)]
    s = _summary(_orders(rows))
    assert s.loc[[1, 2, 3, 4], "quadrant"].tolist() == ["core", "potential", "basic", "watch"]
    assert s.loc[[1, 2, 3, 4], "value_tier"].tolist() == ["high", "high", "low", "medium"]
    absolute = AnalyticsSettings(high_value_min_spend=1000.0)
    s = _summary(_orders(rows), settings=absolute)
    assert s.loc[[1, 2], "value_tier"].tolist() == ["high", "medium"]


def test_fallback_risk_reasons_are_structured_codes() -> None:
    # without a learned churn model the probability is BG/NBD's and the reasons follow rules
    rows = [(1, "2023-01-01", 10.0), (1, "2023-01-11", 10.0), (1, "2023-01-21", 10.0)]
    rows += [(c, "2024-06-01", 10.0) for c in range(2, 8)] + [(2, "2024-06-20", 10.0)]
    frame = customer_summary(_orders(rows), as_of=AS_OF).to_pandas()
    frame["open_complaints"] = [1 if c == 3 else 0 for c in frame["customer_id"]]
    frame["open_complaint_days"] = [5 if c == 3 else None for c in frame["customer_id"]]
    frame["last_nps"] = [4 if c == 3 else None for c in frame["customer_id"]]
    scored = score_summary(frame).set_index("customer_id")
    # 526 days since the last purchase, the usual interval 10 days
    assert scored.loc[1, "risk_reasons"] == "overdue(multiple=52.6); p_alive_low(p=0)"
    assert scored.loc[3, "risk_reasons"] == (
        "p_buy_low(p=0.36); open_complaint(count=1, days=5); nps(score=4)"
    )
    assert (scored["churn_model"] == "bgnbd").all()
    # churn probability = 1 - P(a purchase in 90 days): the lapsed customer is nearly lost
    assert scored.loc[1, "churn_probability"] > 0.99
    # but little value is left at stake (lifetime value x probability is the smallest), so the
    # level is medium, not high; customers 3-7 (probability 0.64 >= 0.5) are tied for the
    # largest value at stake (the top 20 %): high
    assert scored.loc[1, "expected_lost_value"] == scored["expected_lost_value"].min()
    assert scored.sort_index()["churn_risk"].tolist() == ["medium"] * 2 + ["high"] * 5


def test_cohort_conventions_on_a_hand_checked_case() -> None:
    # Jan cohort: A buys in Jan, Mar; B in Jan only; Feb cohort: C in Feb, Mar
    t = _orders(
        [(1, "2024-01-03", 5.0), (1, "2024-03-09", 5.0), (2, "2024-01-20", 5.0),
         (3, "2024-02-02", 5.0), (3, "2024-03-30", 5.0)]
    )  # fmt: skip
    exact = cohort_retention(t, as_of=dt.date(2024, 3, 31))
    cumulative = cohort_retention(t, as_of=dt.date(2024, 3, 31), convention="cumulative")
    assert exact.index.tolist() == ["2024-01", "2024-02", "2024-03"][:2]
    assert exact["cohort_size"].tolist() == [2, 1]
    assert exact.loc["2024-01", [0, 1, 2]].tolist() == [1.0, 0.0, 0.5]
    assert cumulative.loc["2024-01", [0, 1, 2]].tolist() == [1.0, 0.5, 0.5]
    assert exact.loc["2024-02", 1] == 1.0 and pd.isna(exact.loc["2024-02", 2])


def test_kpis_by_month_has_one_row_per_month_end() -> None:
    t = _orders([(1, "2024-01-03", 5.0), (1, "2024-03-09", 5.0), (2, "2024-02-20", 5.0)])
    table = kpis_by_month(t, as_of=dt.date(2024, 3, 15))
    assert [d.isoformat() for d in table["as_of"]] == ["2024-01-31", "2024-02-29", "2024-03-15"]
    assert table["purchasing_customers"].tolist() == [1, 2, 2]
    assert table["repurchase_rate"].tolist() == [0.0, 0.0, 0.5]


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="silent_after_days"):
        AnalyticsSettings(silent_after_days=400, churned_after_days=365)


def _channel_orders() -> ibis.Table:
    # customer 1: online twice, offline three times of which one refunded and one cancelled;
    # customer 2: a tie (one order each), offline the more recent; customer 3: only nulls
    frame = pd.DataFrame(
        [
            (1, "2024-01-10 09:00", 10.0, "paid", "online", "books"),
            (1, "2024-02-10 09:00", 10.0, "paid", "online", "books"),
            (1, "2024-03-10 09:00", 10.0, "paid", "offline", "toys"),
            (1, "2024-04-10 09:00", 10.0, "refunded", "offline", "toys"),
            (1, "2024-05-10 09:00", 10.0, "cancelled", "offline", "toys"),
            (1, "2024-06-10 09:00", -4.0, "paid", "offline", "toys"),
            (2, "2024-03-01 09:00", 10.0, "paid", "online", "garden"),
            (2, "2024-03-01 09:01", 10.0, "paid", "offline", "music"),
            (3, "2024-03-01 09:00", 10.0, "paid", None, None),
        ],
        columns=["customer_id", "timestamp", "amount", "status", "channel", "category"],
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return ibis.memtable(frame)


def test_preferred_channel_and_category_have_exact_values() -> None:
    # given orders with channels and categories, refunds, a cancellation, a tie and nulls
    cols = OrderColumns(status="status", channel="channel", category="category")
    # when the summary is computed with both columns named
    s = _summary(_channel_orders(), columns=cols)
    # then the two columns come last but the mix, with the value of the most purchase orders
    assert s.columns[-6:].tolist() == [*PREFERENCE_COLUMNS, *MIX_COLUMNS]
    assert s["preferred_channel"].fillna("<null>").tolist() == ["online", "offline", "<null>"]
    assert s["preferred_category"].fillna("<null>").tolist() == ["books", "music", "<null>"]
    assert s.loc[1, "order_count"] == 3  # the refund rows and the cancelled order are out


def test_preferred_columns_exist_only_when_their_order_column_is_named() -> None:
    t = _channel_orders()
    without = _summary(t, columns=OrderColumns(status="status"))
    assert "preferred_channel" not in without.columns
    assert "preferred_category" not in without.columns
    only_channel = _summary(t, columns=OrderColumns(status="status", channel="channel"))
    assert only_channel.columns[-3:].tolist() == [
        "preferred_channel",
        "channel_count",
        "channel_share",
    ]
    assert "preferred_category" not in only_channel.columns
    with pytest.raises(KeyError, match="no column 'segment'"):
        _summary(t, columns=OrderColumns(category="segment"))


def test_preferred_value_ties_on_time_go_to_the_smallest_text() -> None:
    # given integer category ids 9 and 10, bought once each at the same moment
    t = _orders([(1, "2024-03-01 09:00", 10.0), (1, "2024-03-01 09:00", 20.0)])
    t = t.mutate(category=ibis.cases((t.amount > 15, 10), else_=9))
    # when the summary compares them as text
    s = _summary(t, columns=OrderColumns(category="category"))
    # then "10" < "9"; the value comes back as text
    assert s.loc[1, "preferred_category"] == "10"


def test_core_repurchase_rate_counts_purchase_days_and_a_scope_keeps_the_quadrants():
    from retain.analytics import kpis

    rows = [(c, f"2024-0{m}-1{c % 9}", 100.0 * c) for c in range(1, 11) for m in (5, 6)]
    rows += [(11, "2024-06-01", 5000.0), (11, "2024-06-01", 5000.0)]  # two orders, one day
    table = _orders(rows)
    summary = _summary(table)
    core = summary[summary["quadrant"] == "core"]
    assert 11 in core.index  # the two-orders-on-one-day customer is core ...

    snapshot = kpis(table, as_of=AS_OF)
    expected = float((core["purchase_days"] >= 2).mean())
    assert snapshot.core_repurchase_rate == expected < 1.0  # ... and has not bought again
    assert core.loc[11, "order_count"] == 2

    scoped = kpis(table, as_of=AS_OF, customer_ids=[11])
    assert (scoped.customer_count, scoped.core_repurchase_rate) == (1, 0.0)
    assert scoped.quadrants["core"].customers == 1


def test_followups_and_customer_kind_count_only_what_was_known_on_as_of() -> None:
    # given customer 1 (a company) with four follow-ups around AS_OF (2024-06-30), customer 2
    # (a person) and customer 3 of unknown kind
    orders = _orders([(1, "2024-01-01", 10.0), (2, "2024-01-01", 5.0), (3, "2024-01-01", 5.0)])
    customers = ibis.memtable(
        pd.DataFrame({"customer_id": [1, 2, 3], "kind": ["Company", "person", None]})
    )
    followups = ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": [1, 1, 1, 1, 2],
                "created_at": pd.to_datetime(
                    ["2024-05-01", "2024-06-01", "2024-06-20", "2024-07-05", "2024-03-01"]
                ),
                "due_on": pd.to_datetime(
                    ["2024-05-10", "2024-06-10", "2024-07-10", "2024-07-10", "2024-03-05"]
                ),
                # closed before as_of (lost); closed after as_of (won, not yet known); open;
                # created after as_of (not counted); closed before as_of (won)
                "closed_at": pd.to_datetime(["2024-05-20", "2024-07-02", None, None, "2024-03-04"]),
                "outcome": ["lost", "won_back", "", "", "won_back"],
            }
        )
    )
    s = _summary(
        orders,
        customers=customers,
        customer_columns=CustomerColumns(kind="kind"),
        followups=followups,
        followup_columns=FollowupColumns(outcome="outcome"),
    )
    # then only what stood on as_of counts: two open (one closed later), one of them overdue
    assert s.loc[1, ["open_followups", "overdue_followups"]].tolist() == [2, 1]
    assert s.loc[1, ["followups_won", "followups_lost"]].tolist() == [0, 1]
    assert s.loc[2, ["open_followups", "followups_won", "followups_lost"]].tolist() == [0, 1, 0]
    assert s.loc[3, ["open_followups", "overdue_followups"]].tolist() == [0, 0]
    assert s.loc[1, "is_business"] == 1 and s.loc[2, "is_business"] == 0
    assert pd.isna(s.loc[3, "is_business"])
    # and without the tables the counts are 0 and the kind unknown
    plain = _summary(orders)
    assert (plain["open_followups"] == 0).all() and plain["is_business"].isna().all()


def test_kpis_of_no_customers_and_of_many() -> None:
    """The restriction is a semi-join: none gives empty figures, every id the full ones."""
    from retain.analytics import kpis

    t = _orders([(c, f"2024-0{m}-1{c % 9}", 100.0 * c) for c in range(1, 11) for m in (4, 6)])
    full = kpis(t, as_of=AS_OF)
    assert full.customer_count == 10
    assert kpis(t, as_of=AS_OF, customer_ids=[]).customer_count == 0
    every = kpis(t, as_of=AS_OF, customer_ids=list(range(0, 5000)))
    assert every.to_row() == full.to_row()
