"""Churn probability: a classifier learned on the company's own history, and its back-test.

A customer *churns in the horizon* when they have bought on or before the cut-off and make no
purchase in the ``horizon_days`` that follow it. Features are computed as of the cut-off from
the customer summary (and BG/NBD fitted as of the cut-off); labels from the orders after it.
The classifier (logistic regression or histogram gradient boosting, chosen by the back-test)
is calibrated (isotonic, or Platt scaling on small data) so that "30 %" means 30 %.

With too little history the model falls back to BG/NBD's probability of no purchase in the
horizon and says so (:attr:`ChurnModel.fallback_reason`). See docs/analytics.md, "Churn
probability" and "Back-test", for every feature, label and metric.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from retain.analytics._models import ModelNotConvergedError, ParetoNBD
from retain.analytics._scoring import FittedModels, fit_models, to_frame
from retain.analytics._settings import AnalyticsSettings, OrderColumns
from retain.analytics._summary import _as_date, customer_summary, day_number, normalized_orders
from retain.analytics._tables import Tables, as_tables

__all__ = [
    "CHURN_FEATURES",
    "Backtest",
    "ChurnClassifier",
    "ChurnModel",
    "backtest",
    "churn_features",
    "fit_churn_model",
]

FloatArray = npt.NDArray[np.float64]
Kind = Literal["logistic", "hgb"]

#: Features of the classifier, in column order (defined in docs/analytics.md).
CHURN_FEATURES: tuple[str, ...] = (
    "log_recency",
    "log_tenure",
    "log_repeat_days",
    "log_orders",
    "log_total_spend",
    "log_avg_order_value",
    "log_interval",
    "log_overdue_multiple",
    "one_time_buyer",
    "log_recent_orders",
    "log_previous_orders",
    "order_trend",
    "spend_trend",
    "refund_share",
    "log_refunds",
    "p_alive",
    "p_purchase_horizon",
    "log_expected_purchases",
    "bgnbd_churn_log_odds",
    "pnbd_p_alive",
    "log_pnbd_expected_purchases",
    "pnbd_churn_log_odds",
    "open_complaints",
    "log_open_complaint_days",
    "recent_complaints",
    "nps",
    "nps_missing",
    "log_recent_interactions",
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
)

#: Feature -> group; a reason is a group whose features together pushed the probability up.
FEATURE_GROUP: dict[str, str] = {
    "log_recency": "overdue",
    "log_interval": "overdue",
    "log_overdue_multiple": "overdue",
    "log_tenure": "tenure",
    "log_repeat_days": "few_purchases",
    "log_orders": "few_purchases",
    "one_time_buyer": "few_purchases",
    "log_total_spend": "low_spend",
    "log_avg_order_value": "low_spend",
    "log_recent_orders": "trend",
    "log_previous_orders": "trend",
    "order_trend": "trend",
    "spend_trend": "trend",
    "refund_share": "refunds",
    "log_refunds": "refunds",
    "p_alive": "model",
    "p_purchase_horizon": "model",
    "log_expected_purchases": "model",
    "bgnbd_churn_log_odds": "model",
    "pnbd_p_alive": "model",
    "log_pnbd_expected_purchases": "model",
    "pnbd_churn_log_odds": "model",
    "open_complaints": "open_complaint",
    "log_open_complaint_days": "open_complaint",
    "recent_complaints": "recent_complaint",
    "nps": "nps",
    "nps_missing": "nps",
    "log_recent_interactions": "no_contact",
    "open_followups": "followups",
    "overdue_followups": "followups",
    "log_followups_won": "followups",
    "log_followups_lost": "followups",
    "business": "profile",
    "business_missing": "profile",
    "log_channel_count": "mix",
    "channel_share": "mix",
    "log_category_count": "mix",
    "category_share": "mix",
}


# The classifiers run single-threaded (OpenMP and BLAS): on a shared or busy machine, OpenMP
# threads of HistGradientBoosting spinning against other processes made a fit 50x slower,
# and the data (one row per customer and period) is small enough for one core.


def _num(frame: pd.DataFrame, name: str, fill: float = 0.0) -> FloatArray:
    if name not in frame.columns:
        return np.full(len(frame), fill)
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isfinite(values), values, fill)


def _money(frame: pd.DataFrame, name: str) -> FloatArray:
    """A money column rounded to the cent: its sums differ in the last bits with the order
    the backend added the rows in (a parallel or re-ordered read), the features must not."""
    return np.round(_num(frame, name), 2)


def _bgnbd_quantities(
    frame: pd.DataFrame, models: FittedModels, horizon_days: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    unit = models.days_per_unit
    x = _num(frame, "frequency")
    t_x = _num(frame, "t_x_days") / unit
    t_obs = _num(frame, "T_days") / unit
    bg = models.bgnbd
    p_alive = bg.predict_proba_alive(x, t_x, t_obs)
    p_buy = bg.predict_proba_purchase(horizon_days / unit, x, t_x, t_obs)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = bg.predict_purchases(horizon_days / unit, x, t_x, t_obs)
    # with a <= 1 the fitted BG/NBD has no finite mean: at most one purchase day per day
    expected = np.clip(np.nan_to_num(expected, nan=0.0, posinf=horizon_days), 0, horizon_days)
    return p_alive, p_buy, expected


#: Buyers the Pareto/NBD model of the churn features is fitted on (a seeded sample above it):
#: its likelihood needs Gauss's hypergeometric function per row, 10-60 s at 20,000 rows.
PARETO_FIT_ROWS = 5_000
#: Relative tolerance of that fit (features need no more: the parameters' last digits do not
#: move a probability).
PARETO_FIT_TOL = 1e-7


def _log_odds(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q) - np.log1p(-q), dtype=np.float64)


def _pareto_quantities(
    frame: pd.DataFrame, unit: float, horizon_days: int, seed: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pareto/NBD P(alive), expected purchases and P(a purchase) in the horizon.

    Fitted on the buyers of ``frame`` (all of them as of the same cut-off; a seeded sample of
    ``PARETO_FIT_ROWS`` when there are more), predicted for each. When the fit does not
    converge the quantities are NaN (the caller fills them from BG/NBD).
    """
    x = _num(frame, "frequency")
    t_x = _num(frame, "t_x_days") / unit
    t_obs = _num(frame, "T_days") / unit
    n = len(x)
    nan = np.full(n, np.nan)
    if n == 0:
        return nan, nan, nan
    pick = np.arange(n)
    if n > PARETO_FIT_ROWS:
        pick = np.sort(np.random.default_rng(seed).choice(n, PARETO_FIT_ROWS, replace=False))
    try:
        with np.errstate(all="ignore"):
            model = ParetoNBD(tol=PARETO_FIT_TOL).fit(x[pick], t_x[pick], t_obs[pick])
            alive, expected, buy = model.predict_horizon(horizon_days / unit, x, t_x, t_obs)
    except (ModelNotConvergedError, ValueError, FloatingPointError):
        return nan, nan, nan
    return alive, np.clip(expected, 0, horizon_days), buy


