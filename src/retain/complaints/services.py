"""The service desk's writes: a complaint or inquiry from opening to close.

Every step checks the actor's permission through ``accounts.access``, is audited with the
values before and after, and leaves a ``ComplaintEvent`` that the customer's timeline shows.
Deadlines (first response, resolution) and the escalation job live in
``retain.complaints.deadlines``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import can, customer_is_visible
from retain.audit.services import audit_event, snapshot
from retain.complaints.models import (
    Complaint,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintEventKind,
    ComplaintStatus,
)
from retain.customers.models import Customer

#: The survey a closed complaint's satisfaction question is recorded in.
SATISFACTION_SURVEY = "投诉处理满意度"


#: The channel of a complaint that does not say one (an import file without a channel column).
CHANNEL_UNSAID = ComplaintChannel.PHONE


def _check(actor: Any, permission: str, customer: Customer) -> None:
    if actor is not None and not (can(actor, permission) and customer_is_visible(actor, customer)):
        raise PermissionDenied(permission)


def _event(
    complaint: Complaint, kind: str, actor: Any, at: dt.datetime, text: str = ""
) -> ComplaintEvent:
    return ComplaintEvent.objects.create(
        complaint=complaint,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        at=at,
        text=text,
    )


def complaints_opened(complaints: Sequence[Complaint], *, actor: Any = None) -> None:
    """The "opened" event of complaints just saved, one INSERT for all of them: what
    ``complaint_open`` leaves for one complaint, and the import for a whole batch. (The
    first-response and resolution deadlines follow from ``opened_at`` and ``severity`` by
    ``complaints.deadlines``; nothing else is stored at opening.)"""
    by = actor if getattr(actor, "pk", None) else None
    ComplaintEvent.objects.bulk_create(
        [
            ComplaintEvent(
                complaint=c,
                kind=ComplaintEventKind.OPENED,
                actor=by,
                at=c.opened_at,
                text=c.description,
            )
            for c in complaints
        ]
    )


@transaction.atomic
def complaint_open(
    *,
    customer: Customer,
    actor: Any = None,
    request: Any = None,
    now: dt.datetime | None = None,
    **fields: Any,
) -> Complaint:
    """Record a complaint (or an inquiry, ``kind="inquiry"``) of ``customer``. Audited."""
    _check(actor, "complaints.add_complaint", customer)
    now = now or timezone.now()
    fields.setdefault("opened_at", now)
    complaint = Complaint(customer=customer, **fields)
    complaint.full_clean()
    complaint.save()
    complaints_opened([complaint], actor=actor)
    audit_event(
        actor=actor, action="create", obj=complaint, after=snapshot(complaint), request=request
    )
    return complaint


def _change(
    complaint: Complaint,
    *,
    actor: Any,
    request: Any,
    kind: str,
    at: dt.datetime,
    text: str = "",
    **changes: Any,
) -> Complaint:
    _check(actor, "complaints.change_complaint", complaint.customer)
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    before = snapshot(complaint)
    for name, value in changes.items():
        setattr(complaint, name, value)
    complaint.full_clean()
    complaint.save()
    _event(complaint, kind, actor, at, text)
    audit_event(
        actor=actor,
        action="update",
        obj=complaint,
        before=before,
        after=snapshot(complaint),
        request=request,
    )
    return complaint


def _open_states() -> set[str]:
    return {ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS}


@transaction.atomic
def complaint_assign(
    *,
    complaint: Complaint,
    owner: Any,
    actor: Any,
    request: Any = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Give the complaint to ``owner`` (who handles it from now on)."""
    if owner is not None and not can(owner, "complaints.change_complaint"):
        raise ValidationError({"owner": _("%(user)s may not handle complaints.") % {"user": owner}})
    return _change(
        complaint,
        actor=actor,
        request=request,
        kind=ComplaintEventKind.ASSIGNED,
        at=now or timezone.now(),
        text=str(owner or ""),
        owner=owner,
    )


