"""Measured retention plans: the figures per arm."""

from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router

from retain.accounts.access import customers_visible_to, plan_review_may_view, require
from retain.api import schemas as s
from retain.api.v1.common import Id, user_of
from retain.playbooks.models import Playbook
from retain.playbooks.results import plan_results, plan_results_data
from retain.playbooks.review import (
    ACTIVATION_DAYS,
    month_parse,
    plan_cases,
    plans_of_month,
    potential_activation,
)

router = Router(tags=["playbooks"])

Month = Annotated[str, Query("", pattern=r"^(\d{4}-\d{2})?$", description="YYYY-MM")]


@router.get("/review", response={200: s.PlanReviewOut, **s.ERRORS})
def playbooks_review(
    request: HttpRequest,
    month: Month,
    days: Annotated[int, Query(ACTIVATION_DAYS, ge=1, le=365)],
) -> Any:
    """The monthly review (default: this month): every plan's arms over the customers who
    entered it in the month, the potential-customer activation rate (potential customers of
    the month with a paid purchase within ``days`` days), and the cases of success and
    failure recorded, over the customers you may see."""
    user = user_of(request)
    if not plan_review_may_view(user):
        raise PermissionDenied("playbooks.view_playbook")
    now = timezone.now()
    when = month_parse(month, default=timezone.localdate(now))
    visible = customers_visible_to(user)
    activation = potential_activation(month=when, now=now, days=days, customers=visible)
    return {
        "month": f"{when:%Y-%m}",
        "plans": [
            plan_results_data(m) for m in plans_of_month(month=when, now=now, customers=visible)
        ],
        "activation": {
            "days": activation.days,
            "potential": activation.potential,
            "activated": activation.activated,
            "window_open": activation.window_open,
            "rate": activation.rate,
        },
        "cases": [
            {
                "id": c.pk,
                "playbook": c.playbook_id,
                "playbook_name": c.playbook.name,
                "customer": c.customer.code if c.customer else None,
                "outcome": c.outcome,
                "note": c.note,
                "author": c.author.username if c.author else None,
                "created_at": c.created_at,
            }
            for c in plan_cases(month=when, user=user)
        ],
    }


@router.get("/{playbook_id}/results", response={200: s.PlanResultsOut, **s.ERRORS})
def playbooks_results(request: HttpRequest, playbook_id: Id) -> Any:
    """A measured plan's figures per arm (control group first), over the customers you may
    see: outcomes after entry, each arm's difference from the control with its 95% interval
    and the verdict (see docs/operations.md, "Measured plans")."""
    user = user_of(request)
    require(user, "playbooks.view_playbook")
    playbook = get_object_or_404(Playbook, pk=playbook_id)
    measured = plan_results(
        playbook=playbook, now=timezone.now(), customers=customers_visible_to(user)
    )
    return plan_results_data(measured)
