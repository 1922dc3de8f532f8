"""The cross-engine suite: the same cases on DuckDB, SQLite, PostgreSQL and Spark.

Every engine's result is compared with one reference: the pandas implementation in
analytics_reference.py (summary, cohorts) and the scores computed from that reference summary.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from analytics_reference import (
    AS_OF,
    Loader,
    reference_cohorts,
    reference_preferences,
    reference_summary,
)

from retain.analytics import (
    CHURN_FEATURES,
    MIX_COLUMNS,
    MODEL_INPUT_COLUMNS,
    PREFERENCE_COLUMNS,
    SUMMARY_COLUMNS,
    AnalyticsSettings,
    ComplaintColumns,
    CustomerColumns,
    FollowupColumns,
    InteractionColumns,
    KpiSnapshot,
    OrderColumns,
    Quadrant,
    SurveyColumns,
    Tables,
    churn_features,
    cohort_retention,
    customer_summary,
    fit_models,
    kpis,
    kpis_at,
    model_inputs,
    score_customers,
    score_summary,
)

COLUMNS = OrderColumns(
    customer_id="customer_id", timestamp="ordered_at", amount="total", status="status"
)
#: The same with the channel and category columns: the summary adds the preferred ones.
PREF_COLUMNS = dataclasses.replace(COLUMNS, channel="channel", category="category")
EXTRA = {
    "customer_columns": CustomerColumns(
        customer_id="id", first_contact="first_contact", kind="kind"
    ),
    "followup_columns": FollowupColumns(outcome="outcome"),
    "interaction_columns": InteractionColumns(timestamp="happened_at"),
    "complaint_columns": ComplaintColumns(timestamp="opened_at", resolved="resolved"),
    "survey_columns": SurveyColumns(timestamp="answered_at", nps="nps", rating="rating"),
}
TEXT = (
    "rfm_segment",
    "value_tier",
    "activity_level",
    "quadrant",
    "lifecycle_stage",
    *PREFERENCE_COLUMNS,
)
TIMES = ("first_contact", "first_purchase", "last_purchase")


def _load_all(
    load: Loader, tables: dict[str, pd.DataFrame], columns: OrderColumns = PREF_COLUMNS
) -> Tables:
    """Every table loaded on one engine, as the engine's input bundle."""
    t = {name: load(name, frame) for name, frame in tables.items()}
    return Tables(
        t["orders"],  # type: ignore[arg-type]
        columns=columns,
        customers=t["customers"],  # type: ignore[arg-type]
        interactions=t["interactions"],  # type: ignore[arg-type]
        complaints=t["complaints"],  # type: ignore[arg-type]
        surveys=t["surveys"],  # type: ignore[arg-type]
        followups=t["followups"],  # type: ignore[arg-type]
        **EXTRA,  # type: ignore[arg-type]
    )


def assert_same_frame(got: pd.DataFrame, want: pd.DataFrame, columns: tuple[str, ...]) -> None:
    got = got.sort_values("customer_id").reset_index(drop=True)
    want = want.sort_values("customer_id").reset_index(drop=True)
    assert got["customer_id"].astype(np.int64).tolist() == want["customer_id"].tolist()
    for col in columns:
        g, w = got[col], want[col]
        if col in TEXT or col in ("churn_risk", "risk_reasons"):
            assert (
                g.fillna("<null>").astype(str).tolist() == w.fillna("<null>").astype(str).tolist()
            ), col
        elif col in TIMES:
            gt = pd.to_datetime(g).dt.tz_localize(None).astype("datetime64[us]")
            wt = pd.to_datetime(w).astype("datetime64[us]")
            pd.testing.assert_series_equal(gt, wt, check_names=False, obj=col)
        else:
            np.testing.assert_allclose(
                g.to_numpy(dtype=np.float64),
                w.to_numpy(dtype=np.float64),
                rtol=1e-9,
                atol=1e-9,
                err_msg=col,
            )


