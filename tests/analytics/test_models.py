"""BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma: gradients, parameter recovery, CDNOW results."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from analytics_reference import cdnow_file

from retain.analytics import (
    BGNBD,
    MBGNBD,
    GammaGamma,
    OrderColumns,
    ParetoNBD,
    Tables,
    customer_summary,
    simulate_bgnbd,
)
from retain.analytics._models import lifetime_value


def _numeric_gradient(f, params: np.ndarray, *args: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    grads = []
    for k in range(params.size):
        step = np.zeros_like(params)
        step[k] = 1e-6 * params[k]
        grads.append((f(params + step, *args)[0] - f(params - step, *args)[0]) / (2 * step[k]))
    return np.column_stack(grads)


def test_bgnbd_gradient_matches_finite_differences() -> None:
    x, t_x, t_obs = simulate_bgnbd(200, 0.5, 6.0, 0.8, 2.5, 40.0, random_state=1)
    params = np.array([0.7, 3.0, 1.1, 2.0])
    _, grad = BGNBD.log_likelihood_terms(params, x, t_x, t_obs)
    numeric = _numeric_gradient(BGNBD.log_likelihood_terms, params, x, t_x, t_obs)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_gamma_gamma_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(1, 12, 200).astype(float)
    m = rng.gamma(3.0, 10.0, 200)
    params = np.array([4.0, 3.0, 12.0])
    _, grad = GammaGamma.log_likelihood_terms(params, x, m)
    numeric = _numeric_gradient(GammaGamma.log_likelihood_terms, params, x, m)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_bgnbd_recovers_parameters_from_simulated_data() -> None:
    # given 50,000 customers simulated with known parameters and staggered arrival
    truth = np.array([0.25, 4.0, 0.8, 2.5])
    rng = np.random.default_rng(11)
    t_obs = rng.uniform(20.0, 78.0, 50_000)
    x, t_x, t_obs = simulate_bgnbd(50_000, *truth, t_obs, random_state=12)
    # when fitted
    model = BGNBD().fit(x, t_x, t_obs)
    # then the parameters are those of the simulation, within sampling error
    np.testing.assert_allclose(model.params_, truth, rtol=0.08)


def test_gamma_gamma_recovers_parameters_from_simulated_data() -> None:
    p, q, v = 6.0, 4.0, 15.0
    rng = np.random.default_rng(5)
    n = 100_000
    x = rng.integers(1, 15, n).astype(float)
    nu = rng.gamma(q, 1.0 / v, n)
    mean_spend = rng.gamma(p * x, 1.0 / (nu * x))  # mean of x Gamma(p, nu) transactions
    model = GammaGamma().fit(x, mean_spend)
    np.testing.assert_allclose(model.params_, [p, q, v], rtol=0.1)


def test_fit_with_weights_equals_fit_on_repeated_rows() -> None:
    x = np.array([0, 1, 3, 0, 2.0])
    t_x = np.array([0, 10, 30, 0, 5.0])
    t_obs = np.array([40, 40, 35, 20, 30.0])
    weights = np.array([3, 1, 2, 1, 4])
    weighted = BGNBD().fit(x, t_x, t_obs, sample_weight=weights)
    repeated = BGNBD().fit(
        np.repeat(x, weights), np.repeat(t_x, weights), np.repeat(t_obs, weights)
    )
    np.testing.assert_allclose(weighted.params_, repeated.params_, rtol=1e-5)
    # identical rows are collapsed: 11 customers, 5 distinct (frequency, recency, T) rows
    assert repeated.n_distinct_ == weighted.n_distinct_ == 5


def test_predictions_have_the_textbook_properties() -> None:
    model = BGNBD().fit(*simulate_bgnbd(5000, 0.3, 5.0, 0.9, 3.0, 52.0, random_state=3))
    # no repeat purchase: alive for sure in the BG/NBD (drop-out only after a purchase)
    assert model.predict_proba_alive([0], [0.0], [52.0]).tolist() == [1.0]
    # the longer the silence after the last purchase, the lower P(alive)
    p = model.predict_proba_alive([3, 3, 3], [50.0, 30.0, 5.0], [52.0, 52.0, 52.0])
    assert p[0] > p[1] > p[2]
    # expected purchases grow with the horizon and equal 0 at horizon 0
    e = [model.predict_purchases(t, [2], [40.0], [52.0])[0] for t in (0.0, 4.0, 13.0, 52.0)]
    assert e[0] == pytest.approx(0.0, abs=1e-12)
    assert e[0] < e[1] < e[2] < e[3]


def test_lifetime_value_is_discounted_sum_of_monthly_purchases() -> None:
    model = BGNBD().fit(*simulate_bgnbd(5000, 0.3, 5.0, 0.9, 3.0, 52.0, random_state=3))
    gg = GammaGamma().fit([1, 2, 5, 3, 4], [20.0, 35.0, 30.0, 60.0, 25.0])
    value = lifetime_value(
        model, gg, [2], [40.0], [52.0], [30.0], months=3, monthly_discount_rate=0.01,
        days_per_unit=7.0,
    )  # fmt: skip
    spend = gg.predict_spend([2], [30.0])[0]
    cum = [model.predict_purchases(i * 30 / 7, [2], [40.0], [52.0])[0] for i in range(4)]
    want = sum((cum[i] - cum[i - 1]) / 1.01**i for i in range(1, 4)) * spend
    assert value[0] == pytest.approx(want, rel=1e-12)


# -- published results on CDNOW -------------------------------------------------------------------
def test_bgnbd_on_cdnow_summary_matches_fader_hardie_lee_2005() -> None:
    # the 2,357-customer CDNOW sample, 39-week calibration period (summary shipped by lifetimes)
    s = pd.read_csv(cdnow_file("cdnow_customers_summary.csv"))
    model = BGNBD().fit(s["frequency"], s["recency"], s["T"])
    # published: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    np.testing.assert_allclose(model.params_, [0.243, 4.414, 0.793, 2.426], atol=6e-4)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)


def test_mbgnbd_on_cdnow_summary_matches_published() -> None:
    # the same 2,357-customer summary; MBG/NBD (Batislam et al. 2007) as published for it
    # (lifetimes' ModifiedBetaGeoFitter docs): r = 0.525, alpha = 6.183, a = 0.891, b = 1.614
    s = pd.read_csv(cdnow_file("cdnow_customers_summary.csv"))
    model = MBGNBD().fit(s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(model.params_, [0.525, 6.183, 0.891, 1.614], atol=6e-4)
    # one-time buyers are not certainly alive (BG/NBD says 1), and P(alive) falls with T
    p = model.predict_proba_alive([0, 0], [0.0, 0.0], [10.0, 38.0])
    assert 0 < p[1] < p[0] < 1
    assert model.predict_purchases(39.0, [0], [0.0], [38.0])[0] > 0


def test_pareto_nbd_on_cdnow_summary_matches_fader_hardie_lee() -> None:
    # the same 2,357-customer summary; Pareto/NBD as published for it (Fader, Hardie & Lee
    # 2005, "A note on deriving the Pareto/NBD model"): r = 0.55, alpha = 10.58, s = 0.61,
    # beta = 11.67, LL = -9595.0
    s = pd.read_csv(cdnow_file("cdnow_customers_summary.csv"))
    model = ParetoNBD().fit(s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(model.params_, [0.55, 10.58, 0.61, 11.67], atol=5e-3)
    assert model.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    # P(alive) falls with the time since the last purchase and is 1 right after a purchase;
    # one-time buyers are not certainly alive and fade as T grows
    p = model.conditional_probability_alive([2, 2, 2], [5.0, 20.0, 35.0], [35.0] * 3)
    assert 0 < p[0] < p[1] < p[2] == pytest.approx(1.0)
    q = model.conditional_probability_alive([0, 0], [0.0, 0.0], [10.0, 38.0])
    assert 0 < q[1] < q[0] < 1


def test_pareto_nbd_predictions_match_simulation_of_the_posterior() -> None:
    # given alive at T: lambda ~ Gamma(r + x, alpha + T), mu ~ Gamma(s, beta + T), lifetime
    # ~ Exp(mu), inter-purchase times ~ Exp(lambda); compare both horizon predictions
    model = ParetoNBD()
    model.r_, model.alpha_, model.s_, model.beta_ = 0.55, 10.58, 0.61, 11.67
    rng = np.random.default_rng(5)
    n = 400_000
    for x, t_obs, t in [(0, 38.0, 39.0), (2, 38.0, 39.0), (5, 20.0, 10.0)]:
        lam = rng.gamma(model.r_ + x, 1 / (model.alpha_ + t_obs), n)
        mu = rng.gamma(model.s_, 1 / (model.beta_ + t_obs), n)
        alive_for = np.minimum(rng.exponential(1 / mu), t)
        any_purchase = float(np.mean(rng.exponential(1 / lam) < alive_for))
        purchases = float(np.mean(lam * alive_for))
        alive = model.conditional_probability_alive([x], [t_obs], [t_obs])[0]
        assert alive == pytest.approx(1.0)  # last purchase at T
        prob = model.conditional_probability_of_purchase_up_to_time(t, [x], [t_obs], [t_obs])
        expected = model.conditional_expected_number_of_purchases_up_to_time(
            t, [x], [t_obs], [t_obs]
        )
        assert prob[0] == pytest.approx(any_purchase, abs=0.004)
        assert expected[0] == pytest.approx(purchases, rel=0.01)


def test_gamma_gamma_on_cdnow_matches_published() -> None:
    s = pd.read_csv(cdnow_file("cdnow_customers_summary_with_transactions.csv"))
    repeat = s[s["x"] > 0]
    model = GammaGamma().fit(repeat["x"], repeat["zbar"])
    # published (Fader & Hardie 2013; lifetimes docs): p = 6.25, q = 3.74, v = 15.44
    np.testing.assert_allclose(model.params_, [6.25, 3.74, 15.44], atol=0.01)


def test_engine_summary_of_cdnow_sample_reproduces_the_published_summary() -> None:
    # given the raw CDNOW_sample transactions (customer, id, date, cds, dollars)
    raw = pd.read_csv(
        cdnow_file("CDNOW_sample.txt"), sep=r"\s+", header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
    )  # fmt: skip
    raw["timestamp"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    # when summarised by the engine at the end of the 39-week calibration period
    s = customer_summary(ibis.memtable(raw), as_of=dt.date(1997, 9, 30)).to_pandas()
    s = s.sort_values("customer_id").reset_index(drop=True)
    published = pd.read_csv(cdnow_file("cdnow_customers_summary_with_transactions.csv"))
    # then frequency, recency and T (weeks) are those of the published summary (2 decimals)
    assert len(s) == len(published) == 2357
    assert s["frequency"].tolist() == published["x"].tolist()
    np.testing.assert_allclose(s["t_x_days"] / 7, published["t_x"], atol=0.0051)
    np.testing.assert_allclose(s["T_days"] / 7, published["T"], atol=0.0051)
    repeat = published["x"] > 0
    np.testing.assert_allclose(s["monetary_value"][repeat], published["zbar"][repeat], atol=0.0051)
    # and the fit on it gives the published parameters
    model = BGNBD().fit(s["frequency"], s["t_x_days"] / 7, s["T_days"] / 7)
    np.testing.assert_allclose(model.params_, [0.243, 4.414, 0.793, 2.426], atol=6e-4)


def test_cdnow_master_scores_in_weeks_and_days_agree() -> None:
    # the time unit is a matter of scale: alpha scales, r, a, b and predictions do not
    master = pd.read_csv(cdnow_file("CDNOW_master.txt"), sep=r"\s+")
    master["timestamp"] = pd.to_datetime(master["date"].astype(str), format="%Y%m%d")
    cols = OrderColumns(customer_id="customer_id", timestamp="timestamp", amount="dollar_value")
    s = customer_summary(Tables(ibis.memtable(master), columns=cols), as_of=dt.date(1998, 6, 30))
    frame = s.to_pandas()
    assert len(frame) == 23570
    weeks = BGNBD().fit(frame["frequency"], frame["t_x_days"] / 7, frame["T_days"] / 7)
    days = BGNBD().fit(frame["frequency"], frame["t_x_days"], frame["T_days"])
    np.testing.assert_allclose(days.params_ / [1, 7, 1, 1], weeks.params_, rtol=1e-4)


def test_spend_is_undefined_not_negative_when_the_fitted_mean_is_infinite() -> None:
    gg = GammaGamma()
    gg.p_, gg.q_, gg.v_ = 2.0, 0.6, 50.0  # q < 1: heavy tail, population mean infinite

    spend = gg.predict_spend(np.array([0.0, 1.0, 3.0]), np.array([0.0, 80.0, 120.0]))

    assert np.isnan(spend[0])  # p*0 + q - 1 < 0
    assert spend[1] == pytest.approx(2.0 * (50.0 + 80.0) / (2.0 + 0.6 - 1.0))
    assert spend[2] > 0


def test_lifetime_value_uses_the_given_spend_in_place_of_the_model() -> None:
    bg = BGNBD()
    bg.r_, bg.alpha_, bg.a_, bg.b_ = 0.24, 4.4, 0.79, 2.4
    gg = GammaGamma()
    gg.p_, gg.q_, gg.v_ = 2.0, 0.6, 50.0
    x, t_x, t = np.array([0.0, 2.0]), np.array([0.0, 10.0]), np.array([20.0, 30.0])
    kwargs = {"months": 12, "monthly_discount_rate": 0.01, "days_per_unit": 7.0}

    doubled = lifetime_value(bg, gg, x, t_x, t, np.zeros(2), spend=np.array([20.0, 20.0]), **kwargs)
    single = lifetime_value(bg, gg, x, t_x, t, np.zeros(2), spend=np.array([10.0, 10.0]), **kwargs)

    assert np.all(single > 0)
    np.testing.assert_allclose(doubled, 2 * single)
