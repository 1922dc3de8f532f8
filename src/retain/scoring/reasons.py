"""The engine's churn reason codes in the user's language (pages, tasks, e-mails, API)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from retain.analytics import parse_reasons

__all__ = ["reason_text", "risk_reasons"]


def _n(value: float) -> str:
    return f"{value:g}" if not float(value).is_integer() else str(int(value))


def reason_text(code: str, params: dict[str, float]) -> str:
    """One engine reason code (``retain.analytics.REASON_CODES``) in the user's language."""
    p = {k: _n(float(v)) for k, v in params.items()}
    if code == "overdue":
        return _("no purchase for %(times)s times the usual interval") % {"times": p["multiple"]}
    if code == "no_repeat":
        return _("bought once, %(days)s days ago, never again") % {"days": p["days"]}
    if code == "p_alive_low":
        pct = _n(round(100 * float(params["p"])))
        return _("low probability of still being a customer (%(pct)s%%)") % {"pct": pct}
    if code == "p_buy_low":
        pct = _n(round(100 * float(params["p"])))
        return _("unlikely to buy again soon (%(pct)s%% chance)") % {"pct": pct}
    if code == "few_purchases":
        return _("only %(count)s order(s) so far") % {"count": p["count"]}
    if code == "tenure":
        return _("a customer for %(days)s days") % {"days": p["days"]}
    if code == "low_spend":
        return _("low total spend (¥%(amount)s)") % {"amount": p["amount"]}
    if code == "spend_drop":
        return _("spend down %(pct)s%% on the previous period") % {"pct": p["pct"]}
    if code == "orders_down":
        return _("%(recent)s order(s) in the last 90 days against %(previous)s before") % {
            "recent": p["recent"],
            "previous": p["previous"],
        }
    if code == "refunds":
        return _("%(count)s refunded order(s)") % {"count": p["count"]}
    if code == "open_complaint":
        return _("%(count)s complaint(s) still open, the oldest after %(days)s days") % {
            "count": p["count"],
            "days": p["days"],
        }
    if code == "recent_complaint":
        return _("%(count)s complaint(s) in the last year") % {"count": p["count"]}
    if code == "nps":
        return _("NPS %(score)s") % {"score": p["score"]}
    if code == "no_contact":
        return _("no follow-up in the last %(days)s days") % {"days": p["days"]}
    if code == "followup_overdue":
        return _("%(count)s follow-up(s) past their due date") % {"count": p["count"]}
    if code == "followup_lost":
        return _("%(count)s win-back attempt(s) ended lost") % {"count": p["count"]}
    return code


def risk_reasons(codes: str | list[dict[str, Any]] | None) -> list[str]:
    """The engine's reason codes in the user's language, one item per reason.

    ``codes`` is what the engine wrote (``"overdue(multiple=3.2); nps(score=4)"``) or what
    the app stored from it (``[{"code": "overdue", "params": {"multiple": 3.2}}, ...]``).
    """
    if isinstance(codes, list):
        return [reason_text(str(c["code"]), dict(c.get("params") or {})) for c in codes]
    out: list[str] = []
    for part in (p.strip() for p in (codes or "").split(";")):
        if not part:
            continue
        try:
            out.extend(reason_text(r.code, r.params) for r in parse_reasons(part))
        except ValueError:  # text stored before reason codes: shown as it is
            out.append(part)
    return out
