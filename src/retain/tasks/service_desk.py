"""Complaint response deadlines and detractor follow-up (PRODUCT.md sections 8 and 10)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.models import Role, User
from retain.complaints.models import Complaint, ComplaintStatus
from retain.conf import (
    DEFAULT_COMPLAINT_FIRST_RESPONSE,
    DEFAULT_COMPLAINT_RESOLUTION,
    per_severity,
)
from retain.customers.models import Customer
from retain.feedback.models import Survey, SurveyResponse
from retain.tasks.models import ComplaintEscalation, Task
from retain.tasks.services import notification_send, service_task_open

DETRACTOR_MAX = 6


def first_response_minutes() -> dict[str, int]:
    """Minutes to the first response per severity (setting RETAIN_COMPLAINT_FIRST_RESPONSE)."""
    defaults = per_severity("", "", DEFAULT_COMPLAINT_FIRST_RESPONSE)
    return {**defaults, **settings.RETAIN_COMPLAINT_FIRST_RESPONSE}


def complaint_deadline(complaint: Complaint) -> dt.datetime:
    return complaint.opened_at + dt.timedelta(minutes=first_response_minutes()[complaint.severity])


def resolution_hours() -> dict[str, int]:
    """Hours to resolution per severity (setting RETAIN_COMPLAINT_RESOLUTION)."""
    defaults = per_severity("", "", DEFAULT_COMPLAINT_RESOLUTION)
    return {**defaults, **settings.RETAIN_COMPLAINT_RESOLUTION}


def complaint_resolution_deadline(complaint: Complaint) -> dt.datetime:
    """Resolution deadline by severity, counted from the last reopening (else from opening)."""
    start = complaint.reopened_at or complaint.opened_at
    return start + dt.timedelta(hours=resolution_hours()[complaint.severity])


@dataclass
class EscalationResult:
    escalated: int = 0
    #: complaints escalated because their resolution deadline passed
    resolution_escalated: int = 0


@transaction.atomic
def complaint_deadlines_check(*, now: dt.datetime) -> EscalationResult:
    """Escalate to the managers every open complaint whose first response is overdue."""
    overdue = Q()
    for severity, minutes in first_response_minutes().items():
        overdue |= Q(severity=severity, opened_at__lt=now - dt.timedelta(minutes=minutes))
    complaints = list(
        Complaint.objects.select_for_update(of=("self",))
        .filter(
            overdue,
            status__in=[ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS],
            first_response_at__isnull=True,
            escalation__isnull=True,
        )
        .select_related("customer", "owner", "owner__team__lead")
        .order_by("opened_at")
    )
    resolution = _resolution_escalate(now=now)
    if not complaints:
        return EscalationResult(resolution_escalated=resolution)
    ComplaintEscalation.objects.bulk_create(
        [
            ComplaintEscalation(complaint=c, deadline=complaint_deadline(c), escalated_at=now)
            for c in complaints
        ]
    )
    from retain.complaints.models import ComplaintEvent, ComplaintEventKind

    ComplaintEvent.objects.bulk_create(
        [
            ComplaintEvent(
                complaint=c,
                kind=ComplaintEventKind.ESCALATED,
                at=now,
                text=_("No first response by %(deadline)s")
                % {"deadline": timezone.localtime(complaint_deadline(c)).strftime("%H:%M")},
            )
            for c in complaints
        ]
    )
    managers = list(User.objects.filter(role=Role.MANAGER, is_active=True).order_by("id"))
    for c in complaints:
        to = _escalation_recipients(c, managers)
        if not to:
            continue
        late = int((now - complaint_deadline(c)).total_seconds() // 60)
        text = _(
            "Complaint of %(customer)s (%(severity)s) has had no first response; "
            "the deadline passed %(late)d minutes ago"
        ) % {"customer": c.customer.name, "severity": c.get_severity_display(), "late": late}
        notification_send(
            users=to,
            text=text,
            url=reverse("complaint-detail", args=[c.pk]),
            now=now,
            email_subject=_("Escalation: complaint without first response"),
            email_body=f"{text}\n\n{c.category}: {c.description}",
        )
    return EscalationResult(escalated=len(complaints), resolution_escalated=resolution)


def _escalation_recipients(complaint: Complaint, managers: list[User]) -> list[User]:
    to = list(managers)
    lead = complaint.owner.team.lead if complaint.owner and complaint.owner.team else None
    if lead is not None and lead not in to:
        to.append(lead)
    return to


def _resolution_escalate(*, now: dt.datetime) -> int:
    """Tell the managers (once) of every open complaint past its resolution deadline."""
    from retain.complaints.models import ComplaintEvent, ComplaintEventKind

    late = Q()
    for severity, hours in resolution_hours().items():
        late |= Q(severity=severity, clock_from__lt=now - dt.timedelta(hours=hours))
    complaints = list(
        Complaint.objects.select_for_update(of=("self",))
        .annotate(clock_from=Coalesce("reopened_at", "opened_at"))
        .filter(
            late,
            status__in=[ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS],
            resolution_escalated_at__isnull=True,
        )
        .select_related("customer", "owner", "owner__team__lead")
        .order_by("opened_at")
    )
    if not complaints:
        return 0
    Complaint.objects.filter(pk__in=[c.pk for c in complaints]).update(resolution_escalated_at=now)
    ComplaintEvent.objects.bulk_create(
        [
            ComplaintEvent(
                complaint=c,
                kind=ComplaintEventKind.ESCALATED,
                at=now,
                text=_("Not resolved by %(deadline)s")
                % {
                    "deadline": timezone.localtime(complaint_resolution_deadline(c)).strftime(
                        "%m-%d %H:%M"
                    )
                },
            )
            for c in complaints
        ]
    )
    managers = list(User.objects.filter(role=Role.MANAGER, is_active=True).order_by("id"))
    for c in complaints:
        to = _escalation_recipients(c, managers)
        if not to:
            continue
        text = _("Complaint of %(customer)s (%(severity)s) is not resolved by its deadline") % {
            "customer": c.customer.name,
            "severity": c.get_severity_display(),
        }
        notification_send(
            users=to,
            text=text,
            url=reverse("complaint-detail", args=[c.pk]),
            now=now,
            email_subject=_("Escalation: complaint not resolved in time"),
            email_body=f"{text}\n\n{c.category}: {c.description}",
        )
    return len(complaints)


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
    detractor_task_open(response=response, now=now)
    return response


def detractor_task_open(*, response: SurveyResponse, now: dt.datetime) -> Task | None:
    """A service task to call back a detractor (NPS 0-6), once per answer."""
    if response.nps is None or response.nps > DETRACTOR_MAX:
        return None
    return service_task_open(
        customer=response.customer,
        key=f"survey:{response.pk}",
        title=_("Call back a detractor: %(name)s") % {"name": response.customer.name},
        reason=_("Answered %(nps)d to 'would you recommend us' in %(survey)s. %(comment)s")
        % {"nps": response.nps, "survey": response.survey.name, "comment": response.comment},
        due_on=timezone.localdate(now),
        now=now,
    )


@dataclass
class DetractorResult:
    created: int = 0


#: Detractor answers this many days old or newer get a service task from the daily job.
DETRACTOR_LOOKBACK_DAYS = 7


@transaction.atomic
def detractor_tasks_create(*, as_of: dt.date, now: dt.datetime) -> DetractorResult:
    """A service task for every recent detractor answer that has none yet, however it was
    recorded (imports write answers in bulk, without ``survey_response_record``)."""
    since = as_of - dt.timedelta(days=DETRACTOR_LOOKBACK_DAYS)
    answers = list(
        SurveyResponse.objects.filter(
            nps__lte=DETRACTOR_MAX,
            answered_at__date__gt=since,
            answered_at__date__lte=as_of,
        )
        .select_related("customer", "survey")
        .order_by("id")
    )
    keys = [f"survey:{a.pk}" for a in answers]
    done = set(Task.objects.filter(key__in=keys).values_list("key", flat=True))
    result = DetractorResult()
    for answer in answers:
        if f"survey:{answer.pk}" in done or answer.nps is None:
            continue
        task = service_task_open(
            customer=answer.customer,
            key=f"survey:{answer.pk}",
            title=_("Call back a detractor: %(name)s") % {"name": answer.customer.name},
            reason=_("Answered %(nps)d to 'would you recommend us' in %(survey)s. %(comment)s")
            % {"nps": answer.nps, "survey": answer.survey.name, "comment": answer.comment},
            due_on=as_of,
            now=now,
        )
        result.created += task is not None
    return result
