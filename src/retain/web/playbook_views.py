"""A playbook's results: tasks created and done, customers reached, coverage of its
segment this month, and repurchase of the targeted customers against the rest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from retain.accounts.access import customers_visible_to
from retain.interactions.models import Interaction
from retain.orders.models import Order, OrderStatus
from retain.playbooks.models import Playbook
from retain.scoring.conditions import conditions_q
from retain.tasks.models import Task, TaskStatus


@dataclass(frozen=True)
class PlaybookResults:
    days: int
    since: dt.date
    members: int
    created: int
    done: int
    open: int
    withdrawn: int
    late: int
    reached: int
    contacted_this_month: int
    targeted: int
    targeted_bought: int
    others: int
    others_bought: int

    @property
    def done_share(self) -> float | None:
        return self.done / self.created if self.created else None

    @property
    def coverage(self) -> float | None:
        return self.contacted_this_month / self.members if self.members else None

    @property
    def targeted_rate(self) -> float | None:
        return self.targeted_bought / self.targeted if self.targeted else None

    @property
    def others_rate(self) -> float | None:
        return self.others_bought / self.others if self.others else None


def playbook_results(
    *, playbook: Playbook, user: object, today: dt.date, days: int = 90
) -> PlaybookResults:
    """Figures over the last ``days`` days, restricted to the customers ``user`` may see."""
    tz = timezone.get_current_timezone()
    since = today - dt.timedelta(days=days)
    start = dt.datetime.combine(since, dt.time.min, tzinfo=tz)
    month_start = dt.datetime.combine(today.replace(day=1), dt.time.min, tzinfo=tz)
    visible = customers_visible_to(user)
    members = visible.filter(conditions_q(playbook.segment.conditions))
    tasks = Task.objects.filter(
        action__playbook=playbook, created_at__gte=start, customer__in=visible.values("pk")
    )
    counts = tasks.aggregate(
        created=Count("id"),
        done=Count("id", filter=Q(status=TaskStatus.DONE)),
        open=Count("id", filter=Q(status=TaskStatus.OPEN)),
        withdrawn=Count("id", filter=Q(status=TaskStatus.WITHDRAWN)),
        late=Count("id", filter=Q(logged_late=True)),
        reached=Count("customer", distinct=True, filter=Q(status=TaskStatus.DONE)),
    )
    contacted = members.filter(
        Exists(Interaction.objects.filter(customer=OuterRef("pk"), occurred_at__gte=month_start))
    ).count()
    targeted_q = Exists(tasks.filter(customer=OuterRef("pk")))
    bought_q = Exists(
        Order.objects.filter(
            customer=OuterRef("pk"), status=OrderStatus.PAID, ordered_at__gte=start
        )
    )
    targeted = visible.filter(targeted_q)
    others = members.exclude(targeted_q)
    return PlaybookResults(
        days=days,
        since=since,
        members=members.count(),
        created=counts["created"],
        done=counts["done"],
        open=counts["open"],
        withdrawn=counts["withdrawn"],
        late=counts["late"],
        reached=counts["reached"],
        contacted_this_month=contacted,
        targeted=targeted.count(),
        targeted_bought=targeted.filter(bought_q).count(),
        others=others.count(),
        others_bought=others.filter(bought_q).count(),
    )


@login_required
@require_GET
def playbook_results_view(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook.objects.select_related("segment", "owner"), pk=pk)
    try:
        days = max(7, min(730, int(request.GET.get("days", "90"))))
    except ValueError:
        days = 90
    results = playbook_results(
        playbook=playbook, user=request.user, today=timezone.localdate(), days=days
    )
    actions = playbook.actions.annotate(
        created=Count("tasks", filter=Q(tasks__created_at__date__gte=results.since)),
        done=Count(
            "tasks",
            filter=Q(tasks__created_at__date__gte=results.since, tasks__status="done"),
        ),
    ).order_by("every_days", "name")
    return render(
        request,
        "web/playbook_results.html",
        {"playbook": playbook, "results": results, "actions": actions, "nav": "playbooks"},
    )