def test_summary_matches_reference_on_every_engine(
    engine: tuple[str, Loader], tables: dict[str, pd.DataFrame], settings: AnalyticsSettings
) -> None:
    # given the same tables on one engine
    _, load = engine
    t = _load_all(load, tables)
    # when the summary runs inside that engine
    got = customer_summary(t, as_of=AS_OF, settings=settings).to_pandas()
    # then every column equals the pandas reference
    want = reference_summary(tables, AS_OF, settings)
    assert list(got.columns) == [*SUMMARY_COLUMNS, *PREFERENCE_COLUMNS, *MIX_COLUMNS]
    assert len(got) == 320
    assert_same_frame(got, want, (*SUMMARY_COLUMNS[1:], *PREFERENCE_COLUMNS, *MIX_COLUMNS))
    # the data set exercises every new feature: both kinds and unknown, open, overdue, won
    # and lost follow-ups, customers who bought through one channel and through several
    assert set(got["is_business"].dropna()) == {0, 1} and got["is_business"].isna().any()
    for name in ("open_followups", "overdue_followups", "followups_won", "followups_lost"):
        assert (got[name] > 0).any() and (got[name] == 0).any(), name
    assert set(got["channel_count"]) == {0, 1, 2} and set(got["category_count"]) >= {1, 2, 3}
    # the data set has buyers with each channel and category, and some with none
    assert got["preferred_channel"].notna().sum() == want["preferred_channel"].notna().sum()
    assert set(got["preferred_channel"].dropna()) == {"online", "offline"}
    assert set(got["preferred_category"].dropna()) == {"books", "garden", "music", "toys"}


def test_model_inputs_match_reference_on_every_engine(
    engine: tuple[str, Loader], tables: dict[str, pd.DataFrame], settings: AnalyticsSettings
) -> None:
    # given the orders on one engine
    _, load = engine
    orders = load("orders", tables["orders"])
    # when only the model inputs are computed there
    got = model_inputs(Tables(orders, columns=COLUMNS), as_of=AS_OF, settings=settings).to_pandas()
    # then they are the summary's columns of the same name, for purchasing customers only
    want = reference_summary(tables, AS_OF, settings)
    want = want[want["T_days"].notna()]
    assert list(got.columns) == list(MODEL_INPUT_COLUMNS)
    assert len(got) == len(want) == 295
    assert_same_frame(got, want, MODEL_INPUT_COLUMNS[1:])


def test_scores_match_reference_on_every_engine(
    engine: tuple[str, Loader], tables: dict[str, pd.DataFrame], settings: AnalyticsSettings
) -> None:
    _, load = engine
    t = _load_all(load, tables)
    got = score_customers(t, as_of=AS_OF, settings=settings)
    want = score_summary(reference_summary(tables, AS_OF, settings), settings=settings)
    numeric = (
        "p_alive",
        "expected_purchases_30d",
        "expected_purchases_90d",
        "expected_purchases_365d",
        "expected_avg_spend",
        "predicted_ltv",
    )
    assert_same_frame(got, want, ("churn_risk", "risk_reasons", *PREFERENCE_COLUMNS))
    for col in numeric:
        np.testing.assert_allclose(
            got.sort_values("customer_id")[col].to_numpy(dtype=np.float64),
            want[col].to_numpy(dtype=np.float64),
            rtol=1e-6,
            err_msg=col,
        )
    # every purchasing customer is scored, no prospect is
    assert got["p_alive"].notna().sum() == want["T_days"].notna().sum() == 295


