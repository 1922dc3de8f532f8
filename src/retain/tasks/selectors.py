from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

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


def capacity_of(user: User) -> int:
    """Tasks per day of ``user`` (their setting or the default)."""
    from retain.tasks.services import capacities

    return capacities([user.pk])[user.pk]


def tasks_ranked(qs: QuerySet[Task], *, today: dt.date) -> QuerySet[Task]:
    """Open tasks in the order to work them: overdue first, then the value at risk (the
    customer's predicted lifetime value, spend to date when not predicted), the churn risk
    (high first), the due date."""
    return qs.annotate(
        late=Case(When(due_on__lt=today, then=Value(0)), default=Value(1)),
        at_stake=Coalesce(
            "customer__score__predicted_ltv", "customer__score__total_spend", Value(0.0)
        ),
        risk_rank=Case(
            When(customer__score__churn_risk="high", then=Value(0)),
            When(customer__score__churn_risk="medium", then=Value(1)),
            default=Value(2),
        ),
    ).order_by("late", "-at_stake", "risk_rank", "due_on", "id")


#: The "due" filter of the inbox.
DUE_CHOICES = ("overdue", "today", "week", "later")


@dataclass(frozen=True)
class InboxFilters:
    kind: str = ""
    playbook: int | None = None
    segment: str = ""  # the customer's quadrant
    due: str = ""

    @classmethod
    def from_params(cls, params: Any) -> InboxFilters:
        try:
            playbook = int(params.get("playbook") or 0) or None
        except ValueError:
            playbook = None
        due = params.get("due", "")
        return cls(
            kind=params.get("kind", "") if params.get("kind", "") in TaskKind.values else "",
            playbook=playbook,
            segment=params.get("segment", "")[:20],
            due=due if due in DUE_CHOICES else "",
        )

    def apply(self, qs: QuerySet[Task], *, today: dt.date) -> QuerySet[Task]:
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.playbook:
            qs = qs.filter(action__playbook_id=self.playbook)
        if self.segment:
            qs = qs.filter(customer__score__quadrant=self.segment)
        if self.due == "overdue":
            qs = qs.filter(due_on__lt=today)
        elif self.due == "today":
            qs = qs.filter(due_on=today)
        elif self.due == "week":
            qs = qs.filter(due_on__lte=today + dt.timedelta(days=7))
        elif self.due == "later":
            qs = qs.filter(due_on__gt=today)
        return qs

    @property
    def active(self) -> bool:
        return bool(self.kind or self.playbook or self.segment or self.due)


@dataclass(frozen=True)
class DailyList:
    capacity: int
    today: list[Task]  # the day's list: at most ``capacity``, ranked
    beyond: int  # tasks due by today that did not fit
    done_today: int
    later: QuerySet[Task]  # everything else open, ranked (paged by the view)


def daily_list(*, user: User, today: dt.date, filters: InboxFilters | None = None) -> DailyList:
    """ "Whom to contact today and how": the user's open tasks due by today, ranked, as many
    as their daily capacity; the rest (due later, or beyond the capacity) after it."""
    filters = filters or InboxFilters()
    capacity = capacity_of(user)
    base = tasks_ranked(filters.apply(_open_tasks(user), today=today), today=today)
    due = list(base.filter(due_on__lte=today)[: capacity + 1])
    todays = due[:capacity]
    beyond = base.filter(due_on__lte=today).count() - len(todays) if len(due) > capacity else 0
    done_today = Task.objects.filter(
        owner=user, status=TaskStatus.DONE, closed_at__date=today
    ).count()
    return DailyList(
        capacity=capacity,
        today=todays,
        beyond=beyond,
        done_today=done_today,
        later=base.exclude(pk__in=[t.pk for t in todays]),
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


#: A follow-up logged more than this after it happened is late (PRODUCT.md section 1).
LATE_LOG_WINDOW_DAYS = 30


@dataclass(frozen=True)
class RepLoad:
    user: User
    capacity: int
    open: int
    overdue: int
    done_this_week: int
    logged_late: int  # follow-ups of the last 30 days logged more than 24 h after they happened
    out_of_cadence: int  # customers of a playbook not contacted within its cadence
    customers: int


def team_overview(*, user: User, today: dt.date, now: dt.datetime) -> list[RepLoad]:
    """Per person ``user`` oversees: open, overdue and done-this-week tasks, late logging,
    customers out of their playbook's cadence. A few grouped queries per page, none per
    person."""
    from django.db.models import DurationField, ExpressionWrapper, F, Max, OuterRef, Subquery

    from retain.accounts.access import users_overseen_by
    from retain.customers.models import Customer
    from retain.interactions.models import LOGGING_DEADLINE, FollowUp
    from retain.playbooks.models import Playbook
    from retain.playbooks.selectors import segment_members
    from retain.tasks.services import capacities

    people = list(users_overseen_by(user))
    ids = [p.pk for p in people]
    monday = today - dt.timedelta(days=today.weekday())

    def by_owner(qs: QuerySet[Any], field: str = "owner_id") -> dict[int, int]:
        return dict(qs.order_by().values_list(field).annotate(n=Count("id")))

    open_ = Task.objects.filter(owner_id__in=ids, status=TaskStatus.OPEN)
    done = Task.objects.filter(
        owner_id__in=ids, status=TaskStatus.DONE, closed_at__date__gte=monday
    )
    late = (
        FollowUp.objects.filter(
            owner_id__in=ids, occurred_at__gte=now - dt.timedelta(days=LATE_LOG_WINDOW_DAYS)
        )
        .annotate(
            delay=ExpressionWrapper(F("logged_at") - F("occurred_at"), output_field=DurationField())
        )
        .filter(delay__gt=LOGGING_DEADLINE)
    )
    last_contact = (
        FollowUp.objects.filter(customer_id=OuterRef("pk"))
        .order_by()
        .values("customer_id")
        .annotate(last=Max("occurred_at"))
        .values("last")
    )
    behind: dict[int, set[int]] = {}
    for playbook in Playbook.objects.filter(active=True).select_related("segment"):
        cadences = [a.every_days for a in playbook.actions.all() if a.active]
        if not cadences:
            continue
        since = now - dt.timedelta(days=min(cadences))
        rows = (
            segment_members(segment=playbook.segment)
            .filter(owner_id__in=ids)
            .annotate(last=Subquery(last_contact))
            .filter(Q(last__isnull=True) | Q(last__lt=since))
            .values_list("owner_id", "id")
        )
        for owner_id, cid in rows:
            behind.setdefault(owner_id, set()).add(cid)
    counts = {
        "open": by_owner(open_),
        "overdue": by_owner(open_.filter(due_on__lt=today)),
        "done": by_owner(done),
        "late": by_owner(late),
        "customers": by_owner(Customer.objects.filter(owner_id__in=ids)),
    }
    cap = capacities(ids)
    return [
        RepLoad(
            user=p,
            capacity=cap[p.pk],
            open=counts["open"].get(p.pk, 0),
            overdue=counts["overdue"].get(p.pk, 0),
            done_this_week=counts["done"].get(p.pk, 0),
            logged_late=counts["late"].get(p.pk, 0),
            out_of_cadence=len(behind.get(p.pk, ())),
            customers=counts["customers"].get(p.pk, 0),
        )
        for p in people
    ]