def churn_features(
    summary: pd.DataFrame,
    models: FittedModels,
    *,
    horizon_days: int = 90,
    seed: int = 0,
) -> pd.DataFrame:
    """The classifier's features for the purchasing customers of a pandas summary.

    ``summary`` is (a pandas copy of) :func:`customer_summary` as of the cut-off and ``models``
    BG/NBD fitted on it; Pareto/NBD is fitted here on the same buyers (a ``seed``-ed sample of
    ``PARETO_FIT_ROWS`` when there are more). Prospects are dropped; the index of the result
    is that of ``summary``. No value is missing (absent values are filled as documented).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`CHURN_FEATURES`.
    """
    s = summary[summary["T_days"].notna()]
    recency = _num(s, "recency_days")
    interval = _num(s, "avg_interpurchase_days", fill=np.nan)
    repeat = _num(s, "frequency")
    orders = _num(s, "order_count")
    gross = _money(s, "gross_spend")
    total = _money(s, "total_spend")
    refunds = _money(s, "refund_amount")
    recent_orders = _num(s, "recent_orders")
    previous_orders = _num(s, "previous_orders")
    recent_spend = _money(s, "recent_spend")
    previous_spend = _money(s, "previous_spend")
    nps = _num(s, "last_nps", fill=np.nan)
    business = _num(s, "is_business", fill=np.nan)
    p_alive, p_buy, expected = _bgnbd_quantities(s, models, horizon_days)
    pnbd_alive, pnbd_expected, pnbd_buy = _pareto_quantities(
        s, models.days_per_unit, horizon_days, seed
    )
    failed = ~(np.isfinite(pnbd_alive) & np.isfinite(pnbd_expected) & np.isfinite(pnbd_buy))
    pnbd_alive = np.where(failed, p_alive, pnbd_alive)  # no Pareto/NBD fit: BG/NBD's values
    pnbd_expected = np.where(failed, expected, pnbd_expected)
    pnbd_buy = np.where(failed, p_buy, pnbd_buy)
    known = np.isfinite(interval) & (interval > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        multiple = np.where(known, recency / np.where(known, interval, 1.0), 0.0)
    lg = np.log1p
    features = {
        "log_recency": lg(recency),
        "log_tenure": lg(_num(s, "T_days")),
        "log_repeat_days": lg(repeat),
        "log_orders": lg(orders),
        "log_total_spend": lg(np.maximum(total, 0.0)),
        "log_avg_order_value": lg(
            np.maximum(np.divide(total, orders, out=np.zeros(len(s)), where=orders > 0), 0.0)
        ),
        "log_interval": np.where(known, lg(np.where(known, interval, 0.0)), 0.0),
        "log_overdue_multiple": lg(multiple),
        "one_time_buyer": (repeat == 0).astype(np.float64),
        "log_recent_orders": lg(recent_orders),
        "log_previous_orders": lg(previous_orders),
        "order_trend": lg(recent_orders) - lg(previous_orders),
        "spend_trend": lg(np.maximum(recent_spend, 0.0)) - lg(np.maximum(previous_spend, 0.0)),
        "refund_share": np.divide(refunds, gross, out=np.zeros(len(s)), where=gross > 0),
        "log_refunds": lg(_num(s, "refund_count")),
        "p_alive": p_alive,
        "p_purchase_horizon": p_buy,
        "log_expected_purchases": lg(expected),
        "bgnbd_churn_log_odds": _log_odds(1.0 - p_buy),
        "pnbd_p_alive": pnbd_alive,
        "log_pnbd_expected_purchases": lg(pnbd_expected),
        "pnbd_churn_log_odds": _log_odds(1.0 - pnbd_buy),
        "open_complaints": _num(s, "open_complaints"),
        "log_open_complaint_days": lg(_num(s, "open_complaint_days")),
        "recent_complaints": _num(s, "recent_complaints"),
        "nps": np.where(np.isfinite(nps), nps, 0.0),
        "nps_missing": (~np.isfinite(nps)).astype(np.float64),
        "log_recent_interactions": lg(_num(s, "recent_interactions")),
        "open_followups": _num(s, "open_followups"),
        "overdue_followups": _num(s, "overdue_followups"),
        "log_followups_won": lg(_num(s, "followups_won")),
        "log_followups_lost": lg(_num(s, "followups_lost")),
        "business": np.where(np.isfinite(business), business, 0.0),
        "business_missing": (~np.isfinite(business)).astype(np.float64),
        "log_channel_count": lg(_num(s, "channel_count")),
        "channel_share": _num(s, "channel_share"),
        "log_category_count": lg(_num(s, "category_count")),
        "category_share": _num(s, "category_share"),
    }
    frame = pd.DataFrame(features, index=s.index, columns=list(CHURN_FEATURES))
    return frame.replace([np.inf, -np.inf], np.nan).fillna(0.0)


# -- the classifier ---------------------------------------------------------------------------
def _tree_contributions(model: HistGradientBoostingClassifier, X: FloatArray) -> FloatArray:
    """Per-feature contributions to the log-odds of a fitted binary HistGradientBoosting model.

    Path attribution (Saabas): along each tree's path, the change of the node value at a split
    is credited to the split's feature. Per row, the contributions plus the baseline sum
    exactly to the model's log-odds.
    """
    out = np.zeros_like(X)
    rows = np.arange(X.shape[0])
    lr = float(model.learning_rate)
    for predictors in model._predictors:
        nodes = predictors[0].nodes
        value = nodes["value"].astype(np.float64)
        leaf = nodes["is_leaf"].astype(bool)
        value = np.where(leaf, value, value * lr)  # leaves are stored already shrunk
        node = np.zeros(X.shape[0], dtype=np.intp)
        active = ~leaf[node]
        while active.any():
            r = rows[active]
            n = node[active]
            feat = nodes["feature_idx"][n].astype(np.intp)
            go_left = X[r, feat] <= nodes["num_threshold"][n]
            nxt = np.where(go_left, nodes["left"][n], nodes["right"][n]).astype(np.intp)
            np.add.at(out, (r, feat), value[nxt] - value[n])
            node[active] = nxt
            active = ~leaf[node]
    return out


#: Features whose effect on the churn probability has a known sign (holding the others
#: fixed): gradient boosting is constrained to it (1: more churn, -1: less).
MONOTONE: dict[str, int] = {
    "log_recency": 1,
    "log_overdue_multiple": 1,
    "p_alive": -1,
    "p_purchase_horizon": -1,
    "log_expected_purchases": -1,
    "bgnbd_churn_log_odds": 1,
    "pnbd_p_alive": -1,
    "log_pnbd_expected_purchases": -1,
    "pnbd_churn_log_odds": 1,
    "log_recent_orders": -1,
    "open_complaints": 1,
}
#: Below this many training rows the classifiers are regularised harder and calibrated on
#: five folds instead of three.
SMALL_TRAIN_ROWS = 20_000
Calibration = Literal["isotonic", "sigmoid"]
CALIBRATIONS: tuple[Calibration, ...] = ("isotonic", "sigmoid")


class ChurnClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Calibrated churn classifier with per-customer feature contributions.

    Parameters
    ----------
    kind : {"logistic", "hgb"}, default "logistic"
        Standardised L2-regularised logistic regression, or scikit-learn's
        HistGradientBoostingClassifier (monotone in the features of :data:`MONOTONE` when
        fitted on :data:`CHURN_FEATURES`). Both are regularised harder below
        ``SMALL_TRAIN_ROWS`` rows.
    calibration : {"auto", "isotonic", "sigmoid"}, default "auto"
        The calibration used by :meth:`predict_proba`. Both are fitted on out-of-fold scores
        (cross-validated: every training row is a calibration row; 5 shuffled, seeded folds
        below ``SMALL_TRAIN_ROWS`` rows, else 3); "auto" is isotonic with at least 1,000 rows of each
        class, Platt scaling ("sigmoid") below. The back-test chooses by comparing both
        (:meth:`predict_proba_by_calibration`).
    random_state : int, default 0
        Seed of the gradient boosting and of the calibration folds.

    Attributes
    ----------
    estimator_ : sklearn estimator
        The classifier fitted on all rows (its contributions explain the probabilities).
    calibrators_ : dict
        ``{"isotonic": IsotonicRegression, "sigmoid": LogisticRegression}`` fitted on the
        out-of-fold decision scores.
    calibration_method_ : str
        The calibration :meth:`predict_proba` uses.
    classes_ : ndarray
        ``[0, 1]`` (1 = churns in the horizon).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    >>> clf = ChurnClassifier().fit(X, y)
    >>> bool(clf.predict_proba(X)[:, 1][X[:, 0] > 1].mean() > 0.7)
    True
    """

    def __init__(
        self,
        kind: Kind = "logistic",
        calibration: Literal["auto", "isotonic", "sigmoid"] = "auto",
        random_state: int = 0,
    ) -> None:
        self.kind = kind
        self.calibration = calibration
        self.random_state = random_state

    def _base(self, rows: int, n_features: int) -> Any:
        small = rows < SMALL_TRAIN_ROWS
        if self.kind == "hgb":
            monotone = None
            if n_features == len(CHURN_FEATURES):
                monotone = [MONOTONE.get(name, 0) for name in CHURN_FEATURES]
            return HistGradientBoostingClassifier(
                max_iter=80 if small else 100,
                learning_rate=0.06 if small else 0.08,
                max_leaf_nodes=8 if small else 15,
                min_samples_leaf=max(60, rows // 100) if small else 40,
                l2_regularization=5.0 if small else 1.0,
                monotonic_cst=monotone,
                early_stopping=False,
                random_state=self.random_state,
            )
        if self.kind == "logistic":
            return Pipeline(
                [
                    ("scale", StandardScaler()),
                    ("model", LogisticRegression(C=0.1 if small else 1.0, max_iter=2000)),
                ]
            )
        raise ValueError(f"kind must be 'logistic' or 'hgb', not {self.kind!r}")

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> ChurnClassifier:
        """Fit the classifier and its calibrations; ``y`` = 1 for "no purchase in the horizon"."""
        features = np.asarray(X, dtype=np.float64)
        labels = np.asarray(y, dtype=np.int64)
        counts = np.bincount(labels, minlength=2)
        if counts.min() < 3:
            raise ValueError("both classes need at least 3 rows to fit a churn classifier")
        method = self.calibration
        if method == "auto":
            method = "isotonic" if counts.min() >= 1000 else "sigmoid"
        rows = len(labels)
        folds = 5 if rows < SMALL_TRAIN_ROWS else 3
        folds = int(min(folds, counts.min()))
        scores = np.empty(rows, dtype=np.float64)
        # single-threaded: see the note above _num. The calibration is fitted on out-of-fold
        # scores, the classifier once more on all rows: that one the contributions explain.
        with threadpool_limits(limits=1):
            split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            for train, test in split.split(features, labels):
                part = clone(self._base(len(train), features.shape[1]))
                part.fit(features[train], labels[train])
                scores[test] = part.decision_function(features[test])
            self.estimator_ = self._base(rows, features.shape[1]).fit(features, labels)
        self.calibrators_ = {
            "isotonic": IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
                scores, labels
            ),
            "sigmoid": LogisticRegression(C=1e6, max_iter=1000).fit(scores[:, None], labels),
        }
        self.calibration_method_ = method
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = features.shape[1]
        return self

    def _calibrated(self, scores: FloatArray, method: str) -> FloatArray:
        calibrator = self.calibrators_[method]
        if method == "isotonic":
            p = calibrator.predict(scores)
        else:
            p = calibrator.predict_proba(scores[:, None])[:, 1]
        return np.asarray(np.clip(p, 0.0, 1.0), dtype=np.float64)

    def _scores(self, X: npt.ArrayLike) -> FloatArray:
        with threadpool_limits(limits=1):
            raw = self.estimator_.decision_function(np.asarray(X, dtype=np.float64))
        return np.asarray(raw, dtype=np.float64)

    def predict_proba_by_calibration(self, X: npt.ArrayLike) -> dict[str, FloatArray]:
        """The churn probability under each calibration: ``{"isotonic": p, "sigmoid": p}``."""
        scores = self._scores(X)
        return {method: self._calibrated(scores, method) for method in CALIBRATIONS}

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities, columns (buys again, churns)."""
        p = self._calibrated(self._scores(X), self.calibration_method_)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """1 where the calibrated churn probability is at least 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def contributions(self, X: npt.ArrayLike) -> FloatArray:
        """Per-customer, per-feature contributions to the (uncalibrated) log-odds of churn.

        Logistic regression: exact, ``coef_j * (x_j - mean_j) / sd_j`` (relative to the
        average training customer). Gradient boosting: path attribution (see
        ``_tree_contributions``). Calibration is monotone, so a positive contribution pushes
        the calibrated probability up too.
        """
        features = np.asarray(X, dtype=np.float64)
        if self.kind == "hgb":
            return _tree_contributions(self.estimator_, features)
        scale: StandardScaler = self.estimator_.named_steps["scale"]
        coef = self.estimator_.named_steps["model"].coef_[0]
        return np.asarray(scale.transform(features) * coef, dtype=np.float64)


# -- metrics ----------------------------------------------------------------------------------
def calibration_deciles(
    y: npt.ArrayLike, p: npt.ArrayLike, bins: int = 10
) -> list[dict[str, float]]:
    """Mean predicted probability and observed rate in ``bins`` equal-count bins of ``p``."""
    yy = np.asarray(y, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    order = np.argsort(pp, kind="stable")
    out = []
    for part in np.array_split(order, bins):
        if part.size:
            out.append(
                {
                    "predicted": float(pp[part].mean()),
                    "observed": float(yy[part].mean()),
                    "n": float(part.size),
                }
            )
    return out


def churn_metrics(y: npt.ArrayLike, p: npt.ArrayLike) -> dict[str, Any]:
    """ROC AUC, PR AUC, Brier score, calibration error and deciles, top-decile capture.

    ``y`` = 1 for churners (no purchase in the horizon), ``p`` the predicted churn probability
    (any score that grows with the risk for the ranking metrics).
    """
    yy = np.asarray(y, dtype=np.int64)
    pp = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    deciles = calibration_deciles(yy, pp)
    n = max(len(yy), 1)
    ece = sum(d["n"] / n * abs(d["predicted"] - d["observed"]) for d in deciles)
    top = np.argsort(-pp, kind="stable")[: max(1, math.ceil(0.1 * len(yy)))]
    both = len(np.unique(yy)) == 2
    return {
        "roc_auc": float(roc_auc_score(yy, pp)) if both else math.nan,
        "pr_auc": float(average_precision_score(yy, pp)) if both else math.nan,
        "brier": float(brier_score_loss(yy, pp)),
        "calibration_error": float(ece),
        "top_decile_capture": float(yy[top].sum() / max(yy.sum(), 1)),
        "churn_rate": float(yy.mean()) if len(yy) else math.nan,
        "calibration": deciles,
    }


def forecast_metrics(actual: npt.ArrayLike, predicted: npt.ArrayLike) -> dict[str, float]:
    """Aggregate bias (sum predicted / sum actual - 1) and mean absolute error per customer."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(predicted, dtype=np.float64)
    total = float(a.sum())
    return {
        "bias": float(f.sum() / total - 1.0) if total > 0 else math.nan,
        "mae": float(np.abs(f - a).mean()) if len(a) else math.nan,
        "actual_total": total,
        "predicted_total": float(f.sum()),
    }


# -- labelled periods -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Period:
    """Everything known as of one cut-off, plus (when known) what happened after it."""

    cut_off: dt.date
    summary: pd.DataFrame  # buyers only
    models: FittedModels
    features: pd.DataFrame
    purchases_ahead: FloatArray | None  # purchase days in (cut_off, cut_off + horizon]
    purchases_before: FloatArray  # purchase days in (cut_off - horizon, cut_off]


SummaryFn = Callable[[dt.date], pd.DataFrame]

#: The summary columns the features, labels and baselines read: the periods keep only these
#: (at 1M customers a full summary with its text columns is about 1 GiB per period).
_USED = frozenset(
    {
        "customer_id",
        "recency_days",
        "avg_interpurchase_days",
        "frequency",
        "order_count",
        "gross_spend",
        "refund_amount",
        "refund_count",
        "recent_orders",
        "previous_orders",
        "recent_spend",
        "previous_spend",
        "last_nps",
        "is_business",
        "t_x_days",
        "T_days",
        "monetary_value",
        "total_spend",
        "avg_order_value",
        "open_complaints",
        "open_complaint_days",
        "recent_complaints",
        "recent_interactions",
        "open_followups",
        "overdue_followups",
        "followups_won",
        "followups_lost",
        "channel_count",
        "channel_share",
        "category_count",
        "category_share",
    }
)


class _History:
    """Summaries, BG/NBD fits and labels per cut-off, computed once each."""

    def __init__(
        self,
        orders: ir.Table,
        summary_at: SummaryFn,
        *,
        columns: OrderColumns | None,
        settings: AnalyticsSettings,
        horizon_days: int,
        sampled_from: int = 0,
    ) -> None:
        self.orders = orders
        self.sampled_from = sampled_from
        self.summary_at = summary_at
        self.columns = columns
        self.settings = settings
        self.horizon = horizon_days
        self._periods: dict[tuple[dt.date, bool], _Period] = {}
        self._days: pd.DataFrame | None = None
        self._codes: tuple[npt.NDArray[np.intp], npt.NDArray[np.int64], pd.Index] | None = None
        self._buyers: dict[dt.date, pd.DataFrame] = {}

    def purchase_days(self) -> pd.DataFrame:
        """(customer_id, day) of every purchase day: one pull, labels are cut from it."""
        if self._days is None:
            o = normalized_orders(self.orders, as_of=dt.date(9999, 1, 1), columns=self.columns)
            o = o.filter(o.purchase)
            self._days = to_frame(o.select("customer_id", "day").distinct())
        return self._days

    def _day_codes(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64], pd.Index]:
        if self._codes is None:
            days = self.purchase_days()
            codes, customers = pd.factorize(days["customer_id"], sort=True)
            self._codes = (codes, days["day"].to_numpy(dtype=np.int64), pd.Index(customers))
        return self._codes

    def _count(self, ids: pd.Series, lo: int, hi: int) -> FloatArray:
        """Purchase days of each customer of ``ids`` in ``(lo, hi]`` (vectorised: one count
        over the day array, no per-period grouping)."""
        codes, day, customers = self._day_codes()
        counts = np.bincount(codes[(day > lo) & (day <= hi)], minlength=len(customers))
        at = customers.get_indexer(pd.Index(ids))
        return np.where(at >= 0, counts[np.maximum(at, 0)], 0).astype(np.float64)

    def buyers(self, cut_off: dt.date) -> pd.DataFrame:
        """The summary rows of the customers who bought on or before ``cut_off``."""
        if cut_off not in self._buyers:
            frame = self.summary_at(cut_off)
            # in customer order: the database returns rows in any order, and the fits (and
            # so the probabilities) must not depend on it
            bought = frame.loc[frame["T_days"].notna(), [c for c in frame if c in _USED]]
            self._buyers[cut_off] = bought.sort_values("customer_id", kind="stable").reset_index(
                drop=True
            )
        return self._buyers[cut_off]

    def period(self, cut_off: dt.date, *, labelled: bool) -> _Period:
        key = (cut_off, labelled)
        if key not in self._periods:
            buyers = self.buyers(cut_off)
            if buyers.empty:
                raise ValueError(f"no customer has bought on or before {cut_off}")
            models = fit_models(buyers, self.settings)
            features = churn_features(
                buyers, models, horizon_days=self.horizon, seed=self.settings.churn_seed
            )
            c = day_number(cut_off)
            ahead = self._count(buyers["customer_id"], c, c + self.horizon) if labelled else None
            before = self._count(buyers["customer_id"], c - self.horizon, c)
            self._periods[key] = _Period(cut_off, buyers, models, features, ahead, before)
        return self._periods[key]


