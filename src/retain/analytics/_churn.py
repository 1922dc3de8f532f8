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
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from retain.analytics._scoring import FittedModels, fit_models, to_frame
from retain.analytics._settings import (
    AnalyticsSettings,
    ComplaintColumns,
    CustomerColumns,
    InteractionColumns,
    OrderColumns,
    SurveyColumns,
)
from retain.analytics._summary import _as_date, customer_summary, day_number, normalized_orders

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
    "overdue_multiple",
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
    "open_complaints",
    "log_open_complaint_days",
    "recent_complaints",
    "nps",
    "nps_missing",
    "log_recent_interactions",
)

#: Feature -> group; a reason is a group whose features together pushed the probability up.
FEATURE_GROUP: dict[str, str] = {
    "log_recency": "overdue",
    "log_interval": "overdue",
    "overdue_multiple": "overdue",
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
    "open_complaints": "open_complaint",
    "log_open_complaint_days": "open_complaint",
    "recent_complaints": "recent_complaint",
    "nps": "nps",
    "nps_missing": "nps",
    "log_recent_interactions": "no_contact",
}


# The classifiers run single-threaded (OpenMP and BLAS): on a shared or busy machine, OpenMP
# threads of HistGradientBoosting spinning against other processes made a fit 50x slower,
# and the data (one row per customer and period) is small enough for one core.


def _num(frame: pd.DataFrame, name: str, fill: float = 0.0) -> FloatArray:
    if name not in frame.columns:
        return np.full(len(frame), fill)
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isfinite(values), values, fill)


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


