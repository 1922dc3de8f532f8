"""The statistics of a measured plan: arm assignment by stable hashing, the difference
between an arm and its control with a 95% confidence interval, the sample size a stated
minimum effect needs, and the plain-words verdict.

Pure Python / NumPy / SciPy (no Django): the results page, the API and the tests all call
these functions with per-arm sums computed in SQL, never with per-customer rows.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import stats

#: The arm name of a plan's control group (holdout).
CONTROL = "control"

#: Hash buckets: 10,000 gives shares to the hundredth of a percent.
BUCKETS = 10_000


def bucket(plan_key: str, customer_key: str) -> int:
    """A customer's bucket in ``[0, BUCKETS)`` for one plan: a stable hash (SHA-256) of the
    plan and the customer, the same on every run, machine and database."""
    digest = hashlib.sha256(f"{plan_key}\x1f{customer_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_for(
    plan_key: str, customer_key: str, *, holdout_percent: float, variants: Sequence[tuple[str, int]]
) -> str:
    """The arm of one customer: ``CONTROL`` for the first ``holdout_percent`` of the buckets,
    else one of ``variants`` ((name, share weight), in order) by its share of the rest."""
    b = bucket(plan_key, customer_key)
    cut = round(BUCKETS * holdout_percent / 100)
    if b < cut:
        return CONTROL
    total = sum(max(0, w) for _, w in variants)
    if total <= 0:
        return variants[0][0] if variants else "plan"
    # position within the treated buckets, spread over the variants by weight
    pos = (b - cut) / max(1, BUCKETS - cut) * total
    acc = 0.0
    for name, weight in variants:
        acc += max(0, weight)
        if pos < acc:
            return name
    return variants[-1][0]


@dataclass(frozen=True)
class Difference:
    """An arm minus its control, with the confidence interval and the two-sided p-value."""

    estimate: float
    low: float
    high: float
    p_value: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def proportion_difference(
    x1: int, n1: int, x0: int, n0: int, *, level: float = 0.95
) -> Difference | None:
    """Rate of the arm (x1 / n1) minus rate of the control (x0 / n0): Wald interval with the
    unpooled standard error (statsmodels ``confint_proportions_2indep(method="wald")``);
    the p-value is that of the same z statistic. None without customers in both groups."""
    if n1 <= 0 or n0 <= 0:
        return None
    p1, p0 = x1 / n1, x0 / n0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    d = p1 - p0
    z = _z(level)
    if se == 0:
        return Difference(d, d, d, 1.0 if d == 0 else 0.0)
    p_value = float(2 * stats.norm.sf(abs(d) / se))
    return Difference(d, d - z * se, d + z * se, p_value)


def mean_difference(
    s1: float, ss1: float, n1: int, s0: float, ss0: float, n0: int, *, level: float = 0.95
) -> Difference | None:
    """Mean of the arm minus mean of the control, from each group's sum ``s``, sum of squares
    ``ss`` and size ``n`` (so SQL can aggregate): Welch's t interval (unequal variances,
    Welch-Satterthwaite degrees of freedom), as ``scipy.stats.ttest_ind(equal_var=False)``.
    None unless both groups have at least two customers."""
    if n1 < 2 or n0 < 2:
        return None
    m1, m0 = s1 / n1, s0 / n0
    v1 = max(0.0, (ss1 - n1 * m1 * m1) / (n1 - 1))
    v0 = max(0.0, (ss0 - n0 * m0 * m0) / (n0 - 1))
    a, b = v1 / n1, v0 / n0
    se = math.sqrt(a + b)
    d = m1 - m0
    if se == 0:
        return Difference(d, d, d, 1.0 if d == 0 else 0.0)
    df = (a + b) ** 2 / ((a * a) / (n1 - 1) + (b * b) / (n0 - 1))
    t = float(stats.t.ppf(0.5 + level / 2, df))
    p_value = float(2 * stats.t.sf(abs(d) / se, df))
    return Difference(d, d - t * se, d + t * se, p_value)


#: Bootstrap resamples, and the seed that makes the interval the same on every reading.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 17
#: Largest number of drawn values held in memory at once (resamples x customers).
_BOOTSTRAP_CHUNK = 2_000_000


def _resampled_means(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The means of ``resamples`` samples drawn with replacement from ``values``,
    vectorized in chunks of at most ``_BOOTSTRAP_CHUNK`` draws."""
    n = len(values)
    per_chunk = max(1, _BOOTSTRAP_CHUNK // n)
    out = np.empty(resamples)
    for start in range(0, resamples, per_chunk):
        stop = min(resamples, start + per_chunk)
        picks = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = values[picks].mean(axis=1)
    return out


def bootstrap_mean_difference(
    treated: Sequence[float] | np.ndarray,
    control: Sequence[float] | np.ndarray,
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Difference | None:
    """Mean of ``treated`` minus mean of ``control`` with a percentile bootstrap interval:
    each group resampled with replacement on its own (stratified, as
    ``scipy.stats.bootstrap(..., method="percentile")`` with two samples), ``resamples``
    times, seeded so the same data give the same interval. The p-value is the two-sided
    share of resampled differences on the other side of zero (at least 1 / resamples).
    None unless both groups have at least two values.

    >>> d = bootstrap_mean_difference([0, 0, 300, 500, 0, 800], [0, 100, 0, 0])
    >>> round(d.estimate, 1)
    241.7
    """
    t = np.asarray(treated, dtype=float)
    c = np.asarray(control, dtype=float)
    if len(t) < 2 or len(c) < 2:
        return None
    rng = np.random.default_rng(seed)
    diffs = _resampled_means(t, resamples, rng) - _resampled_means(c, resamples, rng)
    alpha = 1 - level
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    below = float(np.mean(diffs <= 0))
    above = float(np.mean(diffs >= 0))
    p_value = min(1.0, max(2 * min(below, above), 1 / resamples))
    return Difference(float(t.mean() - c.mean()), float(low), float(high), p_value)


#: Below this many followed customers in a group the revenue interval is bootstrapped.
BOOTSTRAP_BELOW = 1000


def revenue_method(n_treated: int, n_control: int) -> str:
    """Which interval the revenue difference uses: "bootstrap" when either group has fewer
    than ``BOOTSTRAP_BELOW`` customers followed, "welch" otherwise.

    Revenue per customer is skewed (most customers buy nothing in the window, a few buy a
    lot). Welch's t interval assumes the group means are close to normal, which holds for
    large groups but not for small skewed ones, where its interval is too narrow on one
    side. The bootstrap resamples the customers themselves and makes no such assumption;
    for large groups the two agree, and Welch needs only sums (no per-customer rows)."""
    return "bootstrap" if min(n_treated, n_control) < BOOTSTRAP_BELOW else "welch"


def sample_size(
    base_rate: float,
    min_effect: float,
    *,
    treated_per_control: float = 9.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> tuple[int, int] | None:
    """Customers needed (treated, control) to detect a rise of ``min_effect`` (e.g. 0.05 =
    5 points) on a rate of ``base_rate``, two-sided at ``alpha`` with ``power``, with
    ``treated_per_control`` treated customers per control one (a 10% holdout: 9).

    Cohen's arcsine effect size h and the normal approximation, as statsmodels
    ``NormalIndPower().solve_power(proportion_effectsize(p1, p0), ratio=...)`` (which names
    the treated group ``nobs1`` and the control ``nobs1 * ratio``). None when no rise of
    that size is possible."""
    p1 = base_rate + min_effect
    if not (0 <= base_rate <= 1) or min_effect <= 0 or p1 > 1 or treated_per_control <= 0:
        return None
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(base_rate)))
    if h == 0:
        return None
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    ratio = 1 / treated_per_control  # control per treated
    treated = (z / h) ** 2 * (1 + 1 / ratio)
    return math.ceil(treated), math.ceil(treated * ratio)


class Verdict(StrEnum):
    TOO_EARLY = "too_early"
    WORKS = "works"
    NO_EFFECT = "no_effect"
    HARMFUL = "harmful"


def verdict(difference: Difference | None, *, horizon_reached: bool) -> Verdict:
    """The plain-words reading of a difference in a rate where higher is better.

    Fixed horizon: until the planned number of customers has been followed for the whole
    outcome window the answer is "too early", whatever the interval says (reading it every
    day and stopping at the first good-looking one would find effects that are not there).
    """
    if difference is None or not horizon_reached:
        return Verdict.TOO_EARLY
    if difference.low > 0:
        return Verdict.WORKS
    if difference.high < 0:
        return Verdict.HARMFUL
    return Verdict.NO_EFFECT
