"""The learned churn probability, its back-test and its reason codes.

The data are simulated with a known churn mechanism that orders alone do not show: a customer
who files a complaint stops buying (with probability 0.85) from that day on; everyone else buys
at their own steady Poisson rate. The classifier sees the complaints table; the baselines
(days since last purchase, RFM logistic regression, BG/NBD) see the orders only, as in practice.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from retain.analytics import (
    AnalyticsSettings,
    ChurnClassifier,
    ReasonCode,
    Tables,
    backtest,
    fit_churn_model,
    format_reasons,
    parse_reasons,
    score_customers,
)

START = dt.date(2022, 1, 1)
AS_OF = dt.date(2023, 12, 31)
SETTINGS = AnalyticsSettings(churn_train_periods=2, churn_backtest_origins=2)


def simulate(seed: int = 3, n: int = 1200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders and complaints of ``n`` customers over two years (AS_OF is the last day)."""
    rng = np.random.default_rng(seed)
    days = (AS_OF - START).days + 1
    orders: list[tuple[int, dt.date, float]] = []
    complaints: list[tuple[int, dt.date, bool]] = []
    for cid in range(1, n + 1):
        first = int(rng.integers(0, 240))
        rate = rng.gamma(2.0, 1 / 60)  # about one purchase a month on average
        # a complaint on a uniformly random day (for 40 % of the customers)
        complaint_day = int(rng.integers(first, days)) if rng.random() < 0.4 else None
        stops = complaint_day is not None and rng.random() < 0.85
        day = first
        while day < days:
            if stops and complaint_day is not None and day > complaint_day:
                break
            orders.append((cid, START + dt.timedelta(days=day), round(rng.gamma(2.0, 30.0), 2)))
            day += max(1, int(rng.exponential(1 / rate)))
        if complaint_day is not None:
            complaints.append((cid, START + dt.timedelta(days=complaint_day), False))
    o = pd.DataFrame(orders, columns=["customer_id", "timestamp", "amount"])
    o["timestamp"] = pd.to_datetime(o["timestamp"])
    c = pd.DataFrame(complaints, columns=["customer_id", "timestamp", "resolved"])
    c["timestamp"] = pd.to_datetime(c["timestamp"])
    return o, c


@pytest.fixture(scope="module")
def simulated() -> tuple[ibis.Table, ibis.Table]:
    orders, complaints = simulate()
    con = ibis.duckdb.connect()
    return con.create_table("orders", orders), con.create_table("complaints", complaints)


def test_classifier_recovers_the_churn_mechanism_better_than_every_baseline(
    simulated: tuple[ibis.Table, ibis.Table],
) -> None:
    orders, complaints = simulated
    # when back-tested over two cut-offs, 90-day horizon
    result = backtest(Tables(orders, complaints=complaints), as_of=AS_OF, settings=SETTINGS)
    assert [o["cut_off"] for o in result.origins] == [dt.date(2023, 10, 2), dt.date(2023, 7, 4)]
    summary = result.summary().set_index("model")
    learned = summary.loc[result.chosen]
    # then the learned probability ranks and calibrates better than every baseline
    for baseline in ("recency", "rfm_logistic", "bgnbd"):
        assert learned["roc_auc"] > summary.loc[baseline, "roc_auc"] + 0.03, baseline
        assert learned["pr_auc"] > summary.loc[baseline, "pr_auc"], baseline
        assert learned["brier"] < summary.loc[baseline, "brier"], baseline
    assert learned["calibration_error"] < 0.06
    # and every cut-off has ten calibration bins covering every customer
    for origin in result.origins:
        bins = origin["models"][result.chosen]["calibration"]
        assert len(bins) == 10 and sum(b["n"] for b in bins) == origin["customers"]
    forecast = result.forecast_summary().set_index("model")
    assert set(forecast.index) == {"bgnbd", "previous_period"}


def test_scores_carry_probability_level_and_reason_codes(
    simulated: tuple[ibis.Table, ibis.Table],
) -> None:
    orders, complaints = simulated
    tables = Tables(orders, complaints=complaints)
    model = fit_churn_model(tables, as_of=AS_OF, settings=SETTINGS, run_backtest=False)
    assert model.learned and model.kind == "logistic" and model.fallback_reason == ""
    assert model.train_cut_offs == [dt.date(2023, 10, 2), dt.date(2023, 7, 4)]
    scores = score_customers(tables, as_of=AS_OF, settings=SETTINGS, churn=model).set_index(
        "customer_id"
    )
    p = scores["churn_probability"]
    assert p.between(0, 1).all() and (scores["churn_model"] == "logistic").all()
    # a customer with an open complaint gets a higher probability, and it is a reason
    complained = scores["open_complaints"] > 0
    assert p[complained].mean() > p[~complained].mean() + 0.3
    reasons = scores.loc[complained, "risk_reasons"].map(parse_reasons)
    has_complaint = reasons.map(lambda rs: any(r.code == "open_complaint" for r in rs))
    assert has_complaint.mean() > 0.8
    one = reasons[has_complaint].iloc[0]
    code = next(r for r in one if r.code == "open_complaint")
    cid = reasons[has_complaint].index[0]
    assert code.params == {
        "count": 1.0,
        "days": float(scores.loc[cid, "open_complaint_days"]),
    }
    # one-time buyers are scored like everyone else
    assert p[scores["frequency"] == 0].notna().all()
    # the level follows the probability and the value at stake
    high = scores["churn_risk"] == "high"
    assert (p[high] >= SETTINGS.risk_probability_high).all()
    assert (p[scores["churn_risk"] == "low"] < SETTINGS.risk_probability_high).all()


