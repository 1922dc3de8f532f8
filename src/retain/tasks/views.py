from __future__ import annotations

import datetime as dt
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.accounts.access import (
    may_assign_to,
    may_oversee,
    may_view_churn_reasons,
    task_may_work_on,
    users_overseen_by,
)
from retain.accounts.models import User
from retain.customers.bulk import customers_assign_owner
from retain.customers.models import Customer
from retain.playbooks.models import Playbook
from retain.tasks.forms import TaskCompleteForm
from retain.tasks.models import Task, TaskKind, TaskStatus
from retain.tasks.selectors import (
    InboxFilters,
    churn_reasons_report,
    daily_list,
    team_overview,
)
from retain.tasks.services import (
    capacity_set,
    notifications_mark_read,
    task_complete,
    task_snooze,
    tasks_complete_bulk,
    tasks_reassign,
)
from retain.tasks.templatetags.task_tags import label

#: The quadrants of the value x activity matrix, the "segment" filter of the inbox.
QUADRANTS = ("core", "potential", "basic", "watch")


def _user(request: HttpRequest) -> User:
    """The signed-in user (the views are all behind ``login_required``)."""
    return cast(User, request.user)


@login_required
@require_GET
def task_inbox_view(request: HttpRequest) -> HttpResponse:
    """Whom to contact today and how: the day's list (sized to the person's capacity,
    ranked by what is at stake), then the rest, paged; filters, snooze, bulk actions."""
    user = _user(request)
    today = timezone.localdate()
    filters = InboxFilters.from_params(request.GET)
    daily = daily_list(user=user, today=today, filters=filters)
    later_page = Paginator(daily.later, 25).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    overseen = list(users_overseen_by(user))
    context = {
        "daily": daily,
        "later_page": later_page,
        "filters": filters,
        "qs": params.urlencode(),
        "today": today,
        "tomorrow": today + dt.timedelta(days=1),
        "kinds": TaskKind.choices,
        "playbooks": Playbook.objects.order_by("name").only("pk", "name"),
        "segments": [(q, label(q)) for q in QUADRANTS],
        "dues": [
            ("overdue", _("overdue")),
            ("today", _("today")),
            ("week", _("within 7 days")),
            ("later", _("after today")),
        ],
        "reassign_to": [u for u in overseen if u.pk != user.pk],
        "nav": "tasks",
    }
    return render(request, "tasks/inbox.html", context)


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("tasks")


@login_required
@require_POST
def task_snooze_view(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(Task, pk=pk)
    try:
        until = dt.date.fromisoformat(request.POST.get("until", ""))
        task_snooze(task=task, until=until, actor=_user(request))
    except ValueError:
        messages.error(request, _("Give the day to snooze to."))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(title)s snoozed to %(day)s.") % {"title": task.title, "day": until.isoformat()},
        )
    return _back(request)


@login_required
@require_POST
def tasks_bulk_view(request: HttpRequest) -> HttpResponse:
    """Mark the ticked simple touches done with one note, or hand them to someone."""
    user = _user(request)
    ids = [int(i) for i in request.POST.getlist("task") if i.isdigit()]
    tasks = list(Task.objects.filter(pk__in=ids, status=TaskStatus.OPEN).order_by("id"))
    if not tasks:
        messages.error(request, _("Tick the tasks first."))
        return _back(request)
    if any(not task_may_work_on(user, t) for t in tasks):
        raise PermissionDenied
    try:
        if request.POST.get("action") == "reassign":
            owner = get_object_or_404(User, pk=request.POST.get("owner") or 0)
            n = tasks_reassign(tasks=tasks, owner=owner, actor=user)
            messages.success(request, _("%(n)d tasks handed to %(who)s.") % {"n": n, "who": owner})
        else:
            n = tasks_complete_bulk(tasks=tasks, user=user, content=request.POST.get("content", ""))
            messages.success(request, _("%(n)d tasks done.") % {"n": n})
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    return _back(request)