def _labels(period: _Period) -> npt.NDArray[np.int64]:
    """1 = no purchase in the horizon after the cut-off (churned), 0 = bought again."""
    if period.purchases_ahead is None:
        raise ValueError(f"the period as of {period.cut_off} has no known outcome")
    return np.asarray(period.purchases_ahead == 0, dtype=np.int64)


def _sample(periods: list[_Period], max_rows: int, seed: int) -> list[npt.NDArray[np.intp]]:
    """Row indices kept per period: all of them up to ``max_rows`` in total; above, a seeded
    sample stratified by period and label (each stratum keeps its share, so the churn rate and
    the calibration are those of all rows), in customer order."""
    labels = [_labels(p) for p in periods]
    total = sum(len(y) for y in labels)
    if total <= max_rows:
        return [np.arange(len(y)) for y in labels]
    rng = np.random.default_rng(seed)
    out = []
    for y in labels:
        keep = []
        for value in (0, 1):
            rows = np.flatnonzero(y == value)
            k = min(len(rows), max(1, round(max_rows * len(rows) / total)))
            keep.append(rng.choice(rows, k, replace=False))
        out.append(np.sort(np.concatenate(keep)))
    return out


@dataclass(frozen=True, slots=True)
class _Training:
    """The stacked training rows of some labelled periods (sampled: see ``_sample``)."""

    X: FloatArray
    y: npt.NDArray[np.int64]
    baselines: dict[str, FloatArray]
    available: int  # labelled rows before sampling


