"""Complaint deadlines and escalation (PRODUCT.md section 8): the first-response and resolution
clocks per severity, and the daily check that tells the managers (and the owner's team lead)
once of every open complaint past a deadline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.models import Role, User
from retain.complaints.models import (
    Complaint,
    ComplaintEscalation,
    ComplaintEvent,
    ComplaintEventKind,
    ComplaintStatus,
)
from retain.conf import DEFAULT_COMPLAINT_FIRST_RESPONSE, DEFAULT_COMPLAINT_RESOLUTION, per_severity
from retain.tasks.services import notification_send


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
    _escalate(
        complaints,
        now=now,
        event_text=lambda c: (
            _("No first response by %(deadline)s")
            % {"deadline": timezone.localtime(complaint_deadline(c)).strftime("%H:%M")}
        ),
        text=lambda c: (
            _(
                "Complaint of %(customer)s (%(severity)s) has had no first response; "
                "the deadline passed %(late)d minutes ago"
            )
            % {
                "customer": c.customer.name,
                "severity": c.get_severity_display(),
                "late": int((now - complaint_deadline(c)).total_seconds() // 60),
            }
        ),
        email_subject=_("Escalation: complaint without first response"),
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
    _escalate(
        complaints,
        now=now,
        event_text=lambda c: (
            _("Not resolved by %(deadline)s")
            % {
                "deadline": timezone.localtime(complaint_resolution_deadline(c)).strftime(
                    "%m-%d %H:%M"
                )
            }
        ),
        text=lambda c: (
            _("Complaint of %(customer)s (%(severity)s) is not resolved by its deadline")
            % {"customer": c.customer.name, "severity": c.get_severity_display()}
        ),
        email_subject=_("Escalation: complaint not resolved in time"),
    )
    return len(complaints)


def _escalate(
    complaints: Sequence[Complaint],
    *,
    now: dt.datetime,
    event_text: Callable[[Complaint], str],
    text: Callable[[Complaint], str],
    email_subject: str,
) -> None:
    """An "escalated" event on each complaint's timeline, and a notification (in the app and by
    e-mail) to the managers and the owner's team lead."""
    ComplaintEvent.objects.bulk_create(
        [
            ComplaintEvent(
                complaint=c, kind=ComplaintEventKind.ESCALATED, at=now, text=event_text(c)
            )
            for c in complaints
        ]
    )
    managers = list(User.objects.filter(role=Role.MANAGER, is_active=True).order_by("id"))
    for c in complaints:
        to = _escalation_recipients(c, managers)
        if not to:
            continue
        message = text(c)
        notification_send(
            users=to,
            text=message,
            url=reverse("complaint-detail", args=[c.pk]),
            now=now,
            email_subject=email_subject,
            email_body=f"{message}\n\n{c.category}: {c.description}",
        )