def test_churn_features_match_reference_on_every_engine(
    engine: tuple[str, Loader], tables: dict[str, pd.DataFrame], settings: AnalyticsSettings
) -> None:
    # given every table on one engine, with the channel and category
    _, load = engine
    t = _load_all(load, tables)
    for as_of in (AS_OF, AS_OF - dt.timedelta(days=90)):
        # when the churn classifier's features are built from that engine's summary
        got_summary = customer_summary(t, as_of=as_of, settings=settings).to_pandas()
        got_summary = got_summary.sort_values("customer_id").reset_index(drop=True)
        got = churn_features(got_summary, fit_models(got_summary, settings))
        want_summary = reference_summary(tables, as_of, settings)
        want_summary = want_summary.sort_values("customer_id").reset_index(drop=True)
        want = churn_features(want_summary, fit_models(want_summary, settings))
        # then every feature equals the reference's: follow-ups, business or person, the
        # channel and category mix, complaints, NPS, Pareto/NBD and BG/NBD quantities
        assert list(got.columns) == list(CHURN_FEATURES)
        assert len(got) == len(want) > 200
        for name in CHURN_FEATURES:
            np.testing.assert_allclose(
                got[name].to_numpy(dtype=np.float64),
                want[name].to_numpy(dtype=np.float64),
                rtol=1e-7,
                atol=1e-9,
                err_msg=f"{name} as of {as_of}",
            )
        # and the data exercise them: each of these takes more than one value
        for name in (
            "open_followups",
            "overdue_followups",
            "log_followups_won",
            "log_followups_lost",
            "business",
            "business_missing",
            "log_channel_count",
            "channel_share",
            "log_category_count",
            "category_share",
            "pnbd_p_alive",
        ):
            assert got[name].nunique() > 1, f"{name} as of {as_of}"


# customer: (ordered_at, total, status, channel, category) ...; AS_OF is 2024-03-31
PREFERENCE_CASES: dict[int, list[tuple[str, float, str, str | None, str | None]]] = {
    # a tie on the count: the value bought most recently wins
    1: [("2024-01-05 10:00", 10.0, "paid", "online", "toys"),
        ("2024-02-01 10:00", 10.0, "paid", "offline", "books")],
    # a value seen only on refunds (negative total, status "Refunded") never wins
    2: [("2024-01-05 10:00", 10.0, "paid", "online", "garden"),
        ("2024-01-06 10:00", -5.0, "paid", "offline", "toys"),
        ("2024-01-07 10:00", 8.0, "Refunded", "offline", "toys")],
    # null values are ignored; all null: null
    3: [("2024-01-05 10:00", 10.0, "paid", None, None),
        ("2024-01-06 10:00", 10.0, "paid", None, None),
        ("2024-01-07 10:00", 10.0, "paid", "offline", None)],
    # a tie on the count and the time: the smallest value in text order
    4: [("2024-03-01 12:00", 10.0, "paid", "online", "toys"),
        ("2024-03-01 12:00", 20.0, "paid", "offline", "garden")],
    # cancelled orders and orders after as_of do not count; a free order does
    5: [("2024-01-05 10:00", 10.0, "cancelled", "online", "toys"),
        ("2024-01-06 10:00", 10.0, "cancelled", "online", "toys"),
        ("2024-01-07 10:00", 0.0, "paid", "offline", "music"),
        ("2024-04-02 10:00", 10.0, "paid", "online", "toys"),
        ("2024-04-03 10:00", 10.0, "paid", "online", "toys")],
    # only refunds: nothing preferred
    6: [("2024-01-05 10:00", -10.0, "paid", "online", "toys")],
    # more purchases beat a more recent one
    7: [("2023-05-01 10:00", 10.0, "paid", "online", "books"),
        ("2023-06-01 10:00", 10.0, "paid", "online", "books"),
        ("2024-03-30 10:00", 90.0, "paid", "offline", "music")],
}  # fmt: skip
PREFERRED = {  # customer: (preferred_channel, preferred_category); 8 is a prospect
    1: ("offline", "books"),
    2: ("online", "garden"),
    3: ("offline", None),
    4: ("offline", "garden"),
    5: ("offline", "music"),
    6: (None, None),
    7: ("online", "books"),
    8: (None, None),
}