def _training(periods: list[_Period], settings: AnalyticsSettings) -> _Training:
    keep = _sample(periods, settings.churn_max_train_rows, settings.churn_seed)
    X = np.vstack(
        [p.features.to_numpy(dtype=np.float64)[k] for p, k in zip(periods, keep, strict=True)]
    )
    y = np.concatenate([_labels(p)[k] for p, k in zip(periods, keep, strict=True)])
    columns = [_baseline_columns(p) for p in periods]
    baselines = {
        name: np.concatenate([c[name][k] for c, k in zip(columns, keep, strict=True)])
        for name in columns[0]
    }
    return _Training(X, y, baselines, sum(len(p.features) for p in periods))


def _baseline_columns(period: _Period) -> dict[str, FloatArray]:
    s = period.summary
    return {
        "recency": np.log1p(_num(s, "recency_days")),
        "rfm_r": np.log1p(_num(s, "recency_days")),
        "rfm_f": np.log1p(_num(s, "frequency")),
        "rfm_m": np.log1p(np.maximum(_money(s, "total_spend"), 0.0)),
    }


def _logit(columns: list[str], train: _Training, test: _Period) -> FloatArray:
    """A plain logistic regression on a few baseline columns, trained on the same rows as
    the classifier."""
    X = np.column_stack([train.baselines[c] for c in columns])
    model = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=2000))])
    with threadpool_limits(limits=1):
        model.fit(X, train.y)
    Xt = np.column_stack([_baseline_columns(test)[c] for c in columns])
    return np.asarray(model.predict_proba(Xt)[:, 1], dtype=np.float64)


