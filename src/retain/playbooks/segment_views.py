"""Segment explorer: build a segment from conditions, see its size, revenue, KPIs and
members live (htmx), save it and use it as a playbook's target."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from retain.accounts.access import (
    EXPORT_CUSTOMERS,
    VIEW_ALL_CUSTOMERS,
    can,
    customers_visible_to,
)
from retain.core.cache import cached
from retain.customers.models import Customer
from retain.playbooks.conditions import FIELDS, conditions_q
from retain.playbooks.models import Segment
from retain.playbooks.services import segment_save
from retain.scoring.models import RunStatus, ScoringRun

FIELD_LABELS = {
    "member_tier": gettext_lazy("Membership tier"),
    "points_balance": gettext_lazy("Points balance"),
    "quadrant": gettext_lazy("Quadrant"),
    "lifecycle_stage": gettext_lazy("Lifecycle stage"),
    "rfm_segment": gettext_lazy("RFM segment"),
    "value_tier": gettext_lazy("Value tier"),
    "activity_level": gettext_lazy("Activity"),
    "churn_risk": gettext_lazy("Churn risk"),
    "order_count": gettext_lazy("Orders"),
    "total_spend": gettext_lazy("Spend"),
    "recency_days": gettext_lazy("Days since last purchase"),
    "p_alive": gettext_lazy("P(alive)"),
    "predicted_ltv": gettext_lazy("Predicted value"),
    "open_complaints": gettext_lazy("Open complaints"),
    "recent_complaints": gettext_lazy("Recent complaints"),
    "last_nps": gettext_lazy("Last NPS answer"),
    "tag": gettext_lazy("Tag"),
    "campaign_kind": gettext_lazy("Joined a campaign of kind"),
    "owner": gettext_lazy("Owner (username)"),
    "team": gettext_lazy("Team"),
    "region": gettext_lazy("Region"),
    "city": gettext_lazy("City"),
    "industry": gettext_lazy("Industry"),
    "kind": gettext_lazy("Kind (company/person)"),
    "status": gettext_lazy("Status"),
}
OP_LABELS = {
    "eq": "=",
    "ne": gettext_lazy("≠ (not)"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
}
ROWS = 4


def _enum(labels: dict[str, Any], codes: Any) -> list[tuple[str, Any]]:
    return [(str(code), labels.get(str(code), str(code))) for code in codes]


def field_choices() -> dict[str, list[tuple[str, Any]]]:
    """Each field's values as (code, label) pairs; the labels are lazy (the user's language).

    Fields with values from the data (tags, owners, teams, regions, cities, industries) list
    what exists; number fields have none.
    """
    from retain.accounts.models import Team, User
    from retain.analytics import (
        ActivityLevel,
        LifecycleStage,
        Quadrant,
        RfmSegment,
        RiskLevel,
        ValueTier,
    )
    from retain.campaigns.models import CampaignKind
    from retain.customers.models import CustomerKind, CustomerStatus
    from retain.tags.models import Tag
    from retain.tasks.templatetags.task_tags import LABELS
    from retain.web.templatetags.board import RFM_LABELS

    def distinct_now(column: str) -> list[str]:
        return list(
            Customer.objects.exclude(**{column: ""})
            .order_by(column)
            .values_list(column, flat=True)
            .distinct()[:300]
        )

    def distinct(column: str) -> list[tuple[str, Any]]:
        # a DISTINCT over every customer (1M rows): kept until a customer is written
        values = cached("segments", f"distinct:{column}", lambda: distinct_now(column))
        return [(v, v) for v in values]

    return {
        "quadrant": _enum(LABELS, Quadrant),
        "lifecycle_stage": _enum(LABELS, LifecycleStage),
        "rfm_segment": _enum(RFM_LABELS, RfmSegment),
        "value_tier": _enum(LABELS, ValueTier),
        "activity_level": _enum(LABELS, ActivityLevel),
        "churn_risk": _enum(LABELS, RiskLevel),
        "tag": [(n, n) for n in Tag.objects.order_by("name").values_list("name", flat=True)],
        "campaign_kind": list(CampaignKind.choices),
        "owner": [
            (u.username, u.get_full_name() or u.username)
            for u in User.objects.filter(is_active=True).order_by("username")
        ],
        "team": [(n, n) for n in Team.objects.order_by("name").values_list("name", flat=True)],
        "region": distinct("region"),
        "city": distinct("city"),
        "industry": distinct("industry"),
        "kind": list(CustomerKind.choices),
        "status": list(CustomerStatus.choices),
    }


def _code_of(field: str, text: str, choices: dict[str, list[tuple[str, Any]]]) -> str:
    """The stored code of ``text``: a code itself, or its label in any of the languages."""
    from django.conf import settings
    from django.utils import translation

    options = choices.get(field)
    if not options:
        return text
    wanted = text.casefold()
    for code, _label in options:
        if code.casefold() == wanted:
            return code
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for code, label in options:
                if str(label).casefold() == wanted:
                    return code
    return text


def _label_of(field: str, code: Any, choices: dict[str, list[tuple[str, Any]]]) -> str:
    for known, label in choices.get(field, []):
        if known == str(code):
            return str(label)
    return str(code)


def conditions_from_params(params: QueryDict) -> dict[str, Any]:
    """{"all"|"any": [clauses]} from the builder's rows (f, o, v repeated).

    A value is a code ("core") or its label in either language ("核心客户", "Core")."""
    choices: dict[str, list[tuple[str, Any]]] | None = None
    clauses = []
    for field, op, raw in zip(
        params.getlist("f"), params.getlist("o"), params.getlist("v"), strict=False
    ):
        raw = raw.strip()
        if not field or not raw:
            continue
        kind = FIELDS.get(field, ("", "text"))[1]
        values: list[Any] = [p.strip() for p in raw.replace("，", ",").split(",") if p.strip()]
        if kind != "number":
            choices = choices if choices is not None else field_choices()
            values = [_code_of(field, v, choices) for v in values]
        if kind == "number":
            try:
                values = [float(v) for v in values]
            except ValueError as exc:
                raise ValidationError(
                    _("%(field)s: %(value)r is not a number")
                    % {"field": FIELD_LABELS.get(field, field), "value": raw}
                ) from exc
        value: Any = values if op in ("in", "not_in") else values[0]
        clauses.append({"field": field, "op": op, "value": value})
    mode = "any" if params.get("mode") == "any" else "all"
    return {mode: clauses}


def rows_of(
    conditions: dict[str, Any], choices: dict[str, list[tuple[str, Any]]] | None = None
) -> tuple[str, list[dict[str, str]]]:
    """The builder's rows for a (flat) condition group; nested groups are not editable here."""
    ((mode, items),) = conditions.items()
    rows = []
    choices = field_choices() if choices is None else choices
    for item in items:
        if "field" not in item:
            continue
        value = item.get("value")
        values = value if isinstance(value, list) else [value]
        text = ", ".join(_label_of(item["field"], v, choices) for v in values)
        rows.append({"f": item["field"], "o": item["op"], "v": text})
    while len(rows) < ROWS:
        rows.append({"f": "", "o": "eq", "v": ""})
    return mode, rows


