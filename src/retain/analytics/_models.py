"""BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma models fitted by maximum likelihood (vectorised).

All follow the scikit-learn estimator contract: ``__init__`` only stores parameters, ``fit``
returns ``self`` and learned attributes end in ``_``. Identical input rows are collapsed into
weights before the fit, so the cost of an optimiser step grows with the number of distinct
(frequency, recency, T) triples, not with the number of customers.

References: Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing
Science 24(2); Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves", JMR 42(4);
Fader & Hardie (2013), "The Gamma-Gamma model of monetary value"; Fader, Hardie & Lee (2005),
"A note on deriving the Pareto/NBD model and related expressions" (Pareto/NBD).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1
from threadpoolctl import ThreadpoolController

__all__ = ["BGNBD", "MBGNBD", "GammaGamma", "ModelNotConvergedError", "ParetoNBD"]

FloatArray = npt.NDArray[np.float64]


# parameters are kept within [e^-9, e^9] (about 1e-4 .. 8e3, with time scaled so that the
# largest T is 10): data without any drop-out otherwise drive r and alpha to infinity
_LOG_MIN = -9.0
_LOG_MAX = 9.0


class ModelNotConvergedError(RuntimeError):
    """The optimiser stopped without reaching the maximum of the likelihood."""


@functools.cache
def _thread_pools() -> ThreadpoolController:
    """The native thread pools of this process (numpy's and scipy's BLAS), found once.

    ``threadpool_limits`` looks them up again on every call, about 3 ms each: a third of
    fitting both models at 10k customers. Both libraries are loaded by this module's imports.
    """
    return ThreadpoolController()


def _single_threaded_blas() -> Any:
    """Context manager: BLAS on one thread (the vectors are tiny; threads only spin)."""
    return _thread_pools().limit(limits=1, user_api="blas")


def _as_float(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64).ravel()


def _whole_number_key(cols: tuple[FloatArray, ...]) -> npt.NDArray[np.int64] | None:
    """One integer key per row when every column holds whole numbers of a small range.

    Frequencies and day counts usually do: the key is then plain arithmetic (no hashing per
    column). ``None`` when a column has fractions, non-finite values or too wide a range.
    """
    key = np.zeros(cols[0].shape[0], dtype=np.int64)
    bound = 1  # key < bound
    for col in cols:
        lo, hi = float(col.min()), float(col.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return None
        span = int(hi - lo) + 1
        if bound > (2**62) // span:
            return None
        shifted = col - lo
        whole = shifted.astype(np.int64)
        if not np.array_equal(whole, shifted):
            return None
        key = key * span + whole
        bound *= span
    return key


def _collapse(*cols: FloatArray) -> tuple[list[FloatArray], FloatArray, npt.NDArray[np.intp]]:
    """Distinct rows of the given columns, how often each occurs, and each row's distinct row.

    Hash-based: the columns are combined into one integer key (by arithmetic when they hold
    whole numbers, else by factorising each column) and that key is factorised (no sort, no
    tuples).
    """
    if cols[0].shape[0] == 0:
        return [np.asarray(c, dtype=np.float64) for c in cols], np.zeros(0), np.zeros(0, np.intp)
    combined = _whole_number_key(cols)
    if combined is None:
        combined = np.zeros(cols[0].shape[0], dtype=np.int64)
        bound = 1  # combined < bound
        for col in cols:
            codes, uniques = pd.factorize(col, sort=False, use_na_sentinel=False)
            if bound > (2**62) // max(len(uniques), 1):  # keep the key small: no overflow
                combined, seen = pd.factorize(combined, sort=False)
                bound = len(seen)
            combined = combined * len(uniques) + codes
            bound *= max(len(uniques), 1)
    key, _ = pd.factorize(combined, sort=False)
    first = np.full(int(key.max()) + 1 if key.size else 0, -1, dtype=np.int64)
    order = np.arange(key.size)
    first[key[::-1]] = order[::-1]  # first row of each distinct key
    columns = [np.ascontiguousarray(col[first], dtype=np.float64) for col in cols]
    counts = np.bincount(key, minlength=first.size).astype(np.float64)
    return columns, counts, np.asarray(key, dtype=np.intp)


def _levels(column: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Distinct values of a column (in order of appearance) and each row's position among them.

    A hash factorisation: cheaper than ``np.unique``'s sort, and no caller needs them sorted.
    """
    index, values = pd.factorize(column, sort=False, use_na_sentinel=False)
    return np.asarray(values, dtype=np.float64), np.asarray(index, dtype=np.intp)


class _Levels:
    """Distinct values of a column and where each row's value sits among them.

    Frequencies and day counts take few distinct values, so special functions are evaluated
    once per value and gathered, instead of once per customer.
    """

    __slots__ = ("index", "values")

    def __init__(self, column: FloatArray) -> None:
        self.values, self.index = _levels(column)

    def __call__(self, per_value: FloatArray) -> FloatArray:
        return per_value[self.index]


@dataclass(frozen=True, slots=True)
class _Fit:
    params: FloatArray
    log_likelihood: float
    n_iter: int