def churn_features(
    summary: pd.DataFrame, models: FittedModels, *, horizon_days: int = 90
) -> pd.DataFrame:
    """The classifier's features for the purchasing customers of a pandas summary.

    ``summary`` is (a pandas copy of) :func:`customer_summary` as of the cut-off and ``models``
    BG/NBD fitted on it. Prospects are dropped; the index of the result is that of
    ``summary``. No value is missing (absent values are filled as documented).

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
    gross = _num(s, "gross_spend")
    refunds = _num(s, "refund_amount")
    recent_orders = _num(s, "recent_orders")
    previous_orders = _num(s, "previous_orders")
    recent_spend = _num(s, "recent_spend")
    previous_spend = _num(s, "previous_spend")
    nps = _num(s, "last_nps", fill=np.nan)
    p_alive, p_buy, expected = _bgnbd_quantities(s, models, horizon_days)
    known = np.isfinite(interval) & (interval > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        multiple = np.where(known, recency / np.where(known, interval, 1.0), 0.0)
    lg = np.log1p
    features = {
        "log_recency": lg(recency),
        "log_tenure": lg(_num(s, "T_days")),
        "log_repeat_days": lg(repeat),
        "log_orders": lg(orders),
        "log_total_spend": lg(np.maximum(_num(s, "total_spend"), 0.0)),
        "log_avg_order_value": lg(np.maximum(_num(s, "avg_order_value"), 0.0)),
        "log_interval": np.where(known, lg(np.where(known, interval, 0.0)), 0.0),
        "overdue_multiple": np.minimum(multiple, 20.0),
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
        "open_complaints": _num(s, "open_complaints"),
        "log_open_complaint_days": lg(_num(s, "open_complaint_days")),
        "recent_complaints": _num(s, "recent_complaints"),
        "nps": np.where(np.isfinite(nps), nps, 0.0),
        "nps_missing": (~np.isfinite(nps)).astype(np.float64),
        "log_recent_interactions": lg(_num(s, "recent_interactions")),
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


class ChurnClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Calibrated churn classifier with per-customer feature contributions.

    Parameters
    ----------
    kind : {"logistic", "hgb"}, default "logistic"
        Standardised logistic regression, or scikit-learn's HistGradientBoostingClassifier.
    calibration : {"auto", "isotonic", "sigmoid"}, default "auto"
        Calibration of the probabilities by 3-fold cross-validation; "auto" is isotonic with at
        least 1,000 rows of each class, Platt scaling ("sigmoid") below.
    random_state : int, default 0
        Seed of the gradient boosting and of the folds.

    Attributes
    ----------
    estimator_ : sklearn estimator
        The classifier fitted on all rows (its contributions explain the probabilities).
    calibrator_ : CalibratedClassifierCV
        The calibrated model (``ensemble=False``: calibration fitted on out-of-fold scores).
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

    def _base(self) -> Any:
        if self.kind == "hgb":
            return HistGradientBoostingClassifier(
                max_iter=100,
                learning_rate=0.08,
                max_leaf_nodes=15,
                min_samples_leaf=40,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=self.random_state,
            )
        if self.kind == "logistic":
            return Pipeline(
                [("scale", StandardScaler()), ("model", LogisticRegression(C=1.0, max_iter=2000))]
            )
        raise ValueError(f"kind must be 'logistic' or 'hgb', not {self.kind!r}")

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> ChurnClassifier:
        """Fit the classifier and its calibration; ``y`` = 1 for "no purchase in the horizon"."""
        features = np.asarray(X, dtype=np.float64)
        labels = np.asarray(y, dtype=np.int64)
        counts = np.bincount(labels, minlength=2)
        if counts.min() < 3:
            raise ValueError("both classes need at least 3 rows to fit a churn classifier")
        method = self.calibration
        if method == "auto":
            method = "isotonic" if counts.min() >= 1000 else "sigmoid"
        # ensemble=False: the calibration is fitted on out-of-fold scores, the classifier once
        # more on all rows; that classifier is the one the contributions explain
        with threadpool_limits(limits=1):  # single-threaded: see the note above _num
            self.calibrator_ = CalibratedClassifierCV(
                self._base(), method=method, cv=3, ensemble=False
            ).fit(features, labels)
        self.estimator_ = self.calibrator_.calibrated_classifiers_[0].estimator
        self.calibration_method_ = method
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = features.shape[1]
        return self

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities, columns (buys again, churns)."""
        with threadpool_limits(limits=1):
            proba = self.calibrator_.predict_proba(np.asarray(X, dtype=np.float64))
        return np.asarray(proba, dtype=np.float64)

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
    ) -> None:
        self.orders = orders
        self.summary_at = summary_at
        self.columns = columns
        self.settings = settings
        self.horizon = horizon_days
        self._periods: dict[tuple[dt.date, bool], _Period] = {}
        self._days: pd.DataFrame | None = None
        self._buyers: dict[dt.date, pd.DataFrame] = {}

    def purchase_days(self) -> pd.DataFrame:
        """(customer_id, day) of every purchase day: one pull, labels are cut from it."""
        if self._days is None:
            o = normalized_orders(self.orders, as_of=dt.date(9999, 1, 1), columns=self.columns)
            o = o.filter(o.purchase)
            self._days = to_frame(o.select("customer_id", "day").distinct())
        return self._days

    def _count(self, ids: pd.Series, lo: int, hi: int) -> FloatArray:
        days = self.purchase_days()
        inside = days[(days["day"] > lo) & (days["day"] <= hi)]
        counts = inside["customer_id"].value_counts()
        return np.asarray(ids.map(counts).fillna(0), dtype=np.float64)

    def buyers(self, cut_off: dt.date) -> pd.DataFrame:
        """The summary rows of the customers who bought on or before ``cut_off``."""
        if cut_off not in self._buyers:
            frame = self.summary_at(cut_off)
            self._buyers[cut_off] = frame[frame["T_days"].notna()].reset_index(drop=True)
        return self._buyers[cut_off]

    def period(self, cut_off: dt.date, *, labelled: bool) -> _Period:
        key = (cut_off, labelled)
        if key not in self._periods:
            buyers = self.buyers(cut_off)
            if buyers.empty:
                raise ValueError(f"no customer has bought on or before {cut_off}")
            models = fit_models(buyers, self.settings)
            features = churn_features(buyers, models, horizon_days=self.horizon)
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


def _stack(periods: list[_Period]) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    X = np.vstack([p.features.to_numpy(dtype=np.float64) for p in periods])
    y = np.concatenate([_labels(p) for p in periods])
    return X, y


def _baseline_columns(period: _Period) -> dict[str, FloatArray]:
    s = period.summary
    return {
        "recency": np.log1p(_num(s, "recency_days")),
        "rfm_r": np.log1p(_num(s, "recency_days")),
        "rfm_f": np.log1p(_num(s, "frequency")),
        "rfm_m": np.log1p(np.maximum(_num(s, "total_spend"), 0.0)),
    }


