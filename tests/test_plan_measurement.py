"""The statistics of measured plans against reference computations (scipy, statsmodels)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from retain.playbooks.measurement import (
    BUCKETS,
    CONTROL,
    Difference,
    Verdict,
    arm_for,
    bootstrap_mean_difference,
    bucket,
    mean_difference,
    proportion_difference,
    revenue_method,
    sample_size,
    verdict,
)


@pytest.mark.parametrize(
    ("x1", "n1", "x0", "n0"),
    [(420, 1000, 35, 110), (12, 40, 9, 41), (5000, 9000, 430, 1000), (0, 30, 3, 30)],
)
def test_the_difference_of_proportions_matches_statsmodels(x1, n1, x0, n0):
    ours = proportion_difference(x1, n1, x0, n0)
    low, high = confint_proportions_2indep(x1, n1, x0, n0, method="wald", compare="diff")

    assert ours is not None
    assert ours.estimate == pytest.approx(x1 / n1 - x0 / n0)
    assert (ours.low, ours.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))


def test_the_difference_of_means_matches_welch_in_scipy_and_statsmodels():
    rng = np.random.default_rng(3)
    treated = rng.gamma(0.6, 900.0, size=700)  # revenue: skewed, many near zero
    control = rng.gamma(0.5, 800.0, size=80)

    ours = mean_difference(
        treated.sum(),
        (treated**2).sum(),
        len(treated),
        control.sum(),
        (control**2).sum(),
        len(control),
    )
    scipy_ci = stats.ttest_ind(treated, control, equal_var=False).confidence_interval(0.95)
    sm_low, sm_high = CompareMeans(DescrStatsW(treated), DescrStatsW(control)).tconfint_diff(
        usevar="unequal"
    )
    p_value = stats.ttest_ind(treated, control, equal_var=False).pvalue

    assert ours is not None
    assert ours.estimate == pytest.approx(treated.mean() - control.mean())
    assert (ours.low, ours.high) == (pytest.approx(scipy_ci.low), pytest.approx(scipy_ci.high))
    assert (ours.low, ours.high) == (pytest.approx(sm_low), pytest.approx(sm_high))
    assert ours.p_value == pytest.approx(p_value)


@pytest.mark.parametrize(("base", "effect", "ratio"), [(0.3, 0.05, 9.0), (0.1, 0.08, 4.0)])
def test_the_sample_size_matches_statsmodels_power(base, effect, ratio):
    treated, control = sample_size(base, effect, treated_per_control=ratio)
    reference = NormalIndPower().solve_power(
        effect_size=proportion_effectsize(base + effect, base),
        alpha=0.05,
        power=0.8,
        ratio=1 / ratio,
    )

    assert treated == pytest.approx(reference, rel=0.01)
    assert control == pytest.approx(reference / ratio, rel=0.01)


def test_no_sample_size_for_an_impossible_effect():
    assert sample_size(0.97, 0.05) is None
    assert sample_size(0.3, 0) is None


def test_the_same_customer_always_lands_in_the_same_arm():
    variants = [("a", 1), ("b", 1)]
    first = [
        arm_for("playbook:1", f"C{i}", holdout_percent=10, variants=variants) for i in range(500)
    ]
    again = [
        arm_for("playbook:1", f"C{i}", holdout_percent=10, variants=variants) for i in range(500)
    ]
    other_plan = [
        arm_for("playbook:2", f"C{i}", holdout_percent=10, variants=variants) for i in range(500)
    ]

    assert first == again
    assert first != other_plan  # each plan draws its own groups
    assert bucket("playbook:1", "C1") == bucket("playbook:1", "C1") < BUCKETS


def test_the_shares_are_within_sampling_error():
    n = 20_000
    variants = [("a", 2), ("b", 1)]
    arms = [
        arm_for("playbook:7", f"K{i:06d}", holdout_percent=10, variants=variants) for i in range(n)
    ]
    counts = {name: arms.count(name) for name in (CONTROL, "a", "b")}
    expected = {CONTROL: 0.10, "a": 0.60, "b": 0.30}

    for name, p in expected.items():
        se = (p * (1 - p) / n) ** 0.5
        assert abs(counts[name] / n - p) < 4 * se, (name, counts[name])


def test_the_verdict_waits_for_the_horizon_then_reads_the_interval():
    up = Difference(0.08, 0.03, 0.13, 0.001)
    flat = Difference(0.01, -0.04, 0.06, 0.6)
    down = Difference(-0.07, -0.12, -0.02, 0.004)

    assert verdict(up, horizon_reached=False) == Verdict.TOO_EARLY
    assert verdict(None, horizon_reached=True) == Verdict.TOO_EARLY
    assert verdict(up, horizon_reached=True) == Verdict.WORKS
    assert verdict(flat, horizon_reached=True) == Verdict.NO_EFFECT
    assert verdict(down, horizon_reached=True) == Verdict.HARMFUL


def _revenue(seed: int, n: int, shape: float, scale: float) -> np.ndarray:
    """Revenue per customer: most buy nothing, the buyers' amounts are skewed."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.35, rng.gamma(shape, scale, size=n), 0.0)


@pytest.mark.parametrize(("n1", "n0"), [(300, 80), (40, 25)])
def test_the_bootstrap_interval_matches_scipy_bootstrap(n1, n0):
    treated = _revenue(5, n1, 0.8, 1200.0)
    control = _revenue(6, n0, 0.7, 1000.0)

    ours = bootstrap_mean_difference(treated, control, resamples=20_000, seed=11)
    reference = stats.bootstrap(
        (treated, control),
        lambda t, c, axis: np.mean(t, axis=axis) - np.mean(c, axis=axis),
        n_resamples=20_000,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(12),
    ).confidence_interval

    assert ours is not None
    assert ours.estimate == pytest.approx(treated.mean() - control.mean())
    width = reference.high - reference.low
    # two independent Monte Carlo runs of the same interval: equal within sampling noise
    assert ours.low == pytest.approx(reference.low, abs=0.03 * width)
    assert ours.high == pytest.approx(reference.high, abs=0.03 * width)


def test_the_bootstrap_is_seeded_and_its_chunks_draw_the_same_resamples(monkeypatch):
    from retain.playbooks import measurement

    treated, control = _revenue(1, 500, 0.8, 900.0), _revenue(2, 60, 0.8, 900.0)

    first = bootstrap_mean_difference(treated, control)
    again = bootstrap_mean_difference(treated, control)
    other = bootstrap_mean_difference(treated, control, seed=99)
    monkeypatch.setattr(measurement, "_BOOTSTRAP_CHUNK", 700)  # one resample per chunk
    chunked = bootstrap_mean_difference(treated, control)

    assert first == again == chunked
    assert (
        other is not None
        and first is not None
        and (other.low, other.high)
        != (
            first.low,
            first.high,
        )
    )


def test_the_bootstrap_p_value_reads_the_side_of_zero():
    clear = bootstrap_mean_difference(np.full(50, 100.0) + np.arange(50), np.arange(50.0))
    none = bootstrap_mean_difference(np.arange(60.0), np.arange(60.0)[::-1])

    assert clear is not None and clear.p_value == pytest.approx(1 / 2000) and clear.low > 0
    assert none is not None and none.p_value > 0.5
    assert bootstrap_mean_difference([1.0], [1.0, 2.0]) is None


def test_revenue_uses_the_bootstrap_for_small_groups_and_welch_for_large():
    assert revenue_method(999, 5000) == "bootstrap"
    assert revenue_method(5000, 40) == "bootstrap"
    assert revenue_method(1000, 1000) == "welch"