def test_preferred_channel_and_category_edge_cases_on_every_engine(
    engine: tuple[str, Loader],
) -> None:
    # given hand-made orders with ties, refunds, nulls and cancellations on one engine
    _, load = engine
    rows = [(cid, *row) for cid, orders in PREFERENCE_CASES.items() for row in orders]
    names = ["customer_id", "ordered_at", "total", "status", "channel", "category"]
    # text columns as objects holding None: Spark reads the NaN of pandas' own string type
    # as the text "NaN"
    frame = pd.DataFrame(
        {
            name: pd.Series(list(v), dtype=object)
            for name, v in zip(names, zip(*rows, strict=True), strict=True)
        }
    )
    frame["customer_id"] = frame["customer_id"].astype(np.int64)
    frame["total"] = frame["total"].astype(np.float64)
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"]).astype("datetime64[us]")
    orders = load("orders", frame)
    customers = load("customers", pd.DataFrame({"id": np.arange(1, 9, dtype=np.int64)}))
    # when the summary runs there
    got = customer_summary(
        Tables(
            orders,
            columns=PREF_COLUMNS,
            customers=customers,
            customer_columns=CustomerColumns(customer_id="id"),
        ),
        as_of=AS_OF,
    ).to_pandas()
    # then each customer has the expected preferences, the same as the reference's
    assert _preferences(got) == PREFERRED
    want = _preferences(reference_preferences(frame, AS_OF))
    assert want == {cid: PREFERRED[cid] for cid in range(1, 8)}  # 8 has no orders


def _preferences(frame: pd.DataFrame) -> dict[int, tuple[str | None, ...]]:
    return {
        int(cid): tuple(None if pd.isna(v) else str(v) for v in values)
        for cid, *values in frame[["customer_id", *PREFERENCE_COLUMNS]].itertuples(index=False)
    }


@pytest.mark.parametrize("convention", ["exact", "cumulative"])
def test_cohorts_match_reference_on_every_engine(
    engine: tuple[str, Loader], tables: dict[str, pd.DataFrame], convention: str
) -> None:
    _, load = engine
    orders = load("orders", tables["orders"])
    got = cohort_retention(
        Tables(orders, columns=COLUMNS),
        as_of=AS_OF,
        convention=convention,  # type: ignore[arg-type]
    )
    want = reference_cohorts(tables["orders"], AS_OF, cumulative=convention == "cumulative")
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_names=False)


def test_kpis_match_reference_on_every_engine(
    engine: tuple[str, Loader], tables: dict[str, pd.DataFrame], settings: AnalyticsSettings
) -> None:
    _, load = engine
    t = _load_all(load, tables, COLUMNS)
    got = kpis(t, as_of=AS_OF, settings=settings)
    ref = reference_summary(tables, AS_OF, settings)
    buyers = ref[ref["T_days"].notna()]
    assert got.customer_count == 320
    assert got.purchasing_customers == len(buyers)
    assert got.repurchase_rate == pytest.approx((buyers["purchase_days"] >= 2).mean())
    assert got.average_historical_ltv == pytest.approx(buyers["total_spend"].mean())
    for name, q in got.quadrants.items():
        mine = buyers[buyers["quadrant"] == name]
        assert q.customers == len(mine)
        assert q.revenue == pytest.approx(mine["value_spend"].sum())
    assert sum(q.customers for q in got.quadrants.values()) == len(buyers)

    # retention: customers of the previous 365-day period who bought again in the last one
    o = tables["orders"]
    day = (o["ordered_at"] - pd.Timestamp("1970-01-01")).dt.days
    asof = (pd.Timestamp(AS_OF) - pd.Timestamp("1970-01-01")).days
    ok = (o["total"] >= 0) & ~o["status"].str.lower().isin(["refunded", "cancelled"])
    before = set(o.loc[ok & (day > asof - 730) & (day <= asof - 365), "customer_id"])
    during = set(o.loc[ok & (day > asof - 365) & (day <= asof), "customer_id"])
    assert got.retention_rate == pytest.approx(len(before & during) / len(before))
    assert got.churn_rate == pytest.approx(1 - len(before & during) / len(before))

    sv = tables["surveys"]
    sday = (sv["answered_at"] - pd.Timestamp("1970-01-01")).dt.days
    sv = sv[(sday <= asof) & (sday > asof - 365)]
    nps = 100 * ((sv["nps"] >= 9).mean() - (sv["nps"] <= 6).mean())
    assert got.nps == pytest.approx(nps)
    assert got.positive_review_rate == pytest.approx((sv["rating"] >= 4).mean())
    co = tables["complaints"]
    cday = (co["opened_at"] - pd.Timestamp("1970-01-01")).dt.days
    n_complaints = int(((cday <= asof) & (cday > asof - 365)).sum())
    n_orders = int((ok & (day > asof - 365) & (day <= asof)).sum())
    assert got.complaint_rate == pytest.approx(n_complaints / n_orders)


