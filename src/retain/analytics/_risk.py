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


BoolArray = npt.NDArray[np.bool_]
#: A parameter of a reason: its values for every customer and the digits it is rounded to
#: (Python's ``round`` on the chosen customers only, so the text is the same as one-by-one).
_Param = tuple[FloatArray, int | None]


@dataclass(frozen=True, slots=True)
class _Variant:
    """One code a feature group may emit, for the customers in ``mask``."""

    code: str
    mask: BoolArray
    params: dict[str, _Param]


def _variants(*candidates: tuple[str, BoolArray, dict[str, _Param]]) -> list[_Variant]:
    """Variants of one group, the first that applies winning (masks made disjoint)."""
    out = []
    taken: BoolArray | None = None
    for code, mask, params in candidates:
        own = mask if taken is None else mask & ~taken
        out.append(_Variant(code, own, params))
        taken = own if taken is None else taken | own
    return out


def _columns(frame: pd.DataFrame, p_alive: FloatArray, p_buy: FloatArray) -> dict[str, FloatArray]:
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
    return cols


def _multiple(c: dict[str, FloatArray]) -> tuple[BoolArray, FloatArray]:
    """Customers with a usual interval, and their recency as a multiple of it."""
    has = np.isfinite(c["interval"]) & (c["interval"] > 0)
    return has, np.divide(c["recency"], c["interval"], out=np.zeros_like(c["recency"]), where=has)


def _learned_groups(c: dict[str, FloatArray], cfg: AnalyticsSettings) -> dict[str, list[_Variant]]:
    """The codes each feature group stands for, with the customers they apply to.

    Each code is emitted only when the customer's own values say what the words say: a model
    may weigh "17 orders" up next to a correlated feature, but "only 17 orders" is no reason a
    person would accept. A customer outside every mask of a group gets no reason from it.
    """
    has_interval, multiple = _multiple(c)
    spend_drop = (c["previous_spend"] > 0) & (c["recent_spend"] < c["previous_spend"])
    pct = 100 * (
        1
        - np.divide(
            np.maximum(c["recent_spend"], 0.0),
            c["previous_spend"],
            out=np.zeros_like(c["recent_spend"]),
            where=spend_drop,
        )
    )
    nps = c["nps"]
    return {
        "overdue": _variants(
            ("overdue", has_interval & (multiple >= 1), {"multiple": (multiple, 1)}),
            ("no_repeat", ~has_interval & (c["recency"] > 0), {"days": (c["recency"], None)}),
        ),
        "model": _variants(
            ("p_alive_low", c["p_alive"] < cfg.risk_p_alive_medium, {"p": (c["p_alive"], 2)}),
            ("p_buy_low", c["p_buy"] < 0.5, {"p": (c["p_buy"], 2)}),
        ),
        "few_purchases": _variants(
            ("few_purchases", c["orders"] <= 2, {"count": (c["orders"], None)})
        ),
        "tenure": _variants(
            ("tenure", ~(c["tenure"] > cfg.new_window_days), {"days": (c["tenure"], None)})
        ),
        "low_spend": _variants(
            ("low_spend", ~(c["spend"] >= c["spend_median"]), {"amount": (c["spend"], 2)})
        ),
        "trend": _variants(
            ("spend_drop", spend_drop, {"pct": (pct, 0)}),
            (
                "orders_down",
                c["recent_orders"] < c["previous_orders"],
                {
                    "recent": (c["recent_orders"], None),
                    "previous": (c["previous_orders"], None),
                },
            ),
        ),
        "refunds": _variants(("refunds", c["refunds"] > 0, {"count": (c["refunds"], None)})),
        "open_complaint": _variants(
            (
                "open_complaint",
                c["open_complaints"] > 0,
                {
                    "count": (c["open_complaints"], None),
                    "days": (np.maximum(c["open_complaint_days"], 0.0), None),
                },
            )
        ),
        "recent_complaint": _variants(
            (
                "recent_complaint",
                c["recent_complaints"] > 0,
                {"count": (c["recent_complaints"], None)},
            )
        ),
        "nps": _variants(
            ("nps", np.isfinite(nps) & (nps < cfg.nps_promoter_min), {"score": (nps, None)})
        ),
        "no_contact": _variants(
            (
                "no_contact",
                ~(c["interactions"] > 0),
                {"days": (np.full(len(nps), float(cfg.interaction_window_days)), None)},
            )
        ),
        "followups": _variants(
            (
                "followup_overdue",
                c["overdue_followups"] > 0,
                {"count": (c["overdue_followups"], None)},
            ),
            ("followup_lost", c["followups_lost"] > 0, {"count": (c["followups_lost"], None)}),
        ),
        # who the customer is and what they buy: no action a person could take
        "profile": [],
        "mix": [],
    }