@transaction.atomic
def complaint_respond(
    *,
    complaint: Complaint,
    text: str,
    actor: Any,
    request: Any = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Answer the customer; the first answer stops the first-response clock."""
    if not text.strip():
        raise ValidationError({"text": _("Write what was answered.")})
    if complaint.status not in _open_states():
        raise ValidationError(_("Reopen the complaint before answering it."))
    now = now or timezone.now()
    changes: dict[str, Any] = {"status": ComplaintStatus.IN_PROGRESS}
    if complaint.first_response_at is None:
        changes["first_response_at"] = now
    if complaint.owner_id is None and getattr(actor, "pk", None):
        changes["owner"] = actor
    return _change(
        complaint,
        actor=actor,
        request=request,
        kind=ComplaintEventKind.RESPONDED,
        at=now,
        text=text.strip(),
        **changes,
    )


@transaction.atomic
def complaint_note(
    *,
    complaint: Complaint,
    text: str,
    actor: Any,
    request: Any = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """An internal note (not an answer to the customer)."""
    if not text.strip():
        raise ValidationError({"text": _("The note is empty.")})
    return _change(
        complaint,
        actor=actor,
        request=request,
        kind=ComplaintEventKind.NOTE,
        at=now or timezone.now(),
        text=text.strip(),
    )


@transaction.atomic
def complaint_resolve(
    *,
    complaint: Complaint,
    resolution: str,
    actor: Any,
    request: Any = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Record how it was solved; the complaint waits for closing."""
    if not resolution.strip():
        raise ValidationError({"resolution": _("Write how the complaint was resolved.")})
    if complaint.status not in _open_states():
        raise ValidationError(_("Only an open complaint can be resolved."))
    now = now or timezone.now()
    return _change(
        complaint,
        actor=actor,
        request=request,
        kind=ComplaintEventKind.RESOLVED,
        at=now,
        text=resolution.strip(),
        status=ComplaintStatus.RESOLVED,
        resolved_at=now,
        resolution=resolution.strip(),
        first_response_at=complaint.first_response_at or now,
    )


@transaction.atomic
def complaint_close(
    *,
    complaint: Complaint,
    actor: Any,
    request: Any = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Close a resolved complaint and ask the customer's satisfaction.

    The question is a ``SurveyResponse`` of the survey 投诉处理满意度, sent now and not yet
    answered; service enters the answer by hand (or an import does)."""
    from retain.surveys.models import Survey, SurveyResponse

    if complaint.status != ComplaintStatus.RESOLVED:
        raise ValidationError(_("Resolve the complaint before closing it."))
    now = now or timezone.now()
    complaint = _change(
        complaint,
        actor=actor,
        request=request,
        kind=ComplaintEventKind.CLOSED,
        at=now,
        status=ComplaintStatus.CLOSED,
        closed_at=now,
    )
    survey, _created = Survey.objects.get_or_create(
        name=SATISFACTION_SURVEY,
        defaults={"description": "How satisfied was the customer with the handling?"},
    )
    SurveyResponse.objects.create(customer=complaint.customer, survey=survey, sent_at=now)
    _event(complaint, ComplaintEventKind.SATISFACTION_ASKED, actor, now, survey.name)
    return complaint


@transaction.atomic
def complaint_reopen(
    *,
    complaint: Complaint,
    reason: str,
    actor: Any,
    request: Any = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """The customer is not satisfied after all: back to in progress, the resolution kept in
    the history. The resolution clock starts afresh (deadline by severity, counted from
    now) and the "resolution escalated" mark is cleared, so it escalates again if late."""
    if complaint.status not in {ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED}:
        raise ValidationError(_("Only a resolved or closed complaint can be reopened."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the complaint is reopened.")})
    now = now or timezone.now()
    return _change(
        complaint,
        actor=actor,
        request=request,
        kind=ComplaintEventKind.REOPENED,
        at=now,
        text=reason.strip(),
        status=ComplaintStatus.IN_PROGRESS,
        resolved_at=None,
        closed_at=None,
        reopened_at=now,
        resolution_escalated_at=None,
    )