# -- back-test --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Backtest:
    """Rolling-origin back-test: one entry per cut-off, each model beside the baselines.

    ``origins`` holds, per cut-off, ``{"cut_off", "customers", "churn_rate", "models":
    {name: metrics}, "forecast": {name: metrics}}``; :meth:`summary` averages over cut-offs.
    Model names: ``logistic`` and ``hgb`` (the learned classifier), ``recency`` (days since
    last purchase), ``rfm_logistic`` (logistic regression on R, F, M), ``bgnbd`` (BG/NBD's
    probability of no purchase in the horizon; ranks like its expected purchases).
    """

    horizon_days: int
    origins: list[dict[str, Any]]
    chosen: str
    #: the calibration the back-test chose per learned kind ({"logistic": "sigmoid", ...})
    calibration: dict[str, str] = field(default_factory=dict)
    #: buyers by the as-of day when the back-test ran on a sample of them (0: on all)
    sampled_from: int = 0

    METRICS = ("roc_auc", "pr_auc", "brier", "calibration_error", "top_decile_capture")

    def summary(self) -> pd.DataFrame:
        """Mean and spread (min, max) of each metric per model over the cut-offs."""
        rows = []
        names = list(self.origins[0]["models"]) if self.origins else []
        for name in names:
            row: dict[str, Any] = {"model": name}
            for metric in self.METRICS:
                values = [o["models"][name][metric] for o in self.origins]
                row[metric] = float(np.nanmean(values))
                row[f"{metric}_min"] = float(np.nanmin(values))
                row[f"{metric}_max"] = float(np.nanmax(values))
            rows.append(row)
        return pd.DataFrame(rows)

    def forecast_summary(self) -> pd.DataFrame:
        """Mean bias and MAE of the purchase forecasts over the cut-offs."""
        rows = []
        names = list(self.origins[0]["forecast"]) if self.origins else []
        for name in names:
            rows.append(
                {
                    "model": name,
                    "bias": float(np.nanmean([o["forecast"][name]["bias"] for o in self.origins])),
                    "mae": float(np.nanmean([o["forecast"][name]["mae"] for o in self.origins])),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored with the model by the app)."""
        return {
            "horizon_days": self.horizon_days,
            "chosen": self.chosen,
            "calibration": dict(self.calibration),
            "sampled_from": self.sampled_from,
            "origins": [
                {
                    **o,
                    "cut_off": o["cut_off"].isoformat()
                    if isinstance(o["cut_off"], dt.date)
                    else o["cut_off"],
                }
                for o in self.origins
            ],
            "summary": self.summary().to_dict("records"),
            "forecast": self.forecast_summary().to_dict("records"),
        }


#: The learned kinds the back-test compares, each under both calibrations.
KINDS: tuple[Kind, ...] = ("logistic", "hgb")


def _evaluate(
    train: _Training, test: _Period, horizon_days: int, settings: AnalyticsSettings
) -> dict[str, Any]:
    Xt = test.features.to_numpy(dtype=np.float64)
    yt = _labels(test)
    p_buy = _num(test.features, "p_purchase_horizon")
    candidates: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        clf = ChurnClassifier(kind=kind, random_state=settings.churn_seed).fit(train.X, train.y)
        for method, p in clf.predict_proba_by_calibration(Xt).items():
            candidates[f"{kind}/{method}"] = churn_metrics(yt, p)
    scores: dict[str, FloatArray] = {
        "recency": _logit(["recency"], train, test),
        "rfm_logistic": _logit(["rfm_r", "rfm_f", "rfm_m"], train, test),
        "bgnbd": 1.0 - p_buy,
    }
    _, _, expected = _bgnbd_quantities(test.summary, test.models, horizon_days)
    actual = test.purchases_ahead
    assert actual is not None
    return {
        "cut_off": test.cut_off,
        "customers": len(yt),
        "train_rows": len(train.y),
        "train_rows_available": train.available,
        "churn_rate": float(yt.mean()),
        "candidates": candidates,
        "models": {name: churn_metrics(yt, p) for name, p in scores.items()},
        "forecast": {
            "bgnbd": forecast_metrics(actual, expected),
            "previous_period": forecast_metrics(actual, test.purchases_before),
        },
    }


def _choose(results: list[dict[str, Any]]) -> tuple[str, dict[str, str]]:
    """The calibration of each kind and the kind: lowest mean Brier score over the cut-offs
    (a proper score: it rewards ranking and calibration together); ties go to isotonic, and to
    logistic regression. Each result's ``models`` then starts with the learned kinds under
    their chosen calibration; ``candidates`` keeps every pair's headline metrics."""

    def brier(name: str) -> float:
        return float(np.nanmean([r["candidates"][name]["brier"] for r in results]))

    calibration: dict[str, str] = {}
    for kind in KINDS:
        calibration[kind] = min(CALIBRATIONS, key=lambda m, k=kind: brier(f"{k}/{m}"))  # type: ignore[misc]
    chosen: str = min(KINDS, key=lambda k: brier(f"{k}/{calibration[k]}"))
    for r in results:
        learned = {kind: r["candidates"][f"{kind}/{calibration[kind]}"] for kind in KINDS}
        r["models"] = {**learned, **r["models"]}
        r["candidates"] = {
            name: {k: v for k, v in metrics.items() if k != "calibration"}
            for name, metrics in r["candidates"].items()
        }
    return chosen, calibration


def _cut_offs(as_of: dt.date, horizon_days: int, count: int, first: dt.date) -> list[dt.date]:
    """``as_of - k * horizon`` for k = 1 .. count, newest first, none before ``first``."""
    out = []
    for k in range(1, count + 1):
        c = as_of - dt.timedelta(days=k * horizon_days)
        if c <= first:
            break
        out.append(c)
    return out


def _buyer_sample(
    tables: Tables, as_of: dt.date, settings: AnalyticsSettings
) -> tuple[Tables, int]:
    """``tables`` as the back-test and the training read them, and the number of customers
    who bought by ``as_of`` when that is more than ``churn_large_buyers`` (else 0).

    Above ``churn_large_buyers`` buyers, every table is restricted to a seeded random sample of
    that many of them: each period's summary, model fits and features then cost what they cost
    for that many customers, whatever the company's size, and the metrics of so large a sample
    are as good as those of all buyers (the scores themselves are always computed for all).
    """
    o = normalized_orders(tables.orders, as_of=as_of, columns=tables.columns)
    ids = to_frame(o.filter(o.purchase).select("customer_id").distinct())["customer_id"]
    if len(ids) <= settings.churn_large_buyers:
        return tables, 0
    # sorted first: the database returns the ids in any order, the sample must not depend on it
    every = np.sort(ids.to_numpy())
    rng = np.random.default_rng(settings.churn_seed)
    keep = np.sort(every[rng.choice(len(every), settings.churn_large_buyers, replace=False)])
    return tables.only_customers(keep), len(every)


def _history(
    tables: Tables, settings: AnalyticsSettings, horizon_days: int, as_of: dt.date
) -> _History:
    """Summaries per cut-off of ``tables``: every input as of that cut-off, nothing later (of a
    sample of the buyers when they are many: see ``_buyer_sample``)."""
    read, sampled_from = _buyer_sample(tables, as_of, settings)

    def summary_at(cut_off: dt.date) -> pd.DataFrame:
        return to_frame(customer_summary(read, as_of=cut_off, settings=settings))

    return _History(
        read.orders,
        summary_at,
        columns=read.columns,
        settings=settings,
        horizon_days=horizon_days,
        sampled_from=sampled_from,
    )


def _first_day(history: _History) -> dt.date:
    days = history.purchase_days()
    if days.empty:
        raise ValueError("no purchase in the orders: nothing to learn from")
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(days["day"].min()))