def assert_same_snapshots(got: list[KpiSnapshot], want: list[KpiSnapshot]) -> None:
    """Every field of ``to_row()`` equal: counts, dates and undefined (None) figures exactly,
    rates and amounts to float rounding."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        grow, wrow = g.to_row(), w.to_row()
        assert list(grow) == list(wrow)
        for key, value in wrow.items():
            where = f"{w.as_of} {key}: {grow[key]!r} != {value!r}"
            if isinstance(value, float):
                assert isinstance(grow[key], float), where
                assert grow[key] == pytest.approx(value, rel=1e-9, abs=1e-9), where
            else:
                assert type(grow[key]) is type(value) and grow[key] == value, where


#: Month ends from before the first order (2022-01-01) to AS_OF, out of order.
KPI_DATES = [
    AS_OF,
    dt.date(2021, 12, 31),
    dt.date(2022, 6, 30),
    dt.date(2023, 1, 31),
    dt.date(2023, 7, 31),
    dt.date(2024, 2, 29),
]


def test_kpis_at_several_dates_equal_kpis_at_each_on_every_engine(
    engine: tuple[str, Loader], tables: dict[str, pd.DataFrame], settings: AnalyticsSettings
) -> None:
    # given the full data set (prospects, refunds, complaints, surveys) on one engine
    name, load = engine
    t = _load_all(load, tables, COLUMNS)
    scope = list(range(1, 321, 3))  # a rep's accounts: every third customer, prospects too
    # Spark takes seconds a query: the two dates of the cases below (the others on the rest)
    dates = KPI_DATES[:2] if name == "spark" else KPI_DATES
    for ids in (None, scope):
        # when the KPIs at every date come from one pass
        got = kpis_at(t, dates, settings=settings, customer_ids=ids)
        # then they are those of kpis() at each date, in the order asked
        want = [kpis(t, as_of=d, settings=settings, customer_ids=ids) for d in dates]
        assert [g.as_of for g in got] == dates
        assert_same_snapshots(got, want)
    # the dates cover the cases: before any order, and every quadrant filled at AS_OF
    assert got[1].purchasing_customers == 0 and got[1].customer_count == len(scope)
    assert all(q.customers > 0 for q in got[0].quadrants.values())


def _gap_tables() -> dict[str, pd.DataFrame]:
    """Six customers by hand: no purchase in February 2024, a customer with only a refund
    who is not in the customers table (4), a prospect (6), a free order (3), a refund by
    status (5) and one by a negative amount (1)."""
    orders = pd.DataFrame(
        [
            (1, "2024-01-05 10:00", 20.0, "paid"),
            (1, "2024-03-10 10:00", 30.0, "paid"),
            (1, "2024-03-10 12:00", -5.0, "paid"),
            (2, "2024-01-20 10:00", 50.0, "paid"),
            (2, "2024-04-02 10:00", 10.0, "cancelled"),
            (3, "2024-03-03 10:00", 0.0, "paid"),
            (4, "2024-01-25 10:00", -8.0, "paid"),
            (5, "2023-01-15 10:00", 100.0, "paid"),
            (5, "2024-01-10 10:00", 10.0, "Refunded"),
        ],
        columns=["customer_id", "ordered_at", "total", "status"],
    )
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"]).astype("datetime64[us]")
    customers = pd.DataFrame({"id": [1, 2, 3, 5, 6]})
    customers["first_contact"] = pd.Timestamp("2022-06-01").as_unit("us")
    customers["kind"] = "person"
    complaints = pd.DataFrame(
        {"customer_id": [2], "opened_at": [pd.Timestamp("2024-02-10")], "resolved": [False]}
    )
    surveys = pd.DataFrame(
        {
            "customer_id": [1, 3],
            "answered_at": pd.to_datetime(["2024-02-15 09:00", "2024-03-20 09:00"]),
            "nps": [10, 3],
            "rating": [5, 2],
        }
    )
    for frame in (complaints, surveys):
        frame[frame.columns[1]] = frame[frame.columns[1]].astype("datetime64[us]")
    return {
        "orders": orders,
        "customers": customers,
        "complaints": complaints,
        "surveys": surveys,
    }


GAP_DATES = [
    dt.date(2022, 12, 31),  # before any order
    dt.date(2024, 1, 31),
    dt.date(2024, 2, 29),  # a month nobody bought in
    dt.date(2024, 3, 31),
    dt.date(2024, 4, 30),
    dt.date(2024, 2, 29),  # asked twice
]


def test_kpis_at_edge_cases_equal_kpis_on_every_engine(engine: tuple[str, Loader]) -> None:
    # given a month without purchases, a refund-only customer missing from the customers
    # table, a prospect, and a date before any order
    engine_name, load = engine
    loaded = {name: load(name, frame) for name, frame in _gap_tables().items()}
    t = Tables(
        loaded["orders"],
        columns=COLUMNS,
        customers=loaded["customers"],
        complaints=loaded["complaints"],
        surveys=loaded["surveys"],
        customer_columns=EXTRA["customer_columns"],  # type: ignore[arg-type]
        complaint_columns=EXTRA["complaint_columns"],  # type: ignore[arg-type]
        survey_columns=EXTRA["survey_columns"],  # type: ignore[arg-type]
    )
    by_spend = AnalyticsSettings(high_value_min_spend=40.0, medium_value_min_spend=10.0)
    cases = [(AnalyticsSettings(), None), (AnalyticsSettings(), [1, 4, 6]), (by_spend, None)]
    if engine_name == "spark":  # seconds a query: the scoped case (the others on the other engines)
        cases = cases[1:2]
    for settings, ids in cases:
        # when the KPIs at the dates come from one pass, then they are kpis() at each date
        got = kpis_at(t, GAP_DATES, settings=settings, customer_ids=ids)
        want = [kpis(t, as_of=d, settings=settings, customer_ids=ids) for d in GAP_DATES]
        assert_same_snapshots(got, want)

    # and the figures are the hand-checked ones
    before, jan, feb, _mar, _apr, feb_again = kpis_at(t, GAP_DATES)
    nothing = {"customers": 0, "share": None, "revenue": 0.0, "revenue_share": None}
    assert before.to_row() == {
        "as_of": dt.date(2022, 12, 31),
        "customer_count": 5,  # the customers table, whatever the date
        **dict.fromkeys(["purchasing_customers", "active_customers", "new_customers"], 0),
        **dict.fromkeys(["retention_rate", "churn_rate", "repurchase_rate"], None),
        **dict.fromkeys(["average_historical_ltv", "nps", "complaint_rate"], None),
        "positive_review_rate": None,
        "revenue": 0.0,
        "core_repurchase_rate": None,
        **{f"{q}_{k}": v for q in Quadrant for k, v in nothing.items()},
    }
    # customer 4 (a refund only) is not in the customers table: counted once it has an order
    assert (jan.customer_count, jan.purchasing_customers, jan.new_customers) == (6, 3, 2)
    assert feb == feb_again
    # customer 5 last bought 410 days before: churned, not active
    assert (feb.customer_count, feb.purchasing_customers, feb.active_customers) == (6, 3, 2)
    # ... and bought in the year before the last, got only a refund in the last one
    assert (feb.retention_rate, feb.churn_rate) == (0.0, 1.0)
    assert feb.nps == 100.0 and feb.positive_review_rate == 1.0
    assert feb.complaint_rate == 0.5  # one complaint, two purchase orders in the window
    assert feb.revenue == pytest.approx(20.0 + 50.0 - 8.0 - 10.0)


def test_kpis_at_no_dates_is_no_snapshot() -> None:
    orders = ibis.memtable({"customer_id": [1], "timestamp": ["2024-01-03"], "amount": [5.0]})
    assert kpis_at(orders, []) == []