@login_required
@require_POST
def task_capacity_view(request: HttpRequest) -> HttpResponse:
    """Set the daily capacity: one's own, or (a manager, the team lead) someone else's."""
    user = _user(request)
    whom = get_object_or_404(User, pk=request.POST.get("user") or user.pk)
    try:
        capacity_set(
            user=whom, tasks_per_day=int(request.POST.get("tasks_per_day", "")), actor=user
        )
    except ValueError:
        messages.error(request, _("Give a number of tasks."))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Daily capacity saved."))
    return _back(request)


@login_required
@require_http_methods(["GET", "POST"])
def task_complete_view(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.select_related("customer"), pk=pk)
    if not task_may_work_on(_user(request), task):
        raise PermissionDenied
    if request.method == "POST":
        form = TaskCompleteForm(request.POST)
        if form.is_valid():
            try:
                task_complete(task=task, user=_user(request), **form.cleaned_data)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                task.refresh_from_db()
                if request.headers.get("HX-Request"):
                    return render(request, "tasks/_task_done.html", {"task": task})
                return redirect("tasks")
    else:
        now = timezone.localtime()
        form = TaskCompleteForm(
            initial={"occurred_at": now.strftime("%Y-%m-%dT%H:%M"), "method": _method_of(task)}
        )
    template = (
        "tasks/_complete_form.html" if request.headers.get("HX-Request") else "tasks/complete.html"
    )
    return render(
        request,
        template,
        {"task": task, "form": form, "winback": task.kind == TaskKind.WINBACK, "nav": "tasks"},
    )


def _method_of(task: Task) -> str:
    return {"phone": "call", "visit": "visit", "email": "email", "wechat": "chat"}.get(
        task.channel, "call"
    )


@login_required
@require_GET
def notification_list_view(request: HttpRequest) -> HttpResponse:
    notes = _user(request).notifications.order_by("-created_at")[:50]
    return render(request, "tasks/notifications.html", {"notes": notes, "nav": "tasks"})


@login_required
@require_POST
def notifications_read_view(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(user=_user(request), now=timezone.now())
    return redirect("notifications")


@login_required
@require_GET
def churn_reasons_view(request: HttpRequest) -> HttpResponse:
    if not may_view_churn_reasons(_user(request)):
        raise PermissionDenied
    return render(
        request, "tasks/churn_reasons.html", {"rows": churn_reasons_report(), "nav": "tasks"}
    )


@login_required
@require_GET
def team_view(request: HttpRequest) -> HttpResponse:
    """Managers and team leads: each person's open, overdue and done tasks, late logging,
    customers out of cadence; reassign tasks and customers, set capacities."""
    user = _user(request)
    if not may_oversee(user):
        raise PermissionDenied
    now = timezone.now()
    reps = team_overview(user=user, today=timezone.localdate(now), now=now)
    return render(request, "tasks/team.html", {"reps": reps, "nav": "team"})


@login_required
@require_POST
def team_reassign_view(request: HttpRequest) -> HttpResponse:
    """Hand one person's overdue tasks, open tasks or customers to another (the services
    check that the actor oversees both)."""
    user = _user(request)
    if not may_oversee(user):
        raise PermissionDenied
    source = get_object_or_404(User, pk=request.POST.get("from") or 0)
    target = get_object_or_404(User, pk=request.POST.get("to") or 0)
    what = request.POST.get("what", "overdue")
    if not may_assign_to(user, source):
        raise PermissionDenied
    try:
        if what == "customers":
            ids = list(Customer.objects.filter(owner=source).values_list("pk", flat=True))
            n = customers_assign_owner(customer_ids=ids, owner=target, actor=user, request=request)
            messages.success(
                request, _("%(n)d customers handed to %(who)s.") % {"n": n, "who": target}
            )
        else:
            tasks = Task.objects.filter(owner=source, status=TaskStatus.OPEN)
            if what == "overdue":
                tasks = tasks.filter(due_on__lt=timezone.localdate())
            n = tasks_reassign(tasks=list(tasks), owner=target, actor=user)
            messages.success(request, _("%(n)d tasks handed to %(who)s.") % {"n": n, "who": target})
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect("team")
