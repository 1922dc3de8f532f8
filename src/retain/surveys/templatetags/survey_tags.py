"""The survey results on the board: response rate, NPS and CSAT by lifecycle stage and by
month, against the NPS target (figures from ``retain.kpis.figures.survey_figures``, cached
until a write they read)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from retain.accounts.access import can

register = template.Library()


@register.inclusion_tag("surveys/_board.html", takes_context=True)
def survey_board(context: dict[str, Any]) -> dict[str, object]:
    from retain.kpis.figures import survey_figures_cached

    user = context["request"].user
    if not can(user, "surveys.view_surveyresponse"):
        return {"show": False}
    return {"show": True, "f": survey_figures_cached(as_of=timezone.localdate(), user=user)}
