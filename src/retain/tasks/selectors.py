from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from retain.accounts.models import User
from retain.tasks.models import Notification, Task, TaskKind, TaskStatus

UPCOMING_DAYS = 14


@dataclass(frozen=True)
class Inbox:
    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]


def _open_tasks(user: User) -> QuerySet[Task]:
    return (
        Task.objects.filter(owner=user, status=TaskStatus.OPEN)
        .select_related("customer", "customer__score", "action", "action__playbook")
        .order_by("due_on", "id")
    )


def task_inbox(*, user: User, today: dt.date) -> Inbox:
    """The signed-in user's open tasks: overdue, due today, due in the next two weeks."""
    tasks = list(_open_tasks(user).filter(due_on__lte=today + dt.timedelta(days=UPCOMING_DAYS)))
    return Inbox(
        overdue=[t for t in tasks if t.due_on < today],
        today=[t for t in tasks if t.due_on == today],
        upcoming=[t for t in tasks if t.due_on > today],
    )


def unread_notifications(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, read_at__isnull=True).order_by("-created_at")


@dataclass(frozen=True)
class ChurnReason:
    outcome: str
    reason: str
    customers: int


def churn_reasons_report(*, since: dt.date | None = None) -> list[ChurnReason]:
    """Outcomes of the win-back tasks and their reasons, most frequent first."""
    qs = Task.objects.filter(kind=TaskKind.WINBACK, status=TaskStatus.DONE)
    if since is not None:
        qs = qs.filter(closed_at__date__gte=since)
    rows = (
        qs.values("outcome", "outcome_reason")
        .annotate(n=Count("id"))
        .order_by("outcome", "-n", "outcome_reason")
    )
    return [ChurnReason(r["outcome"], r["outcome_reason"], r["n"]) for r in rows]