def test_short_history_falls_back_to_bgnbd_and_says_why() -> None:
    orders = ibis.memtable(
        {
            "customer_id": [1, 1, 2, 3],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-04-20", "2024-02-01", "2024-05-01"]),
            "amount": [10.0, 12.0, 5.0, 7.0],
        }
    )
    model = fit_churn_model(orders, as_of=dt.date(2024, 6, 1))
    assert (model.kind, model.learned, model.backtest) == ("bgnbd", False, None)
    assert model.fallback_reason == (
        "2 buyers at the newest labelled cut-off (2024-03-03); the classifier needs at least 200"
    )
    scores = score_customers(orders, as_of=dt.date(2024, 6, 1), churn=model)
    assert (scores["churn_model"] == "bgnbd").all()
    # BG/NBD: churn probability = 1 - P(at least one purchase in 90 days), in (0, 1)
    assert scores["churn_probability"].between(0, 1, inclusive="neither").all()


def test_reason_codes_round_trip_and_reject_prose() -> None:
    reasons = [ReasonCode("overdue", {"multiple": 3.2}), ReasonCode("nps", {"score": 4.0})]
    text = format_reasons(reasons)
    assert text == "overdue(multiple=3.2); nps(score=4)"
    assert parse_reasons(text) == reasons
    with pytest.raises(ValueError, match="not a reason code"):
        parse_reasons("no purchase for 3x the usual interval")


def test_linear_contributions_are_exact() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=500) > 0).astype(int)
    clf = ChurnClassifier(kind="logistic").fit(X, y)
    contributions = clf.contributions(X)
    base = clf.estimator_
    logit = base.decision_function(X)
    np.testing.assert_allclose(
        contributions.sum(axis=1) + base.named_steps["model"].intercept_[0], logit, rtol=1e-9
    )


def test_tree_contributions_sum_to_the_log_odds() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 3))
    y = (X[:, 0] + 0.5 * X[:, 2] + rng.normal(size=2000) > 0).astype(int)
    clf = ChurnClassifier(kind="hgb").fit(X, y)
    contributions = clf.contributions(X)
    raw = clf.estimator_.decision_function(X)
    baseline = clf.estimator_._baseline_prediction.ravel()[0]
    root = sum(
        float(p[0].nodes["value"][0]) * clf.estimator_.learning_rate
        for p in clf.estimator_._predictors
    )
    np.testing.assert_allclose(contributions.sum(axis=1) + baseline + root, raw, atol=1e-8)
    # the feature that drives the outcome gets the largest share
    assert np.abs(contributions).mean(axis=0).argmax() == 0


def test_the_same_file_gives_the_same_probabilities_run_after_run() -> None:
    # given the same orders and complaints, loaded afresh for each run (the rows shuffled for
    # the second: a database returns them in any order)
    orders, complaints = simulate(seed=5, n=900)
    runs = []
    for shuffle in (False, True):
        o = orders.sample(frac=1.0, random_state=1) if shuffle else orders
        con = ibis.duckdb.connect()
        tables = Tables(
            con.create_table("orders", o), complaints=con.create_table("complaints", complaints)
        )
        # when the model is trained with its back-test and the customers scored
        model = fit_churn_model(tables, as_of=AS_OF, settings=SETTINGS)
        scores = score_customers(tables, as_of=AS_OF, settings=SETTINGS, churn=model)
        runs.append((model, scores))
    (first, a), (second, b) = runs
    # then the same model, back-test, probabilities and reasons, exactly
    assert first.learned and first.kind == second.kind
    assert first.backtest is not None and second.backtest is not None
    assert first.backtest.to_dict() == second.backtest.to_dict()
    assert a["customer_id"].tolist() == b["customer_id"].tolist()
    assert np.array_equal(
        a["churn_probability"].to_numpy(dtype=np.float64),
        b["churn_probability"].to_numpy(dtype=np.float64),
        equal_nan=True,
    )
    assert a["risk_reasons"].tolist() == b["risk_reasons"].tolist()
    # both learned kinds are deterministic, not only the one chosen
    X = np.random.default_rng(2).normal(size=(3000, 4))
    y = (X[:, 0] + np.random.default_rng(3).normal(size=3000) > 0).astype(int)
    for kind in ("logistic", "hgb"):
        p1 = ChurnClassifier(kind=kind).fit(X, y).predict_proba(X)  # type: ignore[arg-type]
        p2 = ChurnClassifier(kind=kind).fit(X, y).predict_proba(X)  # type: ignore[arg-type]
        assert np.array_equal(p1, p2), kind


