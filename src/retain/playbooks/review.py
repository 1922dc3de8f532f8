"""The monthly review of the plans (PRODUCT.md section 11): the strategies compared side by
side over the customers who entered each plan in the month, the potential-customer activation
rate, and the cases of success and failure a manager recorded with a note.

The activation rate is defined here and only here (``potential_activation``); the review
page, the API and the docs all read it from this function.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from retain.playbooks.models import CaseOutcome, PlanCase, Playbook
from retain.playbooks.results import PlanResults, plan_results

#: Days after becoming a potential customer within which a paid order counts as activation.
ACTIVATION_DAYS = 30


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_next(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_parse(text: str | None, *, default: dt.date) -> dt.date:
    """``YYYY-MM`` as the first day of that month; ``default``'s month when missing or bad."""
    try:
        year, month = (int(p) for p in (text or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return month_start(default)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a month in the local time zone."""
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(month, dt.time.min, tzinfo=tz),
        dt.datetime.combine(month_next(month), dt.time.min, tzinfo=tz),
    )


@dataclass(frozen=True)
class Activation:
    """Potential customers of a month and how many of them were activated."""

    month: dt.date
    days: int
    potential: int  # became potential customers in the month
    activated: int  # of them, made a paid purchase within ``days`` days after
    window_open: int  # of them, whose ``days`` have not all passed yet

    @property
    def rate(self) -> float | None:
        return self.activated / self.potential if self.potential else None


def potential_activation(
    *,
    month: dt.date,
    now: dt.datetime,
    days: int = ACTIVATION_DAYS,
    customers: QuerySet[Any] | None = None,
) -> Activation:
    """The potential-customer activation rate of ``month``.

    The potential customers of a month are those the scoring moved into the potential
    quadrant (潜力客户: high value, quiet lately) on a day of that month; one is activated
    when they made a paid order after that day and within ``days`` days of it (and not
    after ``now``). ``customers`` restricts to what the reader may see. Set-based: one
    query. A customer who became potential twice in the month counts once, from the
    first time."""
    from retain.orders.models import Order, OrderStatus
    from retain.scoring.models import Dimension, SegmentChange

    last_day = month_next(month) - dt.timedelta(days=1)
    changes = SegmentChange.objects.filter(
        dimension=Dimension.QUADRANT,
        to_value="potential",
        as_of__gte=month,
        as_of__lte=last_day,
    )
    if customers is not None:
        changes = changes.filter(customer__in=customers.values("pk"))
    # the first change of each customer in the month
    first = changes.exclude(
        Exists(
            SegmentChange.objects.filter(
                customer=OuterRef("customer"),
                dimension=Dimension.QUADRANT,
                to_value="potential",
                as_of__gte=month,
                as_of__lt=OuterRef("as_of"),
            )
        )
    )
    today = timezone.localdate(now)
    bought = Order.objects.filter(
        customer=OuterRef("customer"),
        status=OrderStatus.PAID,
        ordered_at__date__gt=OuterRef("as_of"),
        ordered_at__date__lte=OuterRef("as_of") + dt.timedelta(days=days),
        ordered_at__lte=now,
    )
    counts = first.aggregate(
        potential=Count("id"),
        activated=Count("id", filter=Q(Exists(bought))),
        window_open=Count("id", filter=Q(as_of__gt=today - dt.timedelta(days=days))),
    )
    return Activation(
        month=month,
        days=days,
        potential=counts["potential"],
        activated=counts["activated"],
        window_open=counts["window_open"],
    )


def plans_of_month(
    *, month: dt.date, now: dt.datetime, customers: QuerySet[Any] | None = None
) -> list[PlanResults]:
    """Every plan's arms over the customers who entered it in ``month``, side by side."""
    window = month_bounds(month)
    return [
        plan_results(playbook=p, now=now, customers=customers, entered=window)
        for p in Playbook.objects.select_related("segment").order_by("-active", "name")
    ]


def plan_cases(*, month: dt.date | None, user: Any) -> QuerySet[PlanCase]:
    """The cases of a month (all months when None) that ``user`` may read: those without a
    customer, and those whose customer they may see."""
    from retain.accounts.access import customers_visible_to

    rows = PlanCase.objects.select_related("playbook", "customer", "author")
    if month is not None:
        rows = rows.filter(month=month)
    return rows.filter(
        Q(customer__isnull=True) | Q(customer__in=customers_visible_to(user).values("pk"))
    )


@transaction.atomic
def plan_case_record(
    *,
    playbook: Playbook,
    month: dt.date,
    outcome: str,
    note: str,
    customer: Any = None,
    actor: Any,
    now: dt.datetime,
    request: Any = None,
) -> PlanCase:
    """Record a case of success or failure of a plan for the month reviewed. Audited.

    Only who may record cases (``plan_case_may_record``), and only about a customer they
    may see."""
    from django.core.exceptions import PermissionDenied

    from retain.accounts.access import customer_is_visible, plan_case_may_record
    from retain.audit.services import audit_event, snapshot

    if not plan_case_may_record(actor):
        raise PermissionDenied("playbooks.add_plancase")
    if customer is not None and not customer_is_visible(actor, customer):
        raise PermissionDenied("customer not visible")
    case = PlanCase(
        playbook=playbook,
        customer=customer,
        month=month,
        outcome=outcome,
        note=(note or "").strip(),
        author=actor,
        created_at=now,
    )
    case.full_clean()
    case.save()
    audit_event(actor=actor, action="create", obj=case, after=snapshot(case), request=request)
    return case


__all__ = [
    "ACTIVATION_DAYS",
    "Activation",
    "CaseOutcome",
    "month_bounds",
    "month_parse",
    "plan_case_record",
    "plan_cases",
    "plans_of_month",
    "potential_activation",
]
