"""What the service desk reads: the inbox with each complaint's deadlines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from retain.accounts.access import visible_to
from retain.complaints.models import Complaint, ComplaintStatus

INBOX_VIEWS = ("open", "mine", "unassigned", "overdue", "closed")


@dataclass(frozen=True)
class Deadlines:
    """When the first response and the resolution are due, and how they stand at ``now``."""

    first_response_due: dt.datetime
    resolution_due: dt.datetime
    first_response_late: bool
    resolution_late: bool
    #: the clock that still runs: first response until answered, then resolution; None when
    #: resolved or closed
    running: dt.datetime | None
    escalated: bool
    resolution_escalated: bool
    #: minutes until ``running`` (negative when past), None when no clock runs
    minutes_left: int | None

    @property
    def overdue_minutes(self) -> int:
        return -self.minutes_left if self.minutes_left is not None else 0


def complaint_deadlines(complaint: Complaint, *, now: dt.datetime) -> Deadlines:
    from retain.complaints.deadlines import complaint_deadline, complaint_resolution_deadline

    first = complaint_deadline(complaint)
    resolve = complaint_resolution_deadline(complaint)
    answered = complaint.first_response_at
    resolved = complaint.resolved_at
    running: dt.datetime | None = None
    if complaint.status in (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS):
        running = first if answered is None else resolve
    return Deadlines(
        first_response_due=first,
        resolution_due=resolve,
        first_response_late=(answered or now) > first,
        resolution_late=(resolved or now) > resolve,
        running=running,
        escalated=hasattr(complaint, "escalation"),
        resolution_escalated=complaint.resolution_escalated_at is not None,
        minutes_left=int((running - now).total_seconds() // 60) if running else None,
    )


def complaint_inbox(*, user: Any, view: str = "open", now: dt.datetime) -> QuerySet[Complaint]:
    """The complaints and inquiries ``user`` may see, for one view of the inbox."""
    from retain.complaints.deadlines import first_response_minutes

    qs = visible_to(user, Complaint.objects.all()).select_related("customer", "owner", "escalation")
    open_states = [ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS]
    if view == "closed":
        return qs.filter(status__in=[ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED]).order_by(
            "-opened_at"
        )
    qs = qs.filter(status__in=open_states)
    if view == "mine":
        qs = qs.filter(owner=user)
    elif view == "unassigned":
        qs = qs.filter(owner__isnull=True)
    elif view == "overdue":
        from django.db.models import Q

        late = Q()  # first response overdue
        for severity, minutes in first_response_minutes().items():
            late |= Q(severity=severity, opened_at__lt=now - dt.timedelta(minutes=minutes))
        qs = qs.filter(late, first_response_at__isnull=True)
    return qs.order_by("opened_at")
