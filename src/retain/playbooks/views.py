from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from retain.accounts.models import Role, User
from retain.playbooks.forms import ActionFormSet, PlaybookForm
from retain.playbooks.models import Playbook
from retain.playbooks.selectors import playbook_list
from retain.playbooks.services import playbook_save

EDITORS = {Role.ADMIN, Role.MANAGER, Role.MARKETING}


def _user(request: HttpRequest) -> User:
    """The signed-in user (the views are all behind ``login_required``)."""
    return cast(User, request.user)


@login_required
@require_GET
def playbook_list_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "playbooks/list.html",
        {
            "playbooks": playbook_list(),
            "can_edit": _user(request).role in EDITORS,
            "nav": "playbooks",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def playbook_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if _user(request).role not in EDITORS:
        raise PermissionDenied
    playbook = get_object_or_404(Playbook, pk=pk) if pk is not None else None
    initial = {"segment": request.GET["segment"]} if request.GET.get("segment") else None
    form = PlaybookForm(request.POST or None, instance=playbook, initial=initial)
    actions = ActionFormSet(request.POST or None, instance=playbook or Playbook())
    if request.method == "POST" and form.is_valid() and actions.is_valid():
        playbook_save(form=form, actions=actions)
        return redirect("playbooks")
    return render(
        request,
        "playbooks/edit.html",
        {"form": form, "actions": actions, "playbook": playbook, "nav": "playbooks"},
    )