def _run_backtest(
    history: _History, as_of: dt.date, *, origins: int, train_periods: int
) -> Backtest:
    h = history.horizon
    cfg = history.settings
    first = _first_day(history)
    # evaluation cut-offs: the outcome (cut_off, cut_off + h] must end by as_of
    tests = _cut_offs(as_of, h, origins, first)
    results = []
    for test_cut in tests:
        train_cuts = _cut_offs(test_cut, h, train_periods, first)
        if not train_cuts:
            continue
        train = [history.period(c, labelled=True) for c in train_cuts if len(history.buyers(c)) > 0]
        if not train:
            continue
        rows = _training(train, cfg)
        if np.bincount(rows.y, minlength=2).min() < 3:
            continue
        results.append(_evaluate(rows, history.period(test_cut, labelled=True), h, cfg))
    if not results:
        raise ValueError(
            f"not enough history for a back-test: it needs at least two {h}-day periods "
            f"after the first purchase ({first}) and before {as_of}"
        )
    chosen, calibration = _choose(results)
    return Backtest(
        horizon_days=h,
        origins=results,
        chosen=chosen,
        calibration=calibration,
        sampled_from=history.sampled_from,
    )


def _plan(history: _History) -> tuple[int, int]:
    """(back-test cut-offs, labelled periods): the settings', or 1 and 2 for a sampled
    history (more than ``churn_large_buyers`` buyers)."""
    cfg = history.settings
    if history.sampled_from:
        return min(cfg.churn_backtest_origins, 1), min(cfg.churn_train_periods, 2)
    return cfg.churn_backtest_origins, cfg.churn_train_periods


