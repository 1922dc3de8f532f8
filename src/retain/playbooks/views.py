from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from retain.accounts.access import can
from retain.accounts.models import User
from retain.playbooks.forms import ActionFormSet, PlaybookForm
from retain.playbooks.models import Playbook, PlaybookAction
from retain.playbooks.selectors import playbook_list
from retain.playbooks.services import ACTION_FIELDS, CADENCES, playbook_update


def _user(request: HttpRequest) -> User:
    """The signed-in user (the views are all behind ``login_required``)."""
    return cast(User, request.user)


@login_required
@require_GET
def playbook_list_view(request: HttpRequest) -> HttpResponse:
    if not can(_user(request), "playbooks.view_playbook"):
        raise PermissionDenied
    return render(
        request,
        "playbooks/list.html",
        {
            "playbooks": playbook_list(),
            "can_edit": can(_user(request), "playbooks.change_playbook"),
            "nav": "playbooks",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def playbook_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if not can(_user(request), "playbooks.change_playbook" if pk else "playbooks.add_playbook"):
        raise PermissionDenied
    playbook = get_object_or_404(Playbook, pk=pk) if pk is not None else None
    initial = {"segment": request.GET["segment"]} if request.GET.get("segment") else None
    form = PlaybookForm(request.POST or None, instance=playbook, initial=initial)
    actions = ActionFormSet(request.POST or None, instance=playbook or Playbook())
    if request.method == "POST" and form.is_valid() and actions.is_valid():
        data = form.cleaned_data
        kept = []
        for f in actions.forms:
            pk = cast(PlaybookAction, f.instance).pk
            if (f.has_changed() or pk) and not f.cleaned_data.get("DELETE"):
                kept.append({"id": pk, **{k: f.cleaned_data.get(k) for k in ACTION_FIELDS}})
        try:
            playbook_update(
                playbook=playbook,
                name=data["name"],
                description=data["description"],
                segment=data["segment"],
                owner=data["owner"],
                active=data["active"],
                actions=kept,
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("playbooks")
    return render(
        request,
        "playbooks/edit.html",
        {
            "form": form,
            "actions": actions,
            "playbook": playbook,
            "cadences": list(CADENCES.items()),
            "nav": "playbooks",
        },
    )