def test_pareto_nbd_features_are_as_of_the_cut_off_without_leakage(
    simulated: tuple[ibis.Table, ibis.Table],
) -> None:
    from retain.analytics import ParetoNBD
    from retain.analytics._churn import _history

    orders, complaints = simulated
    cut_off = dt.date(2023, 7, 4)
    full = _history(Tables(orders, complaints=complaints), SETTINGS, 90, AS_OF)
    # the same tables with everything after the cut-off deleted
    end = pd.Timestamp(cut_off) + pd.Timedelta(days=1)
    cut = _history(
        Tables(
            orders.filter(orders.timestamp < end),
            complaints=complaints.filter(complaints.timestamp < end),
        ),
        SETTINGS,
        90,
        AS_OF,
    )
    seen = full.period(cut_off, labelled=True).features
    blind = cut.period(cut_off, labelled=False).features
    # every feature, the Pareto/NBD ones included, is the same without the later orders
    pd.testing.assert_frame_equal(seen, blind, check_exact=True)
    # and they are Pareto/NBD's own quantities as of the cut-off (not BG/NBD's stand-ins)
    summary = cut.buyers(cut_off)
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["t_x_days"].to_numpy(dtype=float) / 7
    t_obs = summary["T_days"].to_numpy(dtype=float) / 7
    assert len(x) <= 5000  # all buyers: the fit sees no sample here
    model = ParetoNBD(tol=1e-7).fit(x, t_x, t_obs)
    np.testing.assert_allclose(
        blind["pnbd_p_alive"], model.conditional_probability_alive(x, t_x, t_obs), rtol=1e-9
    )
    expected = model.conditional_expected_number_of_purchases_up_to_time(90 / 7, x, t_x, t_obs)
    np.testing.assert_allclose(blind["log_pnbd_expected_purchases"], np.log1p(expected), rtol=1e-9)
    assert not np.allclose(blind["pnbd_p_alive"], blind["p_alive"])
    # a customer Pareto/NBD thinks alive is one who came back more often
    labels = full.period(cut_off, labelled=True).purchases_ahead == 0
    alive = blind["pnbd_p_alive"].to_numpy()
    assert alive[~labels].mean() > alive[labels].mean() + 0.1


@pytest.mark.parametrize("backend", ["duckdb", "sqlite"])
def test_many_buyers_are_learned_from_a_seeded_sample_of_them(
    backend: str,
) -> None:
    # given more buyers than churn_large_buyers, on a backend that is not DuckDB too, the
    # rows of the orders shuffled for the second load (a database returns them in any order)
    orders, complaints = simulate()
    cfg = AnalyticsSettings(churn_train_periods=2, churn_backtest_origins=2, churn_large_buyers=700)
    buyers = orders.loc[orders["timestamp"] <= pd.Timestamp(AS_OF), "customer_id"].nunique()
    models = []
    for shuffle in (False, True):
        con = ibis.duckdb.connect() if backend == "duckdb" else ibis.sqlite.connect()
        o = orders.sample(frac=1.0, random_state=4) if shuffle else orders
        tables = Tables(
            con.create_table("orders", o), complaints=con.create_table("complaints", complaints)
        )
        # when the model is trained with its back-test
        models.append(fit_churn_model(tables, as_of=AS_OF, settings=cfg))
    model = models[0]
    # then it learned from a sample of 700 of them, said so, with one back-test cut-off
    assert model.learned and model.sampled_from == buyers > 700
    assert model.describe()["sampled_from"] == buyers
    assert model.backtest is not None and model.backtest.sampled_from == buyers
    assert len(model.backtest.origins) == 1
    assert model.train_buyers <= 700 and model.backtest.origins[0]["customers"] <= 700
    # the same sample whatever the order of the rows
    assert models[1].backtest is not None
    assert models[1].backtest.to_dict() == model.backtest.to_dict()
    # and the sample still shows the mechanism better than the baselines see it
    summary = model.backtest.summary().set_index("model")
    for baseline in ("recency", "rfm_logistic", "bgnbd"):
        assert summary.loc[model.backtest.chosen, "roc_auc"] > summary.loc[baseline, "roc_auc"]