def backtest(
    tables: Tables | ir.Table,
    *,
    as_of: dt.date | dt.datetime | str,
    horizon_days: int | None = None,
    origins: int | None = None,
    settings: AnalyticsSettings | None = None,
) -> Backtest:
    """Rolling-origin, time-split back-test of the churn classifier against baselines.

    For each cut-off ``c = as_of - k * horizon`` (k = 1 .. ``origins``), every input is
    computed as of ``c``, the classifier is trained on the labelled periods before ``c``
    (cut-offs ``c - j * horizon``, j = 1 .. ``churn_train_periods``) and its predictions are
    compared with what happened in ``(c, c + horizon]``. The baselines are computed the same
    way. Orders after ``as_of`` are never read as outcomes.

    Parameters
    ----------
    tables : Tables or ibis.Table
        The input bundle as in :func:`customer_summary` (a bare orders table means
        ``Tables(orders)``), on any backend.
    as_of : datetime.date
        The last day whose outcome may be used (usually the last order date).
    horizon_days : int, optional
        Outcome horizon; default ``settings.churn_horizon_days`` (90).
    origins : int, optional
        Number of cut-offs; default ``settings.churn_backtest_origins`` (3).

    Returns
    -------
    Backtest
        Per cut-off metrics of ``logistic``, ``hgb``, ``recency``, ``rfm_logistic``, ``bgnbd``.
    """
    cfg = settings or AnalyticsSettings()
    h = horizon_days or cfg.churn_horizon_days
    when = _as_date(as_of)
    history = _history(as_tables(tables), cfg, h, when)
    planned_origins, train_periods = _plan(history)
    return _run_backtest(
        history, when, origins=origins or planned_origins, train_periods=train_periods
    )


