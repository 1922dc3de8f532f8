"""Scores: pull the compact per-customer summary, fit the models, add predictions and risk."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from retain.analytics._models import BGNBD, GammaGamma, lifetime_value
from retain.analytics._settings import AnalyticsSettings
from retain.analytics._summary import customer_summary
from retain.analytics._tables import Tables

if TYPE_CHECKING:
    from retain.analytics._churn import ChurnModel

__all__ = ["FittedModels", "fit_models", "score_customers", "score_summary", "to_frame"]

#: Columns :func:`score_customers` adds to the summary.
SCORE_COLUMNS: tuple[str, ...] = (
    "p_alive",
    "expected_purchases_30d",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "expected_avg_spend",
    "predicted_ltv",
    "churn_probability",
    "churn_model",
    "expected_lost_value",
    "churn_risk",
    "risk_reasons",
)


@dataclass(frozen=True, slots=True)
class FittedModels:
    """The two fitted models and the time unit (in days) they were fitted in."""

    bgnbd: BGNBD
    gamma_gamma: GammaGamma | None
    days_per_unit: float


def to_frame(table: ir.Table) -> pd.DataFrame:
    """Pull a (small) Ibis table into pandas through Arrow: faster than ``to_pandas``."""
    return table.to_pyarrow().to_pandas()


def _model_inputs(
    summary: pd.DataFrame, days_per_unit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = summary["frequency"].to_numpy(dtype=np.float64)
    t_x = summary["t_x_days"].to_numpy(dtype=np.float64) / days_per_unit
    t_obs = summary["T_days"].to_numpy(dtype=np.float64) / days_per_unit
    m = summary["monetary_value"].to_numpy(dtype=np.float64)
    return x, t_x, t_obs, m


def fit_models(summary: pd.DataFrame, settings: AnalyticsSettings | None = None) -> FittedModels:
    """Fit BG/NBD on all purchasing customers and Gamma-Gamma on repeat customers.

    ``summary`` is (a pandas copy of) :func:`customer_summary`; prospects are ignored.
    """
    cfg = settings or AnalyticsSettings()
    buyers = summary[summary["T_days"].notna()]
    if buyers.empty:
        raise ValueError("no customer with a purchase on or before as_of: nothing to fit")
    x, t_x, t_obs, m = _model_inputs(buyers, cfg.model_time_unit_days)
    bgnbd = BGNBD(penalizer=cfg.penalizer).fit(x, t_x, t_obs)
    repeat = (x > 0) & (m > 0)
    gamma_gamma = None
    if int(repeat.sum()) >= 3:
        gamma_gamma = GammaGamma(penalizer=cfg.penalizer).fit(x[repeat], m[repeat])
    return FittedModels(bgnbd, gamma_gamma, cfg.model_time_unit_days)


def score_summary(
    summary: pd.DataFrame,
    *,
    settings: AnalyticsSettings | None = None,
    models: FittedModels | None = None,
    churn: ChurnModel | None = None,
) -> pd.DataFrame:
    """Add model predictions, lifetime value and churn risk to a pandas summary.

    Returns a copy of ``summary`` with the columns of :data:`SCORE_COLUMNS`; prospects get
    nulls. Fits the models unless ``models`` is given. ``churn`` is the learned churn model
    (:func:`fit_churn_model`); without it the churn probability is BG/NBD's probability of no
    purchase in ``settings.churn_horizon_days`` (``churn_model`` = ``"bgnbd"``).
    """
    cfg = settings or AnalyticsSettings()
    fitted = models or fit_models(summary, cfg)
    out = summary.copy()
    n = len(out)
    buyer = out["T_days"].notna().to_numpy()
    unit = fitted.days_per_unit
    x, t_x, t_obs, m = _model_inputs(out[buyer], unit)

    def put(values: np.ndarray) -> np.ndarray:
        full = np.full(n, np.nan)
        full[buyer] = values
        return full

    bg = fitted.bgnbd
    out["p_alive"] = put(bg.predict_proba_alive(x, t_x, t_obs))
    for days in (30, 90, 365):
        out[f"expected_purchases_{days}d"] = put(bg.predict_purchases(days / unit, x, t_x, t_obs))
    if fitted.gamma_gamma is not None:
        gg = fitted.gamma_gamma
        m_used = np.where((x > 0) & (m > 0), m, 0.0)
        x_used = np.where(m > 0, x, 0.0)
        spend = gg.predict_spend(x_used, m_used)
        # Where the fitted spend distribution has no finite mean (q <= 1 - p x), the model
        # cannot say; the customer's own average order value stands in.
        observed = np.maximum(out["avg_order_value"].to_numpy(dtype=np.float64)[buyer], 0.0)
        spend = np.where(np.isnan(spend), observed, spend)
        out["expected_avg_spend"] = put(spend)
        out["predicted_ltv"] = put(
            lifetime_value(
                bg,
                gg,
                x_used,
                t_x,
                t_obs,
                m_used,
                months=cfg.ltv_horizon_months,
                monthly_discount_rate=cfg.monthly_discount_rate,
                days_per_unit=unit,
                spend=spend,
            )
        )
    else:  # too few repeat customers for Gamma-Gamma: fall back to the observed order value
        mean_value = out["avg_order_value"].to_numpy(dtype=np.float64)
        out["expected_avg_spend"] = np.where(buyer, mean_value, np.nan)
        out["predicted_ltv"] = np.nan

    # churn probability, risk level and reason codes (see _risk.py); prospects get nulls
    from retain.analytics._risk import risk_assess

    risk = risk_assess(out[buyer], models=fitted, churn=churn, settings=cfg)
    for name in ("churn_probability", "expected_lost_value"):
        out[name] = put(risk[name].to_numpy(dtype=np.float64))
    for name in ("churn_model", "churn_risk", "risk_reasons"):
        values = np.full(n, None, dtype=object)
        values[buyer] = risk[name].to_numpy(dtype=object)
        out[name] = values
    return out


def score_customers(
    tables: Tables | ir.Table,
    *,
    as_of: dt.date | dt.datetime | str,
    settings: AnalyticsSettings | None = None,
    churn: ChurnModel | None = None,
) -> pd.DataFrame:
    """Everything the engine knows about each customer, one row per customer.

    ``tables`` is the input bundle (:class:`Tables`; a bare orders table means
    ``Tables(orders)``). Runs :func:`customer_summary` in the backend of the orders, pulls only that compact
    per-customer table into Python, fits BG/NBD and Gamma-Gamma, and adds P(alive), expected
    purchases in the next 30 / 90 / 365 days, expected average spend, predicted lifetime value
    and the churn-risk level with its reasons.

    Examples
    --------
    >>> import ibis, datetime as dt
    >>> orders = ibis.memtable({
    ...     "customer_id": [1, 1, 2, 3, 3, 3, 4],
    ...     "timestamp": ["2024-01-01", "2024-02-01", "2024-01-10", "2024-01-02",
    ...                   "2024-01-20", "2024-02-20", "2024-02-25"],
    ...     "amount": [10.0, 30.0, 5.0, 7.0, 9.0, 11.0, 4.0]})
    >>> scores = score_customers(orders, as_of=dt.date(2024, 3, 1))
    >>> len(scores), sorted(scores.columns)[:2]
    (4, ['T_days', 'activity_level'])
    """
    cfg = settings or AnalyticsSettings()
    frame = to_frame(customer_summary(tables, as_of=as_of, settings=cfg))
    frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return score_summary(frame, settings=cfg, churn=churn)
