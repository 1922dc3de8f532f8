"""Template filters of the board, customer list and customer page."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext_lazy as _

register = template.Library()

RFM_LABELS = {
    "Champions": _("Champions"),
    "Loyal": _("Loyal"),
    "Potential loyalist": _("Potential loyalist"),
    "New": _("New"),
    "Promising": _("Promising"),
    "Need attention": _("Need attention"),
    "About to sleep": _("About to sleep"),
    "At risk": _("At risk"),
    "Cannot lose": _("Cannot lose"),
    "Hibernating": _("Hibernating"),
    "Lost": _("Lost"),
}


@register.filter
def kpi(value: float | None, unit: str) -> str:
    """A KPI in its unit: 81.2%, ¥7,816, 42.0 (NPS), 1,234 (counts)."""
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "cny":
        return f"¥{intcomma(round(value))}"
    if unit == "count":
        return str(intcomma(round(value)))
    return f"{value:.1f}"


@register.filter
def pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage."""
    if value is None:
        return "—"
    return f"{100.0 * float(value):.{digits}f}%"


@register.filter
def signed(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    text = f"{value:+.1f}" if unit != "cny" else f"{value:+,.0f}"
    if unit == "percent":
        return str(_("%(delta)s points") % {"delta": text})
    return text


@register.filter
def rfm_label(value: str) -> str:
    return str(RFM_LABELS.get(value, value))


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def risk_words(text: str) -> str:
    """The engine's risk reasons in the user's language, joined."""
    from retain.web.explain import risk_reasons

    return "; ".join(risk_reasons(text))


@register.filter
def goal_elapsed(goal_progress: Any, today: Any) -> float:
    return float(goal_progress.elapsed(today))


@register.filter
def target_help(target: Any) -> str:
    from retain.kpis.definitions import KPIS

    definition = KPIS.get(target.kpi)
    return str(definition.help) if definition else ""