# -- the fitted churn model -------------------------------------------------------------------
@dataclass(slots=True)
class ChurnModel:
    """What :func:`fit_churn_model` learned: a calibrated classifier, or the BG/NBD fallback.

    Attributes
    ----------
    kind : str
        ``"logistic"`` or ``"hgb"`` (learned), or ``"bgnbd"`` (fallback: BG/NBD's probability
        of no purchase in the horizon).
    classifier : ChurnClassifier or None
        The calibrated classifier (``None`` for the fallback).
    fallback_reason : str
        Why the fallback was used (empty when learned).
    horizon_days : int
        The horizon the probability refers to.
    as_of : datetime.date
        Newest outcome the model was trained on.
    train_cut_offs : list of datetime.date
        Cut-offs of the labelled periods it was trained on.
    train_rows, train_buyers : int
        Labelled rows in total; buyers at the newest training cut-off.
    backtest : Backtest or None
        The back-test that chose the classifier (``None`` when there was too little history).
    sampled_from : int
        Buyers by ``as_of`` when the model learned from a random sample of
        ``churn_large_buyers`` of them (0: from all).
    """

    kind: str
    classifier: ChurnClassifier | None
    fallback_reason: str
    horizon_days: int
    as_of: dt.date
    train_cut_offs: list[dt.date] = field(default_factory=list)
    train_rows: int = 0
    train_buyers: int = 0
    backtest: Backtest | None = None
    # last: a model pickled before this field existed still loads field by field
    sampled_from: int = 0

    @property
    def learned(self) -> bool:
        """Whether the probability comes from the classifier (not the fallback)."""
        return self.classifier is not None

    def describe(self) -> dict[str, Any]:
        """JSON-able description (kind, horizon, training periods, fallback reason)."""
        return {
            "kind": self.kind,
            "horizon_days": self.horizon_days,
            "as_of": self.as_of.isoformat(),
            "train_cut_offs": [c.isoformat() for c in self.train_cut_offs],
            "train_rows": self.train_rows,
            "train_buyers": self.train_buyers,
            "sampled_from": self.sampled_from,
            "fallback_reason": self.fallback_reason,
            "calibration": getattr(self.classifier, "calibration_method_", ""),
        }


def fit_churn_model(
    tables: Tables | ir.Table,
    *,
    as_of: dt.date | dt.datetime | str,
    settings: AnalyticsSettings | None = None,
    run_backtest: bool = True,
) -> ChurnModel:
    """Learn the churn probability from the history up to ``as_of``, or fall back to BG/NBD.

    ``tables`` is the input bundle as in :func:`customer_summary` (a bare orders table means
    ``Tables(orders)``); pass the same tables as to :func:`score_customers`, so that the
    features the model learned from are those it scores.

    Labelled periods are the cut-offs ``as_of - k * horizon`` (k = 1 ..
    ``churn_train_periods``) whose outcome window ends by ``as_of``. The classifier is learned
    when the newest of them has at least ``churn_min_buyers`` buyers and the periods hold at
    least ``churn_min_class_rows`` churners and as many buyers who came back; otherwise the
    model is BG/NBD's P(no purchase in the horizon) and ``fallback_reason`` says why. With
    ``run_backtest`` and at least two periods, the back-test chooses the kind (logistic
    regression or gradient boosting) and its calibration (isotonic or Platt): the lowest mean
    Brier score over its cut-offs. Training rows are capped at ``churn_max_train_rows`` (a
    seeded sample stratified by period and label); from ``churn_large_buyers`` buyers the
    back-test has one cut-off and the classifier two labelled periods.

    Examples
    --------
    >>> import ibis
    >>> orders = ibis.memtable({"customer_id": [1, 1, 2], "amount": [5.0, 6.0, 7.0],
    ...     "timestamp": ["2024-01-01", "2024-02-01", "2024-01-10"]})
    >>> m = fit_churn_model(orders, as_of=dt.date(2024, 3, 1))
    >>> m.kind, m.learned
    ('bgnbd', False)
    """
    cfg = settings or AnalyticsSettings()
    h = cfg.churn_horizon_days
    when = _as_date(as_of)
    history = _history(as_tables(tables), cfg, h, when)

    def fallback(reason: str, backtest_result: Backtest | None = None) -> ChurnModel:
        return ChurnModel("bgnbd", None, reason, h, when, backtest=backtest_result)

    first = _first_day(history)
    cuts = _cut_offs(when, h, cfg.churn_train_periods, first)
    if not cuts:
        return fallback(
            f"less than {h} days of history after the first purchase ({first}): "
            "no labelled period to learn from"
        )
    buyers = len(history.buyers(cuts[0]))
    if buyers < cfg.churn_min_buyers:
        return fallback(
            f"{buyers} buyers at the newest labelled cut-off ({cuts[0]}); "
            f"the classifier needs at least {cfg.churn_min_buyers}"
        )
    origins, train_periods = _plan(history)
    cuts = cuts[:train_periods]
    train = [history.period(c, labelled=True) for c in cuts if len(history.buyers(c)) > 0]
    counts = np.bincount(np.concatenate([_labels(p) for p in train]), minlength=2)
    if counts.min() < cfg.churn_min_class_rows:
        return fallback(
            f"{int(counts[1])} churners and {int(counts[0])} returning buyers in the labelled "
            f"periods; the classifier needs at least {cfg.churn_min_class_rows} of each"
        )
    rows = _training(train, cfg)
    result: Backtest | None = None
    kind: Kind = "logistic"
    calibration: Literal["auto", "isotonic", "sigmoid"] = "auto"
    if run_backtest and len(_cut_offs(when, h, cfg.churn_train_periods, first)) >= 2:
        try:
            result = _run_backtest(history, when, origins=origins, train_periods=train_periods)
            kind = "hgb" if result.chosen == "hgb" else "logistic"
            calibration = "sigmoid" if result.calibration.get(kind) == "sigmoid" else "isotonic"
        except ValueError:
            result = None
    classifier = ChurnClassifier(
        kind=kind, calibration=calibration, random_state=cfg.churn_seed
    ).fit(rows.X, rows.y)
    return ChurnModel(
        kind,
        classifier,
        "",
        h,
        when,
        train_cut_offs=[p.cut_off for p in train],
        train_rows=len(rows.y),
        train_buyers=buyers,
        sampled_from=history.sampled_from,
        backtest=result,
    )
