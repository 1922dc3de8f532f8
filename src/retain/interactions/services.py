"""Follow-ups (跟进记录): the one service every door logs them through.

The task inbox, the customer page, the REST API, the admin and imports all call
``followup_log``, so a follow-up is validated the same way and its next-step date becomes a
task whichever door it came through.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import followup_may_log
from retain.audit.models import AuditAction
from retain.audit.services import audit_event, snapshot
from retain.customers.models import Customer
from retain.interactions.models import FollowUp
from retain.tasks.models import Task, TaskKind, TaskStatus


def followup_check(
    *, occurred_at: dt.datetime | None, next_step_on: dt.date | None, now: dt.datetime
) -> None:
    """Raise ValidationError (by field) when the dates of a follow-up cannot be right."""
    errors: dict[str, str] = {}
    if occurred_at is not None and occurred_at > now:
        errors["occurred_at"] = _("The follow-up cannot be in the future.")
    if (
        occurred_at is not None
        and next_step_on is not None
        and next_step_on < timezone.localdate(occurred_at)
    ):
        errors["next_step_on"] = _("The next step cannot be before the follow-up.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def followup_log(
    *,
    customer: Customer,
    actor: Any = None,
    kind: str,
    occurred_at: dt.datetime,
    content: str,
    feedback: str = "",
    outcome: str = "",
    next_step: str = "",
    next_step_on: dt.date | None = None,
    contact: Any = None,
    owner: Any = None,
    task: Task | None = None,
    now: dt.datetime | None = None,
    request: Any = None,
) -> FollowUp:
    """Log a follow-up of ``customer`` and turn its next-step date into a task. Audited.

    The follow-up belongs to ``owner``, else to ``actor``. ``task`` is the task this
    follow-up completes (the task inbox), which lets its owner log on the task's customer.
    A next step with a date opens a follow-up task for the follow-up's owner, due that day,
    or moves the one already open for this customer and owner (``followup_next_step_save``).
    """
    now = now or timezone.now()
    if actor is not None and not followup_may_log(actor, customer, task=task):
        raise PermissionDenied(_("You may not log follow-ups of this customer."))
    followup_check(occurred_at=occurred_at, next_step_on=next_step_on, now=now)
    followup = FollowUp(
        customer=customer,
        contact=contact,
        kind=kind,
        occurred_at=occurred_at,
        content=content,
        feedback=feedback,
        outcome=outcome,
        next_step=next_step,
        next_step_on=next_step_on,
        owner=owner if owner is not None else actor,
        logged_at=now,
    )
    followup.full_clean()
    followup.save()
    audit_event(
        actor=actor,
        action=AuditAction.CREATE,
        obj=followup,
        after=snapshot(followup),
        request=request,
    )
    followup_next_step_save(followups=[followup], now=now, completing=task)
    return followup


def _next_step_fill(follow: Task, i: FollowUp) -> None:
    follow.key = f"followup:{i.pk}"
    follow.title = (i.next_step or _("Next step"))[:200]  # a next step holds up to 300
    follow.reason = _("Next step agreed in the follow-up of %(date)s: %(step)s") % {
        "date": timezone.localdate(i.occurred_at).isoformat(),
        "step": i.next_step or "-",
    }
    follow.due_on = i.next_step_on  # type: ignore[assignment]


def followup_next_step_save(
    *, followups: list[FollowUp], now: dt.datetime, completing: Task | None = None
) -> None:
    """Turn the next-step dates of saved ``followups`` into follow-up tasks, at most one
    open next-step task per customer and owner.

    When the customer already has an open next-step task for the follow-up's owner, the new
    next step moves that task (date, title, why) instead of adding a second one; among
    several follow-ups of one customer and owner, the last one wins. ``completing`` is the
    task the follow-up closes (the task inbox): it is never the one moved.
    ``followup_log`` calls this for one follow-up, imports for a whole batch (one query to
    find the open tasks, one bulk insert and one bulk update)."""
    latest: dict[tuple[int, int | None], FollowUp] = {}
    for i in followups:
        if i.next_step_on is not None:
            latest[(i.customer_id, i.owner_id)] = i
    if not latest:
        return
    open_tasks = Task.objects.filter(
        kind=TaskKind.FOLLOWUP,
        status=TaskStatus.OPEN,
        key__startswith="followup:",
        customer_id__in={c for c, _o in latest},
    ).order_by("id")
    if completing is not None:
        open_tasks = open_tasks.exclude(pk=completing.pk)
    existing: dict[tuple[int, int | None], Task] = {}
    for follow in open_tasks:
        existing.setdefault((follow.customer_id, follow.owner_id), follow)
    moved: list[Task] = []
    new: list[Task] = []
    for pair, i in latest.items():
        follow = existing.get(pair) or Task(
            customer_id=i.customer_id,
            kind=TaskKind.FOLLOWUP,
            owner_id=i.owner_id,
            created_at=now,
        )
        _next_step_fill(follow, i)
        follow.full_clean(validate_constraints=False)
        (moved if follow.pk else new).append(follow)
    if moved:
        Task.objects.bulk_update(moved, ["key", "title", "reason", "due_on"])
    if new:
        Task.objects.bulk_create(new)
