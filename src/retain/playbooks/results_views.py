"""A playbook's results: tasks created and done, customers reached, coverage of its
segment this month, and the measured effect of each arm against the control group."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from retain.accounts.access import can, customers_visible_to
from retain.core.cache import cached
from retain.core.exports import csv_bytes, xlsx_bytes
from retain.interactions.models import FollowUp
from retain.playbooks.assignment import plan_sends_skipped
from retain.playbooks.conditions import conditions_q
from retain.playbooks.models import Playbook
from retain.playbooks.results import (
    EXPORT_COLUMNS,
    comparison_rows,
    plan_results,
    plan_results_rows,
)
from retain.playbooks.segment_views import figures_cache_key
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

    @property
    def done_share(self) -> float | None:
        return self.done / self.created if self.created else None

    @property
    def coverage(self) -> float | None:
        return self.contacted_this_month / self.members if self.members else None


def playbook_results(
    *, playbook: Playbook, user: object, today: dt.date, days: int = 90
) -> PlaybookResults:
    """Figures over the last ``days`` days, restricted to the customers ``user`` may see."""
    tz = timezone.get_current_timezone()
    since = today - dt.timedelta(days=days)
    start = dt.datetime.combine(since, dt.time.min, tzinfo=tz)
    month_start = dt.datetime.combine(today.replace(day=1), dt.time.min, tzinfo=tz)
    visible = customers_visible_to(user)
    conditions = playbook.segment.conditions
    members = visible.filter(conditions_q(conditions))
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

    def segment_counts() -> tuple[int, int]:
        # one pass over the members for both counts
        recent = FollowUp.objects.filter(customer=OuterRef("pk"), occurred_at__gte=month_start)
        counts = members.aggregate(n=Count("id"), contacted=Count("id", filter=Exists(recent)))
        return counts["n"], counts["contacted"]

    # the two counts over every member of the segment (most of the page's time at 1M
    # customers) come from the cache until a write they read (scores, customers, follow-ups
    # ...: the "plans" topic) or the next scoring run
    run_scope, digest = figures_cache_key(user, conditions)
    member_count, contacted = cached(
        "plans", f"{run_scope}:{digest}:{month_start.date()}", segment_counts
    )
    return PlaybookResults(
        days=days,
        since=since,
        members=member_count,
        created=counts["created"],
        done=counts["done"],
        open=counts["open"],
        withdrawn=counts["withdrawn"],
        late=counts["late"],
        reached=counts["reached"],
        contacted_this_month=contacted,
    )


@login_required
@require_GET
def playbook_results_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, "playbooks.view_playbook"):
        raise PermissionDenied
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
    measured = plan_results(
        playbook=playbook, now=timezone.now(), customers=customers_visible_to(request.user)
    )
    return render(
        request,
        "playbooks/playbook_results.html",
        {
            "playbook": playbook,
            "results": results,
            "actions": actions,
            "measured": measured,
            "tables": [(c, comparison_rows(c, measured.control)) for c in measured.comparisons],
            "withheld": plan_sends_skipped(playbook_id=playbook.pk),
            "nav": "playbooks",
        },
    )


@login_required
@require_GET
def playbooks_compare_view(request: HttpRequest) -> HttpResponse:
    """The plans side by side: each arm's 90-day repurchase against its control group, the
    difference with its interval and the verdict (the monthly review's first table)."""
    if not can(request.user, "playbooks.view_playbook"):
        raise PermissionDenied
    now = timezone.now()
    visible = customers_visible_to(request.user)
    plans = [
        plan_results(playbook=p, now=now, customers=visible)
        for p in Playbook.objects.select_related("segment").order_by("-active", "name")
    ]
    return render(request, "playbooks/playbooks_compare.html", {"plans": plans, "nav": "playbooks"})


@login_required
@require_GET
def playbook_results_export_view(request: HttpRequest, pk: int, fmt: str = "csv") -> HttpResponse:
    """The measured figures per arm as CSV (UTF-8 with BOM) or an Excel workbook: the same
    rows (one per arm, control first) and columns in both."""
    if not can(request.user, "playbooks.view_playbook"):
        raise PermissionDenied
    playbook = get_object_or_404(Playbook, pk=pk)
    measured = plan_results(
        playbook=playbook, now=timezone.now(), customers=customers_visible_to(request.user)
    )
    rows = plan_results_rows(measured)
    if fmt == "xlsx":
        response = HttpResponse(
            xlsx_bytes(EXPORT_COLUMNS, rows, title=f"plan-{playbook.pk}"),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(csv_bytes(EXPORT_COLUMNS, rows), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="plan-{playbook.pk}-results.{"xlsx" if fmt == "xlsx" else "csv"}"'
    )
    return response