def _maximise(
    neg_ll_and_grad: Any, x0: FloatArray, *, penalizer: float, n_obs: float, tol: float
) -> _Fit:
    """Minimise the mean negative log-likelihood over log-parameters with L-BFGS-B."""

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        value, grad = neg_ll_and_grad(params)
        value = value / n_obs + penalizer * float(np.sum(params**2))
        grad = grad / n_obs + 2.0 * penalizer * params
        return value, grad * params  # chain rule: d/d log p = p * d/dp

    # single-threaded BLAS: the vectors are tiny, and OpenBLAS threads spinning on a busy
    # machine made each optimiser step 10x slower
    with _single_threaded_blas():
        result = minimize(
            objective,
            np.log(x0),
            jac=True,
            method="L-BFGS-B",
            bounds=[(_LOG_MIN, _LOG_MAX)] * x0.shape[0],
            options={"maxiter": 2000, "ftol": tol, "gtol": tol * 1e-2, "maxcor": 20},
        )
    if not np.all(np.isfinite(result.x)) or (not result.success and result.nit >= 2000):
        raise ModelNotConvergedError(f"maximum likelihood did not converge: {result.message}")
    return _Fit(np.exp(result.x), -float(result.fun) * n_obs, int(result.nit))


class BGNBD:
    """Beta-geometric / negative binomial distribution model of repeat purchases.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters (``lifetimes``' ``penalizer_coef``).
    tol : float, default 1e-12
        Relative tolerance of the optimiser on the mean log-likelihood.

    Attributes
    ----------
    r_, alpha_, a_, b_ : float
        Maximum-likelihood parameters; ``alpha_`` is in the time unit of the fitted data.
    log_likelihood_ : float
        Log-likelihood at the optimum (sum over customers).
    n_iter_ : int
        Optimiser iterations.
    n_distinct_ : int
        Distinct (frequency, recency, T) rows the likelihood was evaluated on.

    Examples
    --------
    >>> m = BGNBD().fit([0, 2, 1, 0], [0.0, 20.0, 5.0, 0.0], [30.0, 35.0, 20.0, 10.0])
    >>> m.predict_proba_alive([2], [20.0], [35.0]).round(3).tolist()
    [0.745]
    """

    def __init__(self, *, penalizer: float = 0.0, tol: float = 1e-12) -> None:
        self.penalizer = penalizer
        self.tol = tol

    # -- likelihood --------------------------------------------------------------------------
    @staticmethod
    def log_likelihood_terms(
        params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Per-row log-likelihood and its gradient w.r.t. (r, alpha, a, b), shape (n, 4)."""
        return _bgnbd_terms(params, x, _Levels(x), _Levels(t_x), _Levels(T))

    def fit(
        self,
        frequency: npt.ArrayLike,
        recency: npt.ArrayLike,
        T: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None = None,
    ) -> BGNBD:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency : array of int
            Repeat purchases (distinct purchase periods minus one).
        recency : array of float
            Time between the first and the last purchase.
        T : array of float
            Time between the first purchase and the end of observation.
        sample_weight : array of float, optional
            Weight of each row (e.g. how many customers share it).
        """
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        if not (x.shape == t_x.shape == t_obs.shape) or x.size == 0:
            raise ValueError("frequency, recency and T must be non-empty and of equal length")
        if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(t_obs).all()):
            raise ValueError("frequency, recency and T must be finite numbers")
        if np.any(x < 0) or np.any(t_x < 0) or np.any(t_obs < t_x):
            raise ValueError("need frequency >= 0 and 0 <= recency <= T")
        # scale time so that the largest T is 10: a well-conditioned alpha for the optimiser
        scale = 10.0 / max(float(t_obs.max()), 1e-12)
        if sample_weight is None:
            (ux, utx, uT), weights, _ = _collapse(x, t_x, t_obs)
        else:
            w_in = _as_float(sample_weight)
            (ux, utx, uT, uw), counts, _ = _collapse(x, t_x, t_obs, w_in)
            weights = counts * uw
        utx, uT = utx * scale, uT * scale
        n_obs = float(weights.sum())

        neg = _BGNBDObjective(ux, utx, uT, weights)

        fit = _maximise(
            neg, np.array([1.0, 1.0, 1.0, 1.0]), penalizer=self.penalizer, n_obs=n_obs, tol=self.tol
        )
        r, alpha, a, b = fit.params
        self.r_ = float(r)
        self.alpha_ = float(alpha) / scale
        self.a_ = float(a)
        self.b_ = float(b)
        # in scaled time the log-likelihood is lower by x log(scale) per customer
        self.log_likelihood_ = -neg(fit.params)[0] + float(weights @ ux) * float(np.log(scale))
        self.n_iter_ = fit.n_iter
        self.n_distinct_ = int(ux.shape[0])
        return self

    @property
    def params_(self) -> FloatArray:
        """(r, alpha, a, b) as an array."""
        return np.array([self.r_, self.alpha_, self.a_, self.b_])

    # -- predictions -------------------------------------------------------------------------
    def _odds_dead(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        repeat = x > 0
        log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        log_odds = np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0)) + log_ratio
        return np.where(repeat, np.exp(np.minimum(log_odds, 700.0)), 0.0)

    def predict_proba_alive(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(alive | frequency, recency, T): probability that the customer has not dropped out."""
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        return 1.0 / (1.0 + self._odds_dead(x, t_x, t_obs))

    def predict_purchases(
        self, t: float, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """Expected number of purchases in the next ``t`` time units, per customer."""
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        # everything but P(alive) depends on (x, T) only: evaluate hyp2f1 once per pair
        (px, pT), _, pair = _collapse(x, t_obs)
        alive = 1.0 / (1.0 + self._odds_dead(x, t_x, t_obs))
        return np.asarray(self._purchases_if_alive(t, px, pT)[pair] * alive, dtype=np.float64)

    def predict_proba_purchase(
        self, t: float, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(at least one purchase in the next ``t`` time units), per customer.

        A customer alive at ``T`` stays alive until the next purchase (BG/NBD drops out only
        just after a purchase), and given alive the purchase rate is Gamma(r + x, alpha + T):
        P(>= 1) = P(alive) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x)).

        Examples
        --------
        >>> m = BGNBD().fit([0, 2, 1, 0], [0.0, 20.0, 5.0, 0.0], [30.0, 35.0, 20.0, 10.0])
        >>> bool(0 < m.predict_proba_purchase(10.0, [0], [0.0], [30.0])[0] < 1)
        True
        """
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        alive = 1.0 / (1.0 + self._odds_dead(x, t_x, t_obs))
        none_if_alive = np.exp(
            (self.r_ + x) * np.log((self.alpha_ + t_obs) / (self.alpha_ + t_obs + t))
        )
        return np.asarray(alive * (1.0 - none_if_alive), dtype=np.float64)

    def _purchases_if_alive(self, t: float, x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = t / (alpha + T + t)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        first = (a + b + x - 1.0) / (a - 1.0)
        second = 1.0 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * hyp
        return np.asarray(first * second, dtype=np.float64)

    def expected_purchases_new_customer(self, t: float) -> float:
        """Expected purchases in ``t`` time units of a customer who just arrived."""
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        hyp = hyp2f1(r, b, a + b - 1.0, t / (alpha + t))
        return float((a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)) ** r * hyp))

    def sample(
        self, n: int, T: npt.ArrayLike, *, random_state: int | np.random.Generator | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Draw (frequency, recency, T) of ``n`` customers from the fitted process.

        A convenience for simulation studies; ``T`` is broadcast to ``n`` customers.
        """
        return simulate_bgnbd(
            n, self.r_, self.alpha_, self.a_, self.b_, T, random_state=random_state
        )


def _bgnbd_terms(
    params: FloatArray, x: FloatArray, xl: _Levels, txl: _Levels, tl: _Levels
) -> tuple[FloatArray, FloatArray]:
    """BG/NBD log-likelihood and gradient per row; special functions evaluated per level."""
    r, alpha, a, b = (float(p) for p in params)
    xv = xl.values
    a1 = xl(gammaln(r + xv) + betaln(a, b + xv)) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    log_at = tl(np.log(alpha + tl.values))
    log_atx = txl(np.log(alpha + txl.values))
    inv_at = tl(1.0 / (alpha + tl.values))
    inv_atx = txl(1.0 / (alpha + txl.values))
    rx = r + x
    a3 = -rx * log_at
    repeat = x > 0
    log_bx1 = xl(np.log(np.where(xv > 0, b + xv - 1.0, 1.0)))
    a4 = np.where(repeat, np.log(a) - log_bx1 - rx * log_atx, -np.inf)
    top = np.maximum(a3, a4)
    e3 = np.exp(a3 - top)
    e4 = np.exp(a4 - top)
    total = e3 + e4
    ll = a1 + top + np.log(total)
    w3 = e3 / total
    w4 = e4 / total

    dig_ab = digamma(a + b)
    dig_abx = digamma(a + b + xv)
    grad = np.empty((x.shape[0], 4))
    grad[:, 0] = xl(digamma(r + xv)) - digamma(r) + np.log(alpha) - w3 * log_at - w4 * log_atx
    grad[:, 1] = r / alpha - rx * (w3 * inv_at + w4 * inv_atx)
    grad[:, 2] = xl(dig_ab - dig_abx) + w4 / a
    inv_bx1 = xl(1.0 / np.where(xv > 0, b + xv - 1.0, 1.0))
    grad[:, 3] = xl(dig_ab + digamma(b + xv) - digamma(b) - dig_abx) - w4 * inv_bx1
    return ll, grad


class _BGNBDObjective:
    """Weighted BG/NBD negative log-likelihood and gradient, summed (what the optimiser needs).

    The same function as the weighted sum of :func:`_bgnbd_terms`, arranged so that each step
    touches every row as few times as possible: terms of x alone are summed per level of x
    (``bincount`` of the weights), one-day buyers (x = 0, whose likelihood depends on T only)
    are summed per level of T, and for repeat buyers the two-term mixture is written with the
    log-odds ``d`` of its second term (ll = first term + softplus(d)).
    """

    def __init__(self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray) -> None:
        self.total_w = float(w.sum())
        once = x == 0
        # one-day buyers: weight per level of T
        t0_values, t0_index = _levels(T[once])
        self.t0_values = t0_values
        self.t0_w = np.bincount(t0_index.ravel(), weights=w[once], minlength=t0_values.size)
        # repeat buyers, row by row (levels of x, t_x and T gathered)
        rep = ~once
        self.x = x[rep]
        self.w = w[rep]
        self.x_values, x_index = _levels(self.x)
        self.x_index = x_index.ravel()
        self.x_w = np.bincount(self.x_index, weights=self.w, minlength=self.x_values.size)
        self.wx = self.w * self.x
        self.tx_values, tx_index = _levels(t_x[rep])
        self.tx_index = tx_index.ravel()
        self.t_values, t_index = _levels(T[rep])
        self.t_index = t_index.ravel()
        # every customer's x-only terms: weight per level of x over all rows
        self.all_x_values, all_index = _levels(x)
        self.all_x_w = np.bincount(all_index.ravel(), weights=w, minlength=self.all_x_values.size)

    def __call__(self, params: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = (float(p) for p in params)
        W = self.total_w
        xa, xw = self.all_x_values, self.all_x_w
        # x-only terms of every customer (gammaln, betaln, digamma per level of x)
        ll = float(xw @ (gammaln(r + xa) + betaln(a, b + xa)))
        ll += W * (-gammaln(r) + r * np.log(alpha) - betaln(a, b))
        dig_ab = digamma(a + b)
        g_r = float(xw @ digamma(r + xa)) + W * (np.log(alpha) - digamma(r))
        g_a = float(xw @ (dig_ab - digamma(a + b + xa)))
        g_b = float(xw @ (dig_ab + digamma(b + xa) - digamma(b) - digamma(a + b + xa)))
        g_alpha = W * r / alpha
        # one-day buyers: ll gets -r log(alpha + T)
        log_t0 = np.log(alpha + self.t0_values)
        ll -= r * float(self.t0_w @ log_t0)
        g_r -= float(self.t0_w @ log_t0)
        g_alpha -= r * float(self.t0_w @ (1.0 / (alpha + self.t0_values)))
        # repeat buyers: ll = -(r + x) log(alpha + T) + softplus(d), with
        # d = log a - log(b + x - 1) + (r + x) (log(alpha + T) - log(alpha + t_x))
        xv = self.x_values
        log_at_l = np.log(alpha + self.t_values)
        log_atx_l = np.log(alpha + self.tx_values)
        log_at = log_at_l[self.t_index]
        gap = log_at - log_atx_l[self.tx_index]
        const_x = np.log(a) - np.log(b + xv - 1.0)
        rx = r + self.x
        d = const_x[self.x_index] + rx * gap
        w4 = 0.5 * (1.0 + np.tanh(0.5 * d))  # sigmoid(d): weight of the "dropped out" term
        w, wx = self.w, self.wx
        ll += -(r * float(w @ log_at) + float(wx @ log_at)) + float(w @ np.logaddexp(0.0, d))
        ww4 = w * w4
        # w3 log(alpha + T) + w4 log(alpha + t_x) = log(alpha + T) - w4 gap
        g_r -= float(w @ log_at) - float(ww4 @ gap)
        inv_at_l = 1.0 / (alpha + self.t_values)
        inv_at = inv_at_l[self.t_index]
        inv_gap = (1.0 / (alpha + self.tx_values))[self.tx_index] - inv_at
        # rx (w3 / (alpha + T) + w4 / (alpha + t_x)) = rx (inv_at + w4 inv_gap)
        g_alpha -= r * float(w @ inv_at) + float(wx @ inv_at)
        g_alpha -= r * float(ww4 @ inv_gap) + float((wx * w4) @ inv_gap)
        w4_x = np.bincount(self.x_index, weights=ww4, minlength=xv.size)
        g_a += float(w4_x.sum()) / a
        g_b -= float(w4_x @ (1.0 / (b + xv - 1.0)))
        return -ll, -np.array([g_r, g_alpha, g_a, g_b])


def simulate_bgnbd(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: npt.ArrayLike,
    *,
    random_state: int | np.random.Generator | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Simulate (frequency, recency, T) of ``n`` customers from a BG/NBD process.

    Vectorised over customers: purchase times are drawn in rounds, one more purchase for every
    customer still alive and inside the window per round.
    """
    rng = np.random.default_rng(random_state)
    t_obs = np.broadcast_to(_as_float(T), (n,)).astype(np.float64)
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1.0 / lam[idx])
        inside = now[idx] <= t_obs[idx]
        hit = idx[inside]
        x[hit] += 1
        t_x[hit] = now[hit]
        active[idx[~inside]] = False
        # after each purchase the customer drops out with probability p
        dropped = hit[rng.random(hit.size) < p[hit]]
        active[dropped] = False
    return x, t_x, t_obs


