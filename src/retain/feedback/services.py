"""Survey answers entered by hand (phone surveys, the satisfaction question after a closed
complaint). Imports write answers in bulk; the daily job catches their detractors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from retain.accounts.access import can, customer_is_visible
from retain.audit.services import audit_event, snapshot
from retain.customers.models import Customer
from retain.feedback.models import Survey, SurveyResponse


@transaction.atomic
def survey_answer_enter(
    *,
    customer: Customer,
    survey: Survey,
    actor: Any,
    nps: int | None = None,
    satisfaction: int | None = None,
    comment: str = "",
    answered_at: dt.datetime | None = None,
    request: Any = None,
    now: dt.datetime | None = None,
) -> SurveyResponse:
    """Record an answer given by phone or in person. Fills the customer's open question of
    that survey if there is one (e.g. asked when a complaint closed), else records a new one.
    A detractor (NPS 0-6) gets a service task. Audited."""
    from retain.tasks.service_desk import detractor_task_open

    if not (can(actor, "feedback.add_surveyresponse") and customer_is_visible(actor, customer)):
        raise PermissionDenied("feedback.add_surveyresponse")
    now = now or timezone.now()
    response = (
        SurveyResponse.objects.select_for_update()
        .filter(customer=customer, survey=survey, answered_at__isnull=True)
        .order_by("-sent_at")
        .first()
    )
    before = snapshot(response) if response is not None else None
    if response is None:
        response = SurveyResponse(customer=customer, survey=survey, sent_at=answered_at or now)
    response.answered_at = answered_at or now
    response.nps = nps
    response.satisfaction = satisfaction
    response.comment = comment.strip()
    response.full_clean()
    response.save()
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=response,
        before=before,
        after=snapshot(response),
        request=request,
    )
    detractor_task_open(response=response, now=now)
    return response