def _logit(columns: list[str], train: list[_Period], test: _Period) -> FloatArray:
    """A plain logistic regression on a few baseline columns, trained like the classifier."""
    X = np.vstack([np.column_stack([_baseline_columns(p)[c] for c in columns]) for p in train])
    _, y = _stack(train)
    model = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=2000))])
    model.fit(X, y)
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


def _evaluate(train: list[_Period], test: _Period, horizon_days: int) -> dict[str, Any]:
    X, y = _stack(train)
    Xt = test.features.to_numpy(dtype=np.float64)
    yt = _labels(test)
    p_buy = _num(test.features, "p_purchase_horizon")
    scores: dict[str, FloatArray] = {}
    for kind in ("logistic", "hgb"):
        scores[kind] = ChurnClassifier(kind=kind).fit(X, y).predict_proba(Xt)[:, 1]  # type: ignore[arg-type]
    scores["recency"] = _logit(["recency"], train, test)
    scores["rfm_logistic"] = _logit(["rfm_r", "rfm_f", "rfm_m"], train, test)
    scores["bgnbd"] = 1.0 - p_buy
    _, _, expected = _bgnbd_quantities(test.summary, test.models, horizon_days)
    actual = test.purchases_ahead
    assert actual is not None
    return {
        "cut_off": test.cut_off,
        "customers": len(yt),
        "train_rows": len(y),
        "churn_rate": float(yt.mean()),
        "models": {name: churn_metrics(yt, p) for name, p in scores.items()},
        "forecast": {
            "bgnbd": forecast_metrics(actual, expected),
            "previous_period": forecast_metrics(actual, test.purchases_before),
        },
    }


def _cut_offs(as_of: dt.date, horizon_days: int, count: int, first: dt.date) -> list[dt.date]:
    """``as_of - k * horizon`` for k = 1 .. count, newest first, none before ``first``."""
    out = []
    for k in range(1, count + 1):
        c = as_of - dt.timedelta(days=k * horizon_days)
        if c <= first:
            break
        out.append(c)
    return out


def _summary_fn(
    orders: ir.Table,
    *,
    settings: AnalyticsSettings,
    columns: OrderColumns | None,
    tables: dict[str, Any],
) -> SummaryFn:
    def summary_at(cut_off: dt.date) -> pd.DataFrame:
        return to_frame(
            customer_summary(orders, as_of=cut_off, settings=settings, columns=columns, **tables)
        )

    return summary_at


def _first_day(history: _History) -> dt.date:
    days = history.purchase_days()
    if days.empty:
        raise ValueError("no purchase in the orders: nothing to learn from")
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(days["day"].min()))


def _run_backtest(
    history: _History, as_of: dt.date, *, origins: int, train_periods: int
) -> Backtest:
    h = history.horizon
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
        _, y = _stack(train)
        if np.bincount(y, minlength=2).min() < 3:
            continue
        results.append(_evaluate(train, history.period(test_cut, labelled=True), h))
    if not results:
        raise ValueError(
            f"not enough history for a back-test: it needs at least two {h}-day periods "
            f"after the first purchase ({first}) and before {as_of}"
        )
    mean_auc = {
        kind: float(np.nanmean([r["models"][kind]["roc_auc"] for r in results]))
        for kind in ("logistic", "hgb")
    }
    chosen = "hgb" if mean_auc["hgb"] > mean_auc["logistic"] + 0.002 else "logistic"
    return Backtest(horizon_days=h, origins=results, chosen=chosen)


