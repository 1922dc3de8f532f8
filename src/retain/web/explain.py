"""Scores in plain words: the engine's risk reasons translated, and why a customer sits in
its quadrant and lifecycle stage (the customer page and the at-risk list)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from retain.analytics import AnalyticsSettings
from retain.scoring.models import CustomerScore
from retain.scoring.reasons import reason_text, risk_reasons

__all__ = ["Explanation", "reason_text", "risk_reasons", "score_explain"]


@dataclass(frozen=True)
class Explanation:
    quadrant: str
    lifecycle: str
    risk: list[str]
    value: str
    activity: str


def score_explain(
    *, score: CustomerScore, settings: AnalyticsSettings | None = None
) -> Explanation:
    """Why this customer is core / potential / basic / watch, new / returning / silent ..."""
    cfg = settings or AnalyticsSettings()
    # the figures the engine computed and stored with the score: never recomputed here
    value_spend = score.value_spend
    activity_orders = score.activity_orders
    days = score.recency_days
    high_value = score.value_tier == "high"
    value = (
        _(
            "spent ¥%(spend)s in the last %(window)s days, among the top %(share)s%% of "
            "customers (high value)"
        )
        if high_value
        else _(
            "spent ¥%(spend)s in the last %(window)s days, below the top %(share)s%% of "
            "customers (not high value)"
        )
    ) % {
        "spend": f"{value_spend:,.0f}",
        "window": cfg.value_window_days,
        "share": round(cfg.high_value_share * 100),
    }
    if score.activity_level == "high":
        activity = _(
            "%(orders)s orders in the last %(window)s days and the last purchase %(days)s days "
            "ago (active: at least %(min)s orders or a purchase within %(recent)s days)"
        )
    else:
        activity = _(
            "%(orders)s orders in the last %(window)s days and the last purchase %(days)s days "
            "ago (quiet: fewer than %(min)s orders and no purchase within %(recent)s days)"
        )
    activity = activity % {
        "orders": activity_orders,
        "window": cfg.activity_window_days,
        "days": "—" if days is None else days,
        "min": cfg.active_min_orders,
        "recent": cfg.active_max_recency_days,
    }
    quadrant = {
        "core": _(
            "Core: high value and active. Keep them close: a call every month, a visit "
            "every quarter."
        ),
        "potential": _(
            "Potential: bought a lot, but quiet lately. Re-activate them before they drift away."
        ),
        "basic": _("Basic: small but loyal. Raise the basket size."),
        "watch": _("Watch: small and quiet. Judge whether they are worth keeping."),
    }.get(score.quadrant, _("Not in the matrix: this customer has not bought yet."))
    lifecycle = {
        "prospect": _("Prospect: has never bought."),
        "new": _("New: first purchase in the last %(days)s days.") % {"days": cfg.new_window_days},
        "returning": _(
            "Returning: first purchase more than %(new)s days ago, a purchase in the last "
            "%(days)s days."
        )
        % {"new": cfg.new_window_days, "days": cfg.silent_after_days},
        "silent": _("Silent: no purchase for more than %(days)s days.")
        % {"days": cfg.silent_after_days},
        "churned": _("Churned: no purchase for more than %(days)s days.")
        % {"days": cfg.churned_after_days},
    }.get(score.lifecycle_stage, score.lifecycle_stage)
    return Explanation(
        quadrant=quadrant,
        lifecycle=lifecycle,
        risk=risk_reasons(score.reason_codes or score.risk_reasons),
        value=value,
        activity=activity,
    )
