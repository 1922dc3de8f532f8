"""Tag management pages: groups and tags with their customer counts (create, rename, merge,
retire) and the automatic tag rule editor with a preview of who would gain or lose the
tag. Writes go through ``retain.tags.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.accounts.access import can
from retain.customers.models import Customer
from retain.tags import services
from retain.tags.models import Tag, TagGroup, TagGroupKind


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(m for e in errs for m in e.messages)}"
            if field != "__all__"
            else " ".join(m for e in errs for m in e.messages)
            for field, errs in exc.error_dict.items()
        )
    return "; ".join(exc.messages)


@login_required
@require_GET
def tag_list_view(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "tags.view_tag"):
        raise PermissionDenied
    tags = Tag.objects.annotate(customers=Count("customer_tags")).select_related("rule")
    groups = TagGroup.objects.prefetch_related(
        Prefetch("tags", queryset=tags.order_by("retired", "name"))
    ).order_by("kind", "name")
    return render(
        request,
        "tags/list.html",
        {
            "groups": groups,
            "all_tags": Tag.objects.filter(automatic=False).select_related("group"),
            "kinds": TagGroupKind.choices,
            "can_edit": can(request.user, "tags.change_tag"),
            "can_rule": can(request.user, "scoring.change_tagrule"),
            "nav": "tags",
        },
    )


@login_required
@require_POST
def tag_create_view(request: HttpRequest) -> HttpResponse:
    try:
        if request.POST.get("what") == "group":
            group = services.tag_group_create(
                name=request.POST.get("name", ""),
                kind=request.POST.get("kind", TagGroupKind.CUSTOM),
                actor=request.user,
                request=request,
            )
            messages.success(request, _("Tag group created: %(name)s") % {"name": group.name})
        else:
            group = get_object_or_404(TagGroup, pk=request.POST.get("group") or 0)
            tag = services.tag_create(
                group=group,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
                actor=request.user,
                request=request,
            )
            messages.success(request, _("Tag created: %(name)s") % {"name": tag.name})
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return redirect("tags")


@login_required
@require_POST
def tag_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk)
    try:
        if action == "rename":
            services.tag_rename(
                tag=tag, name=request.POST.get("name", ""), actor=request.user, request=request
            )
        elif action == "merge":
            target = get_object_or_404(Tag, pk=request.POST.get("target") or 0)
            moved = services.tag_merge(
                source=tag, target=target, actor=request.user, request=request
            )
            messages.success(
                request,
                _("%(source)s merged into %(target)s (%(n)s customers moved).")
                % {"source": tag.name, "target": target.name, "n": moved},
            )
            return redirect("tags")
        elif action in ("retire", "restore"):
            services.tag_retire(
                tag=tag, retired=action == "retire", actor=request.user, request=request
            )
        else:
            raise PermissionDenied(action)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Saved."))
    return redirect("tags")


@login_required
@require_http_methods(["GET", "POST"])
def tag_rule_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a tag's rule; "Preview" shows who would gain and who would lose it now."""
    from retain.playbooks.segment_views import (
        FIELD_LABELS,
        FIELDS,
        OP_LABELS,
        conditions_from_params,
        field_choices,
        rows_of,
    )
    from retain.scoring.models import TagRule
    from retain.scoring.services import tag_rule_diff

    if not can(request.user, "scoring.change_tagrule"):
        raise PermissionDenied
    tag = get_object_or_404(Tag, pk=pk)
    rule = TagRule.objects.filter(tag=tag).first()
    params = request.POST if request.method == "POST" else request.GET
    context: dict[str, Any] = {"tag": tag, "rule": rule, "error": None, "nav": "tags"}
    conditions = rule.conditions if rule else {"all": []}
    if "f" in params:
        try:
            conditions = conditions_from_params(params)
        except ValidationError as exc:
            context["error"] = _errors(exc)
    if request.method == "POST" and not context["error"]:
        try:
            services.tag_rule_save(
                tag=tag,
                conditions=conditions,
                active=bool(params.get("active")),
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            context["error"] = _errors(exc)
        else:
            messages.success(request, _("Rule saved: %(tag)s") % {"tag": tag.name})
            return redirect("tags")
    if not context["error"] and conditions.get("all", conditions.get("any")):
        try:
            gain, lose = tag_rule_diff(tag=tag, conditions=conditions)
        except ValidationError as exc:
            context["error"] = _errors(exc)
        else:
            names = dict(
                Customer.objects.filter(pk__in=[*gain[:20], *lose[:20]]).values_list("pk", "name")
            )
            context["gain"] = (len(gain), [names[i] for i in gain[:20]])
            context["lose"] = (len(lose), [names[i] for i in lose[:20]])
    mode, rows = rows_of(conditions)
    context.update(
        {
            "mode": mode,
            "rows": rows,
            "fields": [(f, FIELD_LABELS.get(f, f)) for f in FIELDS],
            "ops": list(OP_LABELS.items()),
            "choices": field_choices().items(),
            "active": rule.active if rule else True,
        }
    )
    return render(request, "tags/rule.html", context, status=400 if context["error"] else 200)
