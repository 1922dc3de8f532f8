"""Survey answers and their follow-up: answers entered by hand (phone surveys, the
satisfaction question after a closed complaint) or recorded by other code, and the service task
that calls back a detractor, once per answer. Imports write answers in bulk and open the
call-back tasks of unhappy answers with ``answers_follow_up_open_bulk`` (the same rule); the
admin, the survey link, the phone entry, imports and the demo generator all call
``answer_follow_up_open``, so no daily catch-up is needed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import can, customer_is_visible
from retain.audit.services import audit_event, snapshot
from retain.customers.models import Customer
from retain.surveys.models import Survey, SurveyResponse
from retain.tasks.models import Task
from retain.tasks.services import service_task_open

DETRACTOR_MAX = 6


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
    A detractor (NPS 0-6) or unhappy answer (satisfaction 1-2) gets a service task. Audited."""
    if not (can(actor, "surveys.add_surveyresponse") and customer_is_visible(actor, customer)):
        raise PermissionDenied("surveys.add_surveyresponse")
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
    answer_follow_up_open(response=response, now=now)
    return response


@transaction.atomic
def survey_response_record(
    *,
    customer: Customer,
    survey: Survey,
    sent_at: dt.datetime,
    answered_at: dt.datetime | None = None,
    nps: int | None = None,
    satisfaction: int | None = None,
    comment: str = "",
    now: dt.datetime | None = None,
) -> SurveyResponse:
    """Record a survey answer; a detractor (NPS 0-6) opens a service task."""
    now = now or timezone.now()
    response = SurveyResponse(
        customer=customer,
        survey=survey,
        sent_at=sent_at,
        answered_at=answered_at,
        nps=nps,
        satisfaction=satisfaction,
        comment=comment,
    )
    response.full_clean()
    response.save()
    answer_follow_up_open(response=response, now=now)
    return response


#: A satisfaction answer up to this (of 1-5) is unhappy and gets a call-back like a detractor.
UNHAPPY_CSAT_MAX = 2


def answer_is_unhappy(response: SurveyResponse) -> bool:
    """A detractor (NPS 0-6) or an unhappy satisfaction answer (1-2)."""
    return (response.nps is not None and response.nps <= DETRACTOR_MAX) or (
        response.satisfaction is not None and response.satisfaction <= UNHAPPY_CSAT_MAX
    )


def answer_follow_up_open(
    *, response: SurveyResponse, now: dt.datetime, due_on: dt.date | None = None
) -> Task | None:
    """A service task to call back a detractor or an unhappy customer, once per answer
    whichever door the answer came through (the task key is the answer's id)."""
    if not answer_is_unhappy(response):
        return None
    if response.nps is not None and response.nps <= DETRACTOR_MAX:
        title = _("Call back a detractor: %(name)s") % {"name": response.customer.name}
        reason = _("Answered %(nps)d to 'would you recommend us' in %(survey)s. %(comment)s") % {
            "nps": response.nps,
            "survey": response.survey.name,
            "comment": response.comment,
        }
    else:
        title = _("Call back an unhappy customer: %(name)s") % {"name": response.customer.name}
        reason = _("Answered %(score)d of 5 for satisfaction in %(survey)s. %(comment)s") % {
            "score": response.satisfaction,
            "survey": response.survey.name,
            "comment": response.comment,
        }
    return service_task_open(
        customer=response.customer,
        key=f"survey:{response.pk}",
        title=title,
        reason=reason,
        due_on=due_on or timezone.localdate(now),
        now=now,
    )


#: The name the callers used before unhappy satisfaction answers were followed up too.
detractor_task_open = answer_follow_up_open


def answers_follow_up_open_bulk(*, responses: Iterable[SurveyResponse], now: dt.datetime) -> int:
    """``answer_follow_up_open`` for many answers written at once (an import): the unhappy
    ones among them (``answer_is_unhappy``) get their call-back task, once per answer, by
    the same rule and the same function; their customers and surveys are read in two
    queries, not one per answer. Returns the tasks opened."""
    unhappy = [r for r in responses if r.pk is not None and answer_is_unhappy(r)]
    if not unhappy:
        return 0
    customers = Customer.objects.in_bulk({r.customer_id for r in unhappy})
    surveys = Survey.objects.in_bulk({r.survey_id for r in unhappy})
    opened = 0
    for response in unhappy:
        response.customer = customers[response.customer_id]
        response.survey = surveys[response.survey_id]
        opened += answer_follow_up_open(response=response, now=now) is not None
    return opened