def _rule_groups(c: dict[str, FloatArray], cfg: AnalyticsSettings) -> dict[str, list[_Variant]]:
    """Reasons of the BG/NBD fallback (no classifier, so no contributions): fixed rules, in
    this order."""
    learned = _learned_groups(c, cfg)
    has_interval, multiple = _multiple(c)
    prev, recent = c["previous_spend"], c["recent_spend"]
    drop = (prev > 0) & (recent > 0) & (recent < cfg.risk_spend_drop * prev)
    nps = c["nps"]
    return {
        "overdue": _variants(
            (
                "overdue",
                learned["overdue"][0].mask & (multiple >= cfg.risk_interval_multiple),
                {"multiple": (multiple, 1)},
            ),
            (
                "no_repeat",
                ~has_interval & (c["recency"] > cfg.silent_after_days),
                {"days": (c["recency"], None)},
            ),
        ),
        "model": learned["model"],
        "trend": [_Variant(v.code, v.mask & drop, v.params) for v in learned["trend"]],
        "open_complaint": learned["open_complaint"],
        "nps": _variants(
            ("nps", np.isfinite(nps) & (nps <= cfg.nps_detractor_max), {"score": (nps, None)})
        ),
    }


def _texts(variants: list[_Variant], rows: npt.NDArray[np.intp]) -> npt.NDArray[np.object_]:
    """The reason text of one group for the customers ``rows`` (each in one variant's mask)."""
    out = np.full(len(rows), "", dtype=object)
    for v in variants:
        inside = v.mask[rows]
        if not inside.any():
            continue
        chosen = rows[inside]
        parts = []
        for name, (values, digits) in v.params.items():
            picked = values[chosen].tolist()
            shown = picked if digits is None else [round(x, digits or None) for x in picked]
            parts.append([f"{name}={_fmt(x)}" for x in shown])
        if parts:
            out[inside] = [f"{v.code}({', '.join(p)})" for p in zip(*parts, strict=True)]
        else:
            out[inside] = v.code
    return out


def _reason_texts(
    groups: dict[str, list[_Variant]],
    order: npt.NDArray[np.intp],
    eligible: BoolArray,
    max_reasons: int,
) -> list[str]:
    """The ``risk_reasons`` text of every customer: the first ``max_reasons`` groups in each
    row of ``order`` (indices into ``groups``) that are ``eligible`` there and apply."""
    names = list(groups)
    n = order.shape[0]
    applies = np.zeros((n, len(names)), dtype=bool)
    for j, name in enumerate(names):
        for v in groups[name]:
            applies[:, j] |= v.mask
    valid = eligible & np.take_along_axis(applies, order, axis=1)
    rank = np.cumsum(valid, axis=1)
    result = np.full(n, "", dtype=object)
    every = np.arange(n)
    for slot in range(1, max_reasons + 1):
        at = valid & (rank == slot)
        has = at.any(axis=1)
        if not has.any():
            break
        group = np.where(has, order[every, at.argmax(axis=1)], -1)
        texts = np.full(n, "", dtype=object)
        for j, name in enumerate(names):
            rows = np.flatnonzero(group == j)
            if rows.size:
                texts[rows] = _texts(groups[name], rows)
        joined = np.where(result == "", texts, result + "; " + texts)
        result = np.where(has, joined, result)
    return list(result.tolist())


def _learned_reasons(
    cols: dict[str, FloatArray], contributions: FloatArray, cfg: AnalyticsSettings
) -> list[str]:
    """The groups that pushed each customer's probability up the most, largest first, that
    apply to the customer."""
    from retain.analytics._churn import CHURN_FEATURES, FEATURE_GROUP

    groups = _learned_groups(cols, cfg)
    names = list(groups)
    missing = set(FEATURE_GROUP.values()) - set(names)
    if missing:
        raise ValueError(f"unknown feature groups {sorted(missing)}")
    index = {g: i for i, g in enumerate(names)}
    member = np.zeros((len(CHURN_FEATURES), len(names)))
    for j, name in enumerate(CHURN_FEATURES):
        member[j, index[FEATURE_GROUP[name]]] = 1.0
    by_group = contributions @ member
    # the groups of each customer by contribution, largest first, sorted once for all rows
    order = np.argsort(-by_group, axis=1, kind="stable")
    positive = np.take_along_axis(by_group, order, axis=1) > 0
    return _reason_texts(groups, order, positive, cfg.risk_max_reasons)


def _rule_reasons(cols: dict[str, FloatArray], cfg: AnalyticsSettings) -> list[str]:
    groups = _rule_groups(cols, cfg)
    n = len(cols["recency"])
    order = np.tile(np.arange(len(groups)), (n, 1))
    return _reason_texts(groups, order, np.ones(order.shape, dtype=bool), cfg.risk_max_reasons)


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
    cols = _columns(buyers, p_alive, p_buy)
    if churn is not None and churn.classifier is not None:
        X = features.to_numpy(dtype=np.float64)
        probability = churn.classifier.predict_proba(X)[:, 1]
        reasons = _learned_reasons(cols, churn.classifier.contributions(X), cfg)
        kind = churn.kind
    else:
        probability = 1.0 - p_buy
        reasons = _rule_reasons(cols, cfg)
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
            "risk_reasons": reasons,
        },
        index=buyers.index,
    )