def backtest(
    orders: ir.Table,
    *,
    as_of: dt.date | dt.datetime | str,
    horizon_days: int | None = None,
    origins: int | None = None,
    settings: AnalyticsSettings | None = None,
    columns: OrderColumns | None = None,
    customers: ir.Table | None = None,
    customer_columns: CustomerColumns | None = None,
    interactions: ir.Table | None = None,
    interaction_columns: InteractionColumns | None = None,
    complaints: ir.Table | None = None,
    complaint_columns: ComplaintColumns | None = None,
    surveys: ir.Table | None = None,
    survey_columns: SurveyColumns | None = None,
) -> Backtest:
    """Rolling-origin, time-split back-test of the churn classifier against baselines.

    For each cut-off ``c = as_of - k * horizon`` (k = 1 .. ``origins``), every input is
    computed as of ``c``, the classifier is trained on the labelled periods before ``c``
    (cut-offs ``c - j * horizon``, j = 1 .. ``churn_train_periods``) and its predictions are
    compared with what happened in ``(c, c + horizon]``. The baselines are computed the same
    way. Orders after ``as_of`` are never read as outcomes.

    Parameters
    ----------
    orders : ibis.Table
        Orders (any backend); the other tables as in :func:`customer_summary`.
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
    tables = {
        "customers": customers,
        "customer_columns": customer_columns,
        "interactions": interactions,
        "interaction_columns": interaction_columns,
        "complaints": complaints,
        "complaint_columns": complaint_columns,
        "surveys": surveys,
        "survey_columns": survey_columns,
    }
    history = _History(
        orders,
        _summary_fn(orders, settings=cfg, columns=columns, tables=tables),
        columns=columns,
        settings=cfg,
        horizon_days=h,
    )
    return _run_backtest(
        history,
        _as_date(as_of),
        origins=origins or cfg.churn_backtest_origins,
        train_periods=cfg.churn_train_periods,
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
            "fallback_reason": self.fallback_reason,
            "calibration": getattr(self.classifier, "calibration_method_", ""),
        }


def fit_churn_model(
    orders: ir.Table,
    *,
    as_of: dt.date | dt.datetime | str,
    settings: AnalyticsSettings | None = None,
    columns: OrderColumns | None = None,
    run_backtest: bool = True,
    customers: ir.Table | None = None,
    customer_columns: CustomerColumns | None = None,
    interactions: ir.Table | None = None,
    interaction_columns: InteractionColumns | None = None,
    complaints: ir.Table | None = None,
    complaint_columns: ComplaintColumns | None = None,
    surveys: ir.Table | None = None,
    survey_columns: SurveyColumns | None = None,
) -> ChurnModel:
    """Learn the churn probability from the history up to ``as_of``, or fall back to BG/NBD.

    Labelled periods are the cut-offs ``as_of - k * horizon`` (k = 1 ..
    ``churn_train_periods``) whose outcome window ends by ``as_of``. The classifier is learned
    when the newest of them has at least ``churn_min_buyers`` buyers and the periods hold at
    least ``churn_min_class_rows`` churners and as many buyers who came back; otherwise the
    model is BG/NBD's P(no purchase in the horizon) and ``fallback_reason`` says why. With
    ``run_backtest`` and at least two periods, the back-test chooses between logistic
    regression and gradient boosting (logistic unless boosting has the higher mean ROC AUC).

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
    tables = {
        "customers": customers,
        "customer_columns": customer_columns,
        "interactions": interactions,
        "interaction_columns": interaction_columns,
        "complaints": complaints,
        "complaint_columns": complaint_columns,
        "surveys": surveys,
        "survey_columns": survey_columns,
    }
    history = _History(
        orders,
        _summary_fn(orders, settings=cfg, columns=columns, tables=tables),
        columns=columns,
        settings=cfg,
        horizon_days=h,
    )

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
    train = [history.period(c, labelled=True) for c in cuts if len(history.buyers(c)) > 0]
    X, y = _stack(train)
    counts = np.bincount(y, minlength=2)
    if counts.min() < cfg.churn_min_class_rows:
        return fallback(
            f"{int(counts[1])} churners and {int(counts[0])} returning buyers in the labelled "
            f"periods; the classifier needs at least {cfg.churn_min_class_rows} of each"
        )
    result: Backtest | None = None
    kind: Kind = "logistic"
    if run_backtest and len(cuts) >= 2:
        try:
            result = _run_backtest(
                history,
                when,
                origins=cfg.churn_backtest_origins,
                train_periods=cfg.churn_train_periods,
            )
            kind = "hgb" if result.chosen == "hgb" else "logistic"
        except ValueError:
            result = None
    classifier = ChurnClassifier(kind=kind).fit(X, y)
    return ChurnModel(
        kind,
        classifier,
        "",
        h,
        when,
        train_cut_offs=[p.cut_off for p in train],
        train_rows=len(y),
        train_buyers=buyers,
        backtest=result,
    )
