"""Scores in plain words: the engine's risk reasons translated, and why a customer sits in
its quadrant and lifecycle stage (the customer page and the at-risk list)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.analytics import AnalyticsSettings
from retain.orders.models import Order, OrderStatus
from retain.scoring.models import CustomerScore

_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^churned: no purchase for (\d+) days$"), "churned"),
    (re.compile(r"^silent: no purchase for (\d+) days$"), "silent"),
    (re.compile(r"^no purchase for (\d+)x the usual interval$"), "overdue"),
    (re.compile(r"^low probability of being active \((\d+)%\)$"), "p_alive"),
    (re.compile(r"^spend down (\d+)% on the previous period$"), "spend_drop"),
    (re.compile(r"^unresolved complaint$"), "complaint"),
    (re.compile(r"^NPS detractor$"), "detractor"),
]


def _reason_text(kind: str, number: str) -> str:
    if kind == "churned":
        return _("churned: no purchase for %(days)s days") % {"days": number}
    if kind == "silent":
        return _("silent: no purchase for %(days)s days") % {"days": number}
    if kind == "overdue":
        return _("no purchase for %(times)s times the usual interval") % {"times": number}
    if kind == "p_alive":
        return _("low probability of still being a customer (%(pct)s%%)") % {"pct": number}
    if kind == "spend_drop":
        return _("spend down %(pct)s%% on the previous period") % {"pct": number}
    if kind == "complaint":
        return _("an unresolved complaint")
    return _("gave a low NPS score (detractor)")


def risk_reasons(text: str) -> list[str]:
    """The engine's reasons ("a; b") in the user's language, one item per reason."""
    out = []
    for part in (p.strip() for p in (text or "").split(";")):
        if not part:
            continue
        for pattern, kind in _REASONS:
            match = pattern.match(part)
            if match:
                out.append(_reason_text(kind, match.group(1) if match.groups() else ""))
                break
        else:
            out.append(part)
    return out


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
    as_of = score.as_of
    end = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min))
    paid = Order.objects.filter(customer_id=score.customer_id, status=OrderStatus.PAID)
    value_spend = paid.filter(
        ordered_at__gte=end - dt.timedelta(days=cfg.value_window_days), ordered_at__lt=end
    ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    activity_orders = paid.filter(
        ordered_at__gte=end - dt.timedelta(days=cfg.activity_window_days), ordered_at__lt=end
    ).aggregate(n=Count("id"))["n"]
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
        risk=risk_reasons(score.risk_reasons),
        value=value,
        activity=activity,
    )
