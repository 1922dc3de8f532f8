from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.accounts.access import can
from retain.accounts.models import User
from retain.playbooks.forms import ArmsForm, PlaybookForm, VariantFormSet, action_formset
from retain.playbooks.models import Playbook, PlaybookAction
from retain.playbooks.selectors import playbook_list
from retain.playbooks.services import (
    ACTION_FIELDS,
    CADENCES,
    plan_arms_update,
    playbook_update,
)


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
    actions = action_formset(request.POST or None, playbook=playbook)
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
                holdout_percent=data.get("holdout_percent"),
                min_effect_points=data.get("min_effect_points"),
                actions=kept,
                goals=list(data["goals"]),
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
            **(_arms_context(playbook) if playbook is not None else {}),
            "nav": "playbooks",
        },
    )


def _arms_context(
    playbook: Playbook, arms: ArmsForm | None = None, variants: Any = None, saved: bool = False
) -> dict[str, Any]:
    rows = list(playbook.variants.annotate(customers=Count("assignments")).order_by("id"))
    total = sum(v.share for v in rows)
    treated = 100 - playbook.holdout_percent
    for v in rows:
        v.percent = treated * v.share / total if total else 0  # type: ignore[attr-defined]
    return {
        "playbook": playbook,
        "arms_form": arms or ArmsForm(initial={"holdout_percent": playbook.holdout_percent}),
        "variant_forms": variants
        or VariantFormSet(
            prefix="variants",
            initial=[{"id": v.pk, "name": v.name, "share": v.share} for v in rows],
        ),
        "variants": rows,
        "arms_saved": saved,
    }


@login_required
@require_POST
def plan_arms_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The control group and the variants of a plan (the edit page's section, posted with
    htmx: the answer is the section again, with the errors or the saved arms)."""
    if not can(_user(request), "playbooks.change_playbook"):
        raise PermissionDenied
    playbook = get_object_or_404(Playbook, pk=pk)
    arms = ArmsForm(request.POST)
    variants = VariantFormSet(request.POST, prefix="variants")
    saved = False
    shown: tuple[ArmsForm | None, Any] = (arms, variants)
    if arms.is_valid() and variants.is_valid():
        kept = [
            {
                "id": f.cleaned_data.get("id"),
                "name": f.cleaned_data["name"],
                "share": f.cleaned_data["share"],
            }
            for f in variants.forms
            if (f.cleaned_data.get("name") or f.cleaned_data.get("id"))
            and not f.cleaned_data.get("DELETE")
        ]
        try:
            playbook = plan_arms_update(
                playbook=playbook,
                holdout_percent=arms.cleaned_data["holdout_percent"],
                variants=kept,
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            arms.add_error(None, exc)
        else:
            saved = True
            shown = (None, None)
    context = _arms_context(playbook, shown[0], shown[1], saved)
    if not request.headers.get("HX-Request"):
        if saved:
            return redirect("playbook-edit", pk=playbook.pk)
        context["form"] = PlaybookForm(instance=playbook)
        context["actions"] = action_formset(None, playbook=playbook)
        context["cadences"] = list(CADENCES.items())
        return render(request, "playbooks/edit.html", context, status=400)
    return render(request, "playbooks/_arms.html", context)
