"""Churn probability, risk level and reasons per customer, as structured reason codes.

A reason is a code with parameters, written ``code(name=value, ...)`` and joined by ``"; "``
in the ``risk_reasons`` column, e.g. ``overdue(multiple=3.2); open_complaint(count=1, days=5)``.
The app stores the parsed codes and renders them in the user's language; nothing parses prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from retain.analytics._labels import RiskLevel
from retain.analytics._settings import AnalyticsSettings

if TYPE_CHECKING:
    from retain.analytics._churn import ChurnModel
    from retain.analytics._scoring import FittedModels

__all__ = ["REASON_CODES", "ReasonCode", "format_reasons", "parse_reasons", "risk_assess"]

FloatArray = npt.NDArray[np.float64]

#: Every reason code and its parameters (docs/analytics.md, "Reason codes").
REASON_CODES: dict[str, tuple[str, ...]] = {
    "overdue": ("multiple",),  # no purchase for `multiple` x the usual interval
    "no_repeat": ("days",),  # one purchase only, `days` ago
    "p_alive_low": ("p",),  # BG/NBD probability of still being a customer
    "p_buy_low": ("p",),  # BG/NBD probability of a purchase in the horizon
    "few_purchases": ("count",),  # `count` orders in all
    "tenure": ("days",),  # customer for `days` days
    "low_spend": ("amount",),  # net spend in all
    "spend_drop": ("pct",),  # recent window spend down `pct` % on the previous window
    "orders_down": ("recent", "previous"),  # orders in the recent vs the previous window
    "refunds": ("count",),  # refunded orders
    "open_complaint": ("count", "days"),  # unresolved complaints, the oldest `days` old
    "recent_complaint": ("count",),  # complaints in the KPI window
    "nps": ("score",),  # the last NPS answer
    "no_contact": ("days",),  # no follow-up in the last `days` days
    "followup_overdue": ("count",),  # follow-ups past their due date and still open
    "followup_lost": ("count",),  # follow-ups (win-back) that ended "lost"
}

_CODE = re.compile(r"^([a-z_]+)(?:\((.*)\))?$")


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """One reason: a code of :data:`REASON_CODES` and its numeric parameters.

    Examples
    --------
    >>> str(ReasonCode("overdue", {"multiple": 3.2}))
    'overdue(multiple=3.2)'
    """

    code: str
    params: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.code
        inner = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.code}({inner})"

    def to_dict(self) -> dict[str, object]:
        """``{"code": ..., "params": {...}}`` (JSON-able)."""
        return {"code": self.code, "params": dict(self.params)}


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def format_reasons(reasons: list[ReasonCode]) -> str:
    """Reasons as the text of the ``risk_reasons`` column."""
    return "; ".join(str(r) for r in reasons)


def parse_reasons(text: str | None) -> list[ReasonCode]:
    """The reasons of a ``risk_reasons`` cell; unknown or malformed parts raise ValueError.

    Examples
    --------
    >>> parse_reasons("overdue(multiple=3.2); open_complaint(count=1, days=5)")[1].params
    {'count': 1.0, 'days': 5.0}
    """
    out = []
    for part in (p.strip() for p in (text or "").split(";")):
        if not part:
            continue
        match = _CODE.match(part)
        if match is None or match.group(1) not in REASON_CODES:
            raise ValueError(f"not a reason code: {part!r}")
        params: dict[str, float] = {}
        for item in (match.group(2) or "").split(","):
            if item.strip():
                key, _, value = item.partition("=")
                params[key.strip()] = float(value)
        out.append(ReasonCode(match.group(1), params))
    return out


def _col(frame: pd.DataFrame, name: str, fill: float = np.nan) -> FloatArray:
    if name not in frame.columns:
        return np.full(len(frame), fill)
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isfinite(values), values, fill)


def _group_reason(group: str, row: dict[str, float], cfg: AnalyticsSettings) -> ReasonCode | None:
    """The code a feature group stands for, with this customer's values; None if it does not
    apply (e.g. a complaint reason without a complaint)."""
    # each code is emitted only when the customer's own values say what the words say: a
    # model may weigh "17 orders" up next to a correlated feature, but "only 17 orders" is
    # no reason a person would accept
    if group == "overdue":
        if np.isfinite(row["interval"]) and row["interval"] > 0:
            multiple = row["recency"] / row["interval"]
            return (
                ReasonCode("overdue", {"multiple": round(multiple, 1)}) if multiple >= 1 else None
            )
        return ReasonCode("no_repeat", {"days": row["recency"]}) if row["recency"] > 0 else None
    if group == "model":
        if row["p_alive"] < cfg.risk_p_alive_medium:
            return ReasonCode("p_alive_low", {"p": round(row["p_alive"], 2)})
        if row["p_buy"] < 0.5:
            return ReasonCode("p_buy_low", {"p": round(row["p_buy"], 2)})
        return None
    if group == "few_purchases":
        return ReasonCode("few_purchases", {"count": row["orders"]}) if row["orders"] <= 2 else None
    if group == "tenure":
        if row["tenure"] > cfg.new_window_days:
            return None
        return ReasonCode("tenure", {"days": row["tenure"]})
    if group == "low_spend":
        if row["spend"] >= row["spend_median"]:
            return None
        return ReasonCode("low_spend", {"amount": round(row["spend"], 2)})
    if group == "trend":
        if row["previous_spend"] > 0 and row["recent_spend"] < row["previous_spend"]:
            pct = 100 * (1 - max(row["recent_spend"], 0.0) / row["previous_spend"])
            return ReasonCode("spend_drop", {"pct": round(pct)})
        if row["recent_orders"] < row["previous_orders"]:
            return ReasonCode(
                "orders_down", {"recent": row["recent_orders"], "previous": row["previous_orders"]}
            )
        return None
    if group == "refunds":
        return ReasonCode("refunds", {"count": row["refunds"]}) if row["refunds"] > 0 else None
    if group == "open_complaint":
        if row["open_complaints"] <= 0:
            return None
        return ReasonCode(
            "open_complaint",
            {"count": row["open_complaints"], "days": max(row["open_complaint_days"], 0.0)},
        )
    if group == "recent_complaint":
        if row["recent_complaints"] <= 0:
            return None
        return ReasonCode("recent_complaint", {"count": row["recent_complaints"]})
    if group == "nps":
        if not np.isfinite(row["nps"]) or row["nps"] >= cfg.nps_promoter_min:
            return None
        return ReasonCode("nps", {"score": row["nps"]})
    if group == "no_contact":
        if row["interactions"] > 0:
            return None
        return ReasonCode("no_contact", {"days": float(cfg.interaction_window_days)})
    if group == "followups":
        if row["overdue_followups"] > 0:
            return ReasonCode("followup_overdue", {"count": row["overdue_followups"]})
        if row["followups_lost"] > 0:
            return ReasonCode("followup_lost", {"count": row["followups_lost"]})
        return None
    if group in ("profile", "mix"):  # who the customer is and what they buy: no action
        return None
    raise ValueError(f"unknown feature group {group!r}")


def _rows(frame: pd.DataFrame, p_alive: FloatArray, p_buy: FloatArray) -> list[dict[str, float]]:
    cols = {
        "recency": _col(frame, "recency_days", 0.0),
        "interval": _col(frame, "avg_interpurchase_days"),
        "orders": _col(frame, "order_count", 0.0),
        "tenure": _col(frame, "T_days", 0.0),
        "spend": _col(frame, "total_spend", 0.0),
        "recent_spend": _col(frame, "recent_spend", 0.0),
        "previous_spend": _col(frame, "previous_spend", 0.0),
        "recent_orders": _col(frame, "recent_orders", 0.0),
        "previous_orders": _col(frame, "previous_orders", 0.0),
        "refunds": _col(frame, "refund_count", 0.0),
        "open_complaints": _col(frame, "open_complaints", 0.0),
        "open_complaint_days": _col(frame, "open_complaint_days", 0.0),
        "recent_complaints": _col(frame, "recent_complaints", 0.0),
        "nps": _col(frame, "last_nps"),
        "interactions": _col(frame, "recent_interactions", 0.0),
        "overdue_followups": _col(frame, "overdue_followups", 0.0),
        "followups_lost": _col(frame, "followups_lost", 0.0),
        "p_alive": p_alive,
        "p_buy": p_buy,
    }
    spend = cols["spend"]
    cols["spend_median"] = np.full(len(frame), float(np.median(spend)) if len(spend) else 0.0)
    names = list(cols)
    matrix = np.column_stack([cols[n] for n in names])
    # tolist() hands over Python floats in one C call (a float() per cell took 1.7 s at 100k)
    return [dict(zip(names, row, strict=True)) for row in matrix.tolist()]


def _learned_reasons(
    rows: list[dict[str, float]], contributions: FloatArray, cfg: AnalyticsSettings
) -> list[list[ReasonCode]]:
    from retain.analytics._churn import CHURN_FEATURES, FEATURE_GROUP

    groups = sorted(set(FEATURE_GROUP.values()))
    index = {g: i for i, g in enumerate(groups)}
    by_group = np.zeros((contributions.shape[0], len(groups)))
    for j, name in enumerate(CHURN_FEATURES):
        by_group[:, index[FEATURE_GROUP[name]]] += contributions[:, j]
    # the groups of each customer by contribution, largest first, sorted once for all rows
    order = np.argsort(-by_group, axis=1, kind="stable")
    positive = (np.take_along_axis(by_group, order, axis=1) > 0).sum(axis=1)
    out = []
    for row, ranked, count in zip(rows, order.tolist(), positive.tolist(), strict=True):
        reasons: list[ReasonCode] = []
        for g in ranked[:count]:
            if len(reasons) >= cfg.risk_max_reasons:
                break
            reason = _group_reason(groups[g], row, cfg)
            if reason is not None:
                reasons.append(reason)
        out.append(reasons)
    return out


def _rule_reasons(rows: list[dict[str, float]], cfg: AnalyticsSettings) -> list[list[ReasonCode]]:
    """Reasons of the BG/NBD fallback (no classifier, so no contributions): fixed rules."""
    out = []
    for row in rows:
        found: list[ReasonCode | None] = []
        interval = row["interval"]
        if np.isfinite(interval) and interval > 0:
            if row["recency"] / interval >= cfg.risk_interval_multiple:
                found.append(_group_reason("overdue", row, cfg))
        elif row["recency"] > cfg.silent_after_days:
            found.append(ReasonCode("no_repeat", {"days": row["recency"]}))
        found.append(_group_reason("model", row, cfg))
        prev, recent = row["previous_spend"], row["recent_spend"]
        if prev > 0 and 0 < recent < cfg.risk_spend_drop * prev:
            found.append(_group_reason("trend", row, cfg))
        found.append(_group_reason("open_complaint", row, cfg))
        if np.isfinite(row["nps"]) and row["nps"] <= cfg.nps_detractor_max:
            found.append(ReasonCode("nps", {"score": row["nps"]}))
        out.append([r for r in found if r is not None][: cfg.risk_max_reasons])
    return out


def risk_levels(
    probability: FloatArray, lost_value: FloatArray, cfg: AnalyticsSettings
) -> npt.NDArray[np.object_]:
    """High / medium / low from the churn probability and the expected lost value.

    High: probability >= ``risk_probability_high`` and the expected lost value among the top
    ``risk_lost_value_share`` of buyers (or at least ``risk_lost_value_min`` when set).
    Medium: probability >= ``risk_probability_high`` otherwise, or probability >=
    ``risk_probability_medium`` with such a lost value. Low: the rest.
    """
    lost = np.nan_to_num(lost_value, nan=0.0)
    if cfg.risk_lost_value_min is not None:
        big = lost >= cfg.risk_lost_value_min
    elif len(lost):
        cut = float(np.quantile(lost, 1.0 - cfg.risk_lost_value_share))
        big = (lost >= cut) & (lost > 0)
    else:
        big = np.zeros(0, dtype=bool)
    p = np.nan_to_num(probability, nan=0.0)
    likely = p >= cfg.risk_probability_high
    possible = p >= cfg.risk_probability_medium
    high = likely & big
    medium = ~high & (likely | (possible & big))
    return np.where(
        high, str(RiskLevel.HIGH), np.where(medium, str(RiskLevel.MEDIUM), str(RiskLevel.LOW))
    ).astype(object)


def risk_assess(
    buyers: pd.DataFrame,
    *,
    models: FittedModels,
    churn: ChurnModel | None,
    settings: AnalyticsSettings,
) -> pd.DataFrame:
    """Churn probability, model, expected lost value, risk level and reasons of buyers.

    ``buyers`` holds the summary and score columns of purchasing customers (``p_alive`` and
    ``predicted_ltv`` already computed). Returns a frame on the same index with
    ``churn_probability``, ``churn_model``, ``expected_lost_value``, ``churn_risk``,
    ``risk_reasons``.
    """
    from retain.analytics._churn import churn_features

    cfg = settings
    horizon = churn.horizon_days if churn is not None else cfg.churn_horizon_days
    features = churn_features(buyers, models, horizon_days=horizon, seed=cfg.churn_seed)
    p_alive = features["p_alive"].to_numpy(dtype=np.float64)
    p_buy = features["p_purchase_horizon"].to_numpy(dtype=np.float64)
    rows = _rows(buyers, p_alive, p_buy)
    if churn is not None and churn.classifier is not None:
        X = features.to_numpy(dtype=np.float64)
        probability = churn.classifier.predict_proba(X)[:, 1]
        reasons = _learned_reasons(rows, churn.classifier.contributions(X), cfg)
        kind = churn.kind
    else:
        probability = 1.0 - p_buy
        reasons = _rule_reasons(rows, cfg)
        kind = "bgnbd"
    value = _col(buyers, "predicted_ltv")
    fallback_value = _col(buyers, "avg_order_value", 0.0) * _col(
        buyers, "expected_purchases_365d", 0.0
    )
    value = np.where(np.isfinite(value), value, np.maximum(fallback_value, 0.0))
    # rounded (cents, 1e-6) before the cut-offs: the same data read from another backend
    # differs in the last bits, and must not land on the other side of a threshold
    probability = np.round(probability, 6)
    lost = np.round(value * probability, 2)
    return pd.DataFrame(
        {
            "churn_probability": probability,
            "churn_model": kind,
            "expected_lost_value": lost,
            "churn_risk": risk_levels(probability, lost, cfg),
            "risk_reasons": [format_reasons(r) for r in reasons],
        },
        index=buyers.index,
    )