def _flat(conditions: dict[str, Any]) -> bool:
    ((_mode, items),) = conditions.items()
    return all("field" in item for item in items)


@dataclass(frozen=True)
class SegmentFigures:
    size: int
    share: float | None
    revenue: float
    revenue_share: float | None
    avg_spend: float | None
    avg_p_alive: float | None
    repurchase: float | None
    high_risk: float | None
    core: int
    potential: int


def segment_figures(
    members: QuerySet[Customer],
    everyone: QuerySet[Customer],
    *,
    cache_key: tuple[str, str] | None = None,
) -> SegmentFigures:
    """The segment's figures against every customer the user sees. With ``cache_key``
    ((run:scope, conditions digest), see ``figures_cache_key``) both aggregates come from
    the cache until a write they read or the next scoring run."""
    if cache_key is None:
        return _segment_figures(members, _everyone_totals(everyone))
    scope, digest = cache_key
    totals = cached("segments", f"{scope}:everyone", lambda: _everyone_totals(everyone))
    return cached("segments", f"{scope}:{digest}", lambda: _segment_figures(members, totals))


def _everyone_totals(everyone: QuerySet[Customer]) -> dict[str, Any]:
    return everyone.aggregate(n=Count("id"), revenue=Sum("score__total_spend"))


def figures_cache_key(user: Any, conditions: dict[str, Any]) -> tuple[str, str]:
    """("run:scope", digest): the scoring run (the scores the figures read), whose customers
    (all, or one user's), and a digest of the conditions."""
    run = (
        ScoringRun.objects.filter(status=RunStatus.DONE)
        .order_by("-as_of", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    scope = "all" if can(user, VIEW_ALL_CUSTOMERS) else f"user:{user.pk}"
    text = json.dumps(conditions, sort_keys=True, ensure_ascii=False)
    return f"{run}:{scope}", hashlib.sha256(text.encode()).hexdigest()[:32]


def _segment_figures(members: QuerySet[Customer], total: dict[str, Any]) -> SegmentFigures:
    agg = members.aggregate(
        n=Count("id"),
        revenue=Sum("score__total_spend"),
        avg_spend=Avg("score__total_spend"),
        avg_p_alive=Avg("score__p_alive"),
        repeat=Count("id", filter=Q(score__order_count__gte=2)),
        buyers=Count("id", filter=Q(score__order_count__gte=1)),
        high=Count("id", filter=Q(score__churn_risk="high")),
        core=Count("id", filter=Q(score__quadrant="core")),
        potential=Count("id", filter=Q(score__quadrant="potential")),
    )
    n = agg["n"] or 0
    revenue = float(agg["revenue"] or 0.0)
    buyers = agg["buyers"] or 0
    return SegmentFigures(
        size=n,
        share=n / total["n"] if total["n"] else None,
        revenue=revenue,
        revenue_share=revenue / float(total["revenue"]) if total["revenue"] else None,
        avg_spend=agg["avg_spend"],
        avg_p_alive=agg["avg_p_alive"],
        repurchase=(agg["repeat"] or 0) / buyers if buyers else None,
        high_risk=(agg["high"] or 0) / buyers if buyers else None,
        core=agg["core"] or 0,
        potential=agg["potential"] or 0,
    )


def _context(request: HttpRequest, conditions: dict[str, Any] | None) -> dict[str, Any]:
    everyone = customers_visible_to(request.user)
    context: dict[str, Any] = {"conditions": conditions, "error": None}
    if conditions is None:
        return context
    try:
        members = everyone.filter(conditions_q(conditions))
    except ValidationError as exc:
        context["error"] = "; ".join(exc.messages)
        return context
    context["figures"] = segment_figures(
        members, everyone, cache_key=figures_cache_key(request.user, conditions)
    )
    context["members"] = members.select_related("score", "owner").order_by("code")[:20]
    context["conditions_json"] = json.dumps(conditions, ensure_ascii=False)
    return context


@login_required
@require_GET
def segment_explorer_view(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "playbooks.view_segment"):
        raise PermissionDenied
    segment = None
    if request.GET.get("segment"):
        segment = get_object_or_404(Segment, pk=request.GET["segment"])
    error = None
    try:
        if segment is not None and "f" not in request.GET:
            conditions = segment.conditions
        else:
            conditions = conditions_from_params(request.GET)
    except ValidationError as exc:
        conditions, error = None, "; ".join(exc.messages)
    context = _context(request, conditions)
    context["error"] = context["error"] or error
    if request.headers.get("HX-Request"):
        return render(request, "playbooks/_segment_results.html", context)
    choices = field_choices()
    mode, rows = rows_of(conditions or {"all": []}, choices)
    context.update(
        {
            "segment": segment,
            # nested AND / OR groups (made in the back office) are not editable here
            "nested": segment is not None and not _flat(segment.conditions),
            "segments": Segment.objects.all(),
            "mode": mode,
            "rows": rows,
            "fields": [(f, FIELD_LABELS.get(f, f)) for f in FIELDS],
            "choices": choices.items(),
            "can_export": can(request.user, EXPORT_CUSTOMERS),
            "ops": list(OP_LABELS.items()),
            "can_save": can(request.user, "playbooks.add_playbook"),
            "nav": "segments",
        }
    )
    return render(request, "playbooks/segments.html", context)


@login_required
@require_POST
def segment_save_view(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "playbooks.add_playbook"):
        raise PermissionDenied
    segment = None
    if request.POST.get("segment"):
        segment = get_object_or_404(Segment, pk=request.POST["segment"])
        if not _flat(segment.conditions):
            messages.error(
                request, _("This segment has nested conditions: edit it in the back office.")
            )
            return redirect(f"{reverse('segments')}?segment={segment.pk}")
    try:
        conditions = conditions_from_params(request.POST)
        saved = segment_save(
            segment=segment,
            name=request.POST.get("name", "").strip(),
            description=request.POST.get("description", "").strip(),
            conditions=conditions,
            actor=request.user,
            request=request,
        )
    except ValidationError as exc:
        messages.error(
            request,
            _("The segment was not saved: %(errors)s") % {"errors": "; ".join(exc.messages)},
        )
        return redirect(reverse("segments"))
    messages.success(request, _("Segment saved: %(name)s") % {"name": saved.name})
    return redirect(f"{reverse('segments')}?segment={saved.pk}")
