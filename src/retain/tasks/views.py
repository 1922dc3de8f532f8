from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.accounts.access import task_may_work_on
from retain.accounts.models import Role, User
from retain.tasks.forms import TaskCompleteForm
from retain.tasks.models import Task, TaskKind
from retain.tasks.selectors import churn_reasons_report, task_inbox
from retain.tasks.services import notifications_mark_read, task_complete


def _user(request: HttpRequest) -> User:
    """The signed-in user (the views are all behind ``login_required``)."""
    return cast(User, request.user)


@login_required
@require_GET
def task_inbox_view(request: HttpRequest) -> HttpResponse:
    inbox = task_inbox(user=_user(request), today=timezone.localdate())
    return render(request, "tasks/inbox.html", {"inbox": inbox, "nav": "tasks"})


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
    if _user(request).role not in {Role.ADMIN, Role.MANAGER, Role.MARKETING, Role.ANALYST}:
        raise PermissionDenied
    return render(
        request, "tasks/churn_reasons.html", {"rows": churn_reasons_report(), "nav": "tasks"}
    )