class GammaGamma:
    """Gamma-Gamma model of the average transaction value of repeat customers.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters.
    tol : float, default 1e-12
        Relative tolerance of the optimiser on the mean log-likelihood.

    Attributes
    ----------
    p_, q_, v_ : float
        Maximum-likelihood parameters.
    log_likelihood_ : float
        Log-likelihood at the optimum.

    Examples
    --------
    >>> gg = GammaGamma().fit([1, 2, 5, 3], [20.0, 35.0, 30.0, 60.0])
    >>> bool(gg.predict_spend([2], [35.0])[0] > 0)
    True
    """

    def __init__(self, *, penalizer: float = 0.0, tol: float = 1e-12) -> None:
        self.penalizer = penalizer
        self.tol = tol

    @staticmethod
    def log_likelihood_terms(
        params: FloatArray, x: FloatArray, m: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Per-row log-likelihood and its gradient w.r.t. (p, q, v), shape (n, 3)."""
        return _gamma_gamma_terms(params, x, _Levels(x), np.log(m), np.log(x))

    def fit(
        self,
        frequency: npt.ArrayLike,
        monetary_value: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None = None,
    ) -> GammaGamma:
        """Fit on repeat customers: ``frequency`` >= 1 and average repeat spend > 0."""
        x, m = _as_float(frequency), _as_float(monetary_value)
        if x.shape != m.shape or x.size == 0:
            raise ValueError("frequency and monetary_value must be non-empty and of equal length")
        if not (np.isfinite(x).all() and np.isfinite(m).all()):
            raise ValueError("frequency and monetary_value must be finite numbers")
        if np.any(x < 1) or np.any(m <= 0):
            raise ValueError("Gamma-Gamma needs frequency >= 1 and monetary_value > 0")
        w_in = np.ones_like(x) if sample_weight is None else _as_float(sample_weight)
        scale = 1.0 / float(np.mean(m))  # money in units of the mean spend
        if sample_weight is None:
            (ux, um), weights, _ = _collapse(x, m * scale)
        else:
            (ux, um, uw), counts, _ = _collapse(x, m * scale, w_in)
            weights = counts * uw
        n_obs = float(weights.sum())

        neg = _GammaGammaObjective(ux, um, weights)

        fit = _maximise(
            neg, np.array([1.0, 1.0, 1.0]), penalizer=self.penalizer, n_obs=n_obs, tol=self.tol
        )
        p, q, v = fit.params
        self.p_ = float(p)
        self.q_ = float(q)
        self.v_ = float(v) / scale
        self.log_likelihood_ = float(w_in @ self.log_likelihood_terms(self.params_, x, m)[0])
        self.n_iter_ = fit.n_iter
        return self

    @property
    def params_(self) -> FloatArray:
        """(p, q, v) as an array."""
        return np.array([self.p_, self.q_, self.v_])

    def predict_spend(self, frequency: npt.ArrayLike, monetary_value: npt.ArrayLike) -> FloatArray:
        """Expected average transaction value; the population mean for customers with x = 0.

        The posterior mean exists only where ``p * x + q > 1``. With heavy-tailed spend the
        fit can give ``q < 1``; there the formula would turn negative, so the result is NaN
        ("undefined") and callers fall back to the customer's observed average.
        """
        x, m = _as_float(frequency), _as_float(monetary_value)
        p, q, v = self.p_, self.q_, self.v_
        m = np.where(x > 0, m, 0.0)
        denominator = p * x + q - 1.0
        defined = denominator > 0
        safe = np.where(defined, denominator, 1.0)
        return np.asarray(np.where(defined, (p * (v + x * m)) / safe, np.nan), dtype=np.float64)


class _GammaGammaObjective:
    """Weighted Gamma-Gamma negative log-likelihood and gradient, summed.

    The weighted sum of :func:`_gamma_gamma_terms` with every term that does not depend on the
    parameters precomputed: a step costs one log and one reciprocal per row.
    """

    def __init__(self, x: FloatArray, m: FloatArray, w: FloatArray) -> None:
        self.xm = x * m
        self.w = w
        self.wx = w * x
        self.total_w = float(w.sum())
        self.x_values, index = _levels(x)
        self.x_w = np.bincount(index.ravel(), weights=w, minlength=self.x_values.size)
        self.x_wx = self.x_w * self.x_values
        log_m, log_x = np.log(m), np.log(x)
        self.sum_w_log_m = float(w @ log_m)
        self.sum_wx_logs = float(self.wx @ (log_m + log_x))  # sum w x (log m + log x)

    def __call__(self, params: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = (float(z) for z in params)
        xv = p * self.x_values
        log_xmv = np.log(self.xm + v)
        inv_xmv = 1.0 / (self.xm + v)
        s_w_log = float(self.w @ log_xmv)
        s_wx_log = float(self.wx @ log_xmv)
        W = self.total_w
        ll = (
            float(self.x_w @ (gammaln(xv + q) - gammaln(xv)))
            + W * (q * np.log(v) - gammaln(q))
            + p * self.sum_wx_logs
            - self.sum_w_log_m
            - p * s_wx_log
            - q * s_w_log
        )
        dig_pxq = digamma(xv + q)
        g_p = float(self.x_wx @ (dig_pxq - digamma(xv))) + self.sum_wx_logs - s_wx_log
        g_q = float(self.x_w @ dig_pxq) + W * (np.log(v) - digamma(q)) - s_w_log
        g_v = W * q / v - p * float(self.wx @ inv_xmv) - q * float(self.w @ inv_xmv)
        return -ll, -np.array([g_p, g_q, g_v])


def _gamma_gamma_terms(
    params: FloatArray, x: FloatArray, xl: _Levels, log_m: FloatArray, log_x: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Gamma-Gamma log-likelihood and gradient per row; special functions per level of x."""
    p, q, v = (float(z) for z in params)
    pxv = p * xl.values
    px = p * x
    xm_v = x * np.exp(log_m) + v
    log_xmv = np.log(xm_v)
    ll = (
        xl(gammaln(pxv + q) - gammaln(pxv))
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * log_m
        + px * log_x
        - (px + q) * log_xmv
    )
    dig_pxq = xl(digamma(pxv + q))
    grad = np.empty((x.shape[0], 3))
    grad[:, 0] = x * (dig_pxq - xl(digamma(pxv)) + log_m + log_x - log_xmv)
    grad[:, 1] = dig_pxq - digamma(q) + np.log(v) - log_xmv
    grad[:, 2] = q / v - (px + q) / xm_v
    return ll, grad


def lifetime_value(
    bgnbd: BGNBD,
    gamma_gamma: GammaGamma,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    *,
    months: int,
    monthly_discount_rate: float,
    days_per_unit: float,
    spend: npt.ArrayLike | None = None,
) -> FloatArray:
    """Discounted expected spend over ``months`` 30-day months (the ``lifetimes`` formula).

    Sum over months i of (E[purchases by month i] - E[purchases by month i - 1]) times the
    expected average spend, divided by (1 + rate) ** i. Times are in the models' unit, which is
    ``days_per_unit`` days. ``spend`` replaces the Gamma-Gamma expected average spend when given.
    """
    x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
    if spend is None:
        spend = gamma_gamma.predict_spend(x, monetary_value)
    spend = _as_float(spend)
    alive = bgnbd.predict_proba_alive(x, t_x, t_obs)
    (px, pT), _, pair = _collapse(x, t_obs)  # the rest depends on (x, T) only
    value = np.zeros(px.shape[0])
    previous = np.zeros(px.shape[0])
    for i in range(1, months + 1):  # loop over months, vectorised over customers
        cumulative = bgnbd._purchases_if_alive(i * 30.0 / days_per_unit, px, pT)
        value += (cumulative - previous) / (1.0 + monthly_discount_rate) ** i
        previous = cumulative
    return np.asarray(value[pair] * alive * spend, dtype=np.float64)


class MBGNBD:
    """Modified BG/NBD (Batislam, Denizel & Filiztekin 2007): a customer may also drop out
    right after the first purchase, so a one-time buyer is not certainly alive.

    Same contract as :class:`BGNBD` (maximum likelihood on log-parameters with L-BFGS-B;
    numerical gradient: the model is offered beside BG/NBD, not used by the scores).

    Parameters
    ----------
    tol : float, default 1e-12
        Relative tolerance of the optimiser.

    Attributes
    ----------
    r_, alpha_, a_, b_ : float
        Maximum-likelihood parameters (``alpha_`` in the time unit of the data).
    log_likelihood_ : float
        Log-likelihood at the optimum.

    Examples
    --------
    >>> m = MBGNBD().fit([0, 2, 1, 0], [0.0, 20.0, 5.0, 0.0], [30.0, 35.0, 20.0, 10.0])
    >>> bool(0 < m.predict_proba_alive([0], [0.0], [30.0])[0] < 1)
    True
    """

    def __init__(self, *, tol: float = 1e-12) -> None:
        self.tol = tol

    @staticmethod
    def log_likelihood_terms(
        params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
    ) -> FloatArray:
        """Per-customer log-likelihood at (r, alpha, a, b)."""
        r, alpha, a, b = (float(p) for p in params)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
        a3 = -(r + x) * np.log(alpha + T)
        a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.asarray(a1 + a2 + a3 + np.logaddexp(a4, 0.0), dtype=np.float64)

    def fit(self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike) -> MBGNBD:
        """Fit on (frequency, recency = t_x, T) per customer; returns ``self``."""
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        (cx, ct, cT), w, _ = _collapse(x, t_x, t_obs)
        n = float(w.sum())

        def objective(log_params: FloatArray) -> float:
            ll = self.log_likelihood_terms(np.exp(log_params), cx, ct, cT)
            return -float(np.dot(w, ll)) / n

        with _single_threaded_blas():
            result = minimize(
                objective,
                np.zeros(4),
                method="L-BFGS-B",
                bounds=[(_LOG_MIN, _LOG_MAX)] * 4,
                options={"maxiter": 5000, "ftol": self.tol, "gtol": self.tol * 1e-2},
            )
        if not np.all(np.isfinite(result.x)):
            raise ModelNotConvergedError(f"maximum likelihood did not converge: {result.message}")
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(result.x))
        self.log_likelihood_ = -float(result.fun) * n
        return self

    @property
    def params_(self) -> FloatArray:
        """(r, alpha, a, b) as an array."""
        return np.array([self.r_, self.alpha_, self.a_, self.b_])

    def predict_proba_alive(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(alive | frequency, recency, T); below 1 for one-time buyers too."""
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        ratio = (self.r_ + x) * (np.log(self.alpha_ + t_obs) - np.log(self.alpha_ + t_x))
        odds = self.a_ / (self.b_ + x) * np.exp(np.minimum(ratio, 700.0))
        return np.asarray(1.0 / (1.0 + odds), dtype=np.float64)

    def predict_purchases(
        self, t: float, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """Expected number of purchases in the next ``t`` time units, per customer."""
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        hyp = hyp2f1(r + x, b + x + 1.0, a + b + x, t / (alpha + t_obs + t))
        first = (a + b + x) / (a - 1.0)
        second = 1.0 - hyp * ((alpha + t_obs) / (alpha + t_obs + t)) ** (r + x)
        return np.asarray(
            first * second * self.predict_proba_alive(x, t_x, t_obs), dtype=np.float64
        )

    def predict_proba_purchase(
        self, t: float, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(at least one purchase in the next ``t`` time units), as for :class:`BGNBD`."""
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        alive = self.predict_proba_alive(x, t_x, t_obs)
        none = np.exp((self.r_ + x) * np.log((self.alpha_ + t_obs) / (self.alpha_ + t_obs + t)))
        return np.asarray(alive * (1.0 - none), dtype=np.float64)


# Gauss-Legendre nodes and weights on [0, 1] for the purchase-probability integral
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(64)
_GL_NODES = (_GL_NODES + 1.0) / 2.0
_GL_WEIGHTS = _GL_WEIGHTS / 2.0


class ParetoNBD:
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): purchases at a Poisson rate
    while alive, an exponential lifetime, Gamma heterogeneity in both rates.

    Same contract as :class:`MBGNBD` (maximum likelihood on log-parameters with L-BFGS-B,
    numerical gradient: the model is offered beside BG/NBD, not used by the scores). The
    likelihood is the numerically stable form of Fader, Hardie & Lee (2005), "A note on
    deriving the Pareto/NBD model and related expressions", with Gauss's hypergeometric
    function taken on the side of the larger of alpha and beta so that its argument is in
    [0, 1).

    Parameters
    ----------
    tol : float, default 1e-12
        Relative tolerance of the optimiser.

    Attributes
    ----------
    r_, alpha_, s_, beta_ : float
        Maximum-likelihood parameters (``alpha_`` and ``beta_`` in the time unit of the data).
    log_likelihood_ : float
        Log-likelihood at the optimum.

    Examples
    --------
    >>> m = ParetoNBD().fit([0, 2, 1, 0], [0.0, 20.0, 5.0, 0.0], [30.0, 35.0, 20.0, 10.0])
    >>> p = m.conditional_probability_alive([2, 2], [20.0, 34.0], [35.0, 35.0])
    >>> bool(0 < p[0] < p[1] <= 1)
    True
    """

    def __init__(self, *, tol: float = 1e-12) -> None:
        self.tol = tol

    @staticmethod
    def _log_a0(params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        """log A0 of Fader, Hardie & Lee (2005); -inf where t_x == T."""
        r, alpha, s, beta = (float(p) for p in params)
        b_arg: float | FloatArray
        if alpha >= beta:
            big, small, b_arg = alpha, beta, s + 1.0
        else:
            big, small, b_arg = beta, alpha, r + x
        rsx = r + s + x
        gap = big - small
        first = np.log(hyp2f1(rsx, b_arg, rsx + 1.0, gap / (big + t_x))) - rsx * np.log(big + t_x)
        second = np.log(hyp2f1(rsx, b_arg, rsx + 1.0, gap / (big + T))) - rsx * np.log(big + T)
        with np.errstate(divide="ignore"):
            return np.asarray(first + np.log1p(-np.exp(second - first)), dtype=np.float64)

    @classmethod
    def log_likelihood_terms(
        cls, params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
    ) -> FloatArray:
        """Per-customer log-likelihood at (r, alpha, s, beta)."""
        r, alpha, s, beta = (float(p) for p in params)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        died = np.log(s) - np.log(r + s + x) + cls._log_a0(params, x, t_x, T)
        return np.asarray(a1 + np.logaddexp(alive, died), dtype=np.float64)

    def fit(self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike) -> ParetoNBD:
        """Fit on (frequency, recency = t_x, T) per customer; returns ``self``."""
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        if not (x.shape == t_x.shape == t_obs.shape) or x.size == 0:
            raise ValueError("frequency, recency and T must be non-empty and of equal length")
        if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(t_obs).all()):
            raise ValueError("frequency, recency and T must be finite numbers")
        if np.any(x < 0) or np.any(t_x < 0) or np.any(t_obs < t_x):
            raise ValueError("need frequency >= 0 and 0 <= recency <= T")
        (cx, ct, cT), w, _ = _collapse(x, t_x, t_obs)
        n = float(w.sum())

        def objective(log_params: FloatArray) -> float:
            ll = self.log_likelihood_terms(np.exp(log_params), cx, ct, cT)
            value = -float(np.dot(w, ll)) / n
            return value if np.isfinite(value) else 1e300

        with _single_threaded_blas():
            result = minimize(
                objective,
                np.zeros(4),
                method="L-BFGS-B",
                bounds=[(_LOG_MIN, _LOG_MAX)] * 4,
                options={"maxiter": 5000, "ftol": self.tol, "gtol": self.tol * 1e-2},
            )
        if not np.all(np.isfinite(result.x)) or result.fun >= 1e300:
            raise ModelNotConvergedError(f"maximum likelihood did not converge: {result.message}")
        self.r_, self.alpha_, self.s_, self.beta_ = (float(v) for v in np.exp(result.x))
        self.log_likelihood_ = -float(result.fun) * n
        return self

    @property
    def params_(self) -> FloatArray:
        """(r, alpha, s, beta) as an array."""
        return np.array([self.r_, self.alpha_, self.s_, self.beta_])

    def conditional_probability_alive(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(alive at T | frequency, recency, T) (Fader, Hardie & Lee 2005)."""
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        r, alpha, s, beta = self.r_, self.alpha_, self.s_, self.beta_
        log_odds = (
            np.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + t_obs)
            + s * np.log(beta + t_obs)
            + self._log_a0(self.params_, x, t_x, t_obs)
        )
        return np.asarray(1.0 / (1.0 + np.exp(np.minimum(log_odds, 700.0))), dtype=np.float64)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: float, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """Expected purchases in the next ``t`` time units (Fader, Hardie & Lee 2005).

        The factor (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) / (s - 1) is evaluated with
        ``expm1`` and its limit at s = 1, so every s > 0 is handled.
        """
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        alive = self.conditional_probability_alive(x, t_x, t_obs)
        return np.asarray(self._purchases_if_alive(t, x, t_obs) * alive, dtype=np.float64)

    def _purchases_if_alive(self, t: float, x: FloatArray, t_obs: FloatArray) -> FloatArray:
        r, alpha, s, beta = self.r_, self.alpha_, self.s_, self.beta_
        ratio = np.log((beta + t_obs) / (beta + t_obs + t))
        # (1 - ((beta+T)/(beta+T+t))**(s-1)) / (s-1), written stably via expm1
        if abs(s - 1.0) < 1e-12:
            horizon = -(beta + t_obs) * ratio
        else:
            horizon = (beta + t_obs) * -np.expm1((s - 1.0) * ratio) / (s - 1.0)
        return np.asarray((r + x) / (alpha + t_obs) * horizon, dtype=np.float64)

    def _purchase_if_alive(self, t: float, x: FloatArray, t_obs: FloatArray) -> FloatArray:
        r, alpha, s, beta = self.r_, self.alpha_, self.s_, self.beta_
        u = t * _GL_NODES[None, :]
        out = np.empty(x.shape, dtype=np.float64)
        step = 65_536  # rows per block: 64 nodes x 64k rows = 32 MiB, not 512 MiB at 1M rows
        for lo in range(0, x.size, step):
            a_t = (alpha + t_obs[lo : lo + step])[:, None]
            b_t = (beta + t_obs[lo : lo + step])[:, None]
            rx = (r + x[lo : lo + step])[:, None]
            log_density = -(rx + 1.0) * np.log1p(u / a_t) - s * np.log1p(u / b_t)
            out[lo : lo + step] = t * ((rx / a_t * np.exp(log_density)) @ _GL_WEIGHTS)
        return out

    def predict_horizon(
        self, t: float, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(P(alive), expected purchases, P(at least one purchase)) in the next ``t`` units.

        The three conditional quantities at once, P(alive) (the costly part: Gauss's
        hypergeometric function) computed once for all three.

        Examples
        --------
        >>> m = ParetoNBD().fit([0, 2, 1, 0], [0.0, 20.0, 5.0, 0.0], [30.0, 35.0, 20.0, 10.0])
        >>> alive, expected, buy = m.predict_horizon(10.0, [2], [20.0], [35.0])
        >>> bool(np.isclose(expected[0], m.conditional_expected_number_of_purchases_up_to_time(
        ...     10.0, [2], [20.0], [35.0])[0]))
        True
        """
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        alive = self.conditional_probability_alive(x, t_x, t_obs)
        expected = self._purchases_if_alive(t, x, t_obs) * alive
        return alive, expected, self._purchase_if_alive(t, x, t_obs) * alive

    def conditional_probability_of_purchase_up_to_time(
        self, t: float, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(at least one purchase in the next ``t`` time units), per customer.

        Given alive at T the rates are independent, lambda ~ Gamma(r + x, alpha + T) and
        mu ~ Gamma(s, beta + T); the first purchase comes before death at time u with density
        E[lambda exp(-(lambda + mu) u)], integrated over [0, t] by 64-point Gauss-Legendre.
        """
        x, t_x, t_obs = _as_float(frequency), _as_float(recency), _as_float(T)
        alive = self.conditional_probability_alive(x, t_x, t_obs)
        return np.asarray(alive * self._purchase_if_alive(t, x, t_obs), dtype=np.float64)
