"""The board (看板): KPIs against targets, the matrix, trends, cohorts, at-risk list, goals."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from retain.accounts.access import can, customers_visible_to
from retain.kpis.definitions import Comparison, KpiKey
from retain.kpis.models import Goal, KpiTarget
from retain.kpis.selectors import at_risk_cached, board, current_values, kpi_value, latest_run
from retain.kpis.services import goal_create, goal_delete, kpi_target_update
from retain.playbooks.models import Playbook
from retain.playbooks.results import goal_plan_effects
from retain.playbooks.services import playbook_goal_link
from retain.scoring.selectors import churn_model_backtest


class TargetForm(forms.Form):
    comparison = forms.ChoiceField(label=gettext_lazy("comparison"), choices=Comparison.choices)
    value = forms.FloatField(label=gettext_lazy("target"))


class GoalForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=200)
    kpi = forms.ChoiceField(label=gettext_lazy("KPI"), choices=KpiKey.choices)
    change = forms.FloatField(label=gettext_lazy("change"))
    relative = forms.BooleanField(label=gettext_lazy("in percent of the baseline"), required=False)
    start_on = forms.DateField(
        label=gettext_lazy("start"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end_on = forms.DateField(
        label=gettext_lazy("end"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    playbook = forms.ModelChoiceField(
        label=gettext_lazy("measured by the plan"),
        queryset=Playbook.objects.order_by("name"),
        required=False,
    )


def month_labels(months: list[str], *, today: dt.date) -> list[str]:
    """Chart labels of months (YYYY-MM): the current month, not over yet, says it is partial
    ("2026-12 (to 1 Dec)"), so its low bar does not read as a slump."""
    current = today.strftime("%Y-%m")
    if today.day == calendar.monthrange(today.year, today.month)[1]:
        return list(months)
    return [
        _("%(month)s (to day %(day)d)") % {"month": m, "day": today.day} if m == current else m
        for m in months
    ]


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    data = board(today=today, user=request.user)
    figures = data.overview
    chart = {
        "months": month_labels([m for m, _n, _r in figures.monthly], today=today),
        "orders": [n for _m, n, _r in figures.monthly],
        "revenue": [float(r) for _m, _n, r in figures.monthly],
    }
    effects = (
        goal_plan_effects(
            goal_ids=[g.goal.pk for g in data.goals],
            now=timezone.now(),
            customers=customers_visible_to(request.user),
        )
        if data.goals and can(request.user, "playbooks.view_playbook")
        else {}
    )
    context: dict[str, Any] = {
        "goal_rows": [(g, effects.get(g.goal.pk, [])) for g in data.goals],
        "figures": figures,
        "chart": chart,
        "board": data,
        "at_risk": at_risk_cached(run=data.run, user=request.user) if data.run else [],
        "churn_backtest": churn_model_backtest(run=data.run),
        "can_edit_targets": can(request.user, "kpis.change_kpitarget"),
        "can_add_goals": can(request.user, "kpis.add_goal"),
        "targets": KpiTarget.objects.all(),
        "target_form": TargetForm(),
        "goal_form": GoalForm(
            initial={
                "relative": True,
                "start_on": today,
                "end_on": today + dt.timedelta(days=91),
                "kpi": KpiKey.REPURCHASE,
                "change": 15,
            }
        ),
        "today": today,
        "nav": "dashboard",
    }
    return render(request, "web/dashboard.html", context)


@login_required
@require_POST
def target_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, "kpis.change_kpitarget"):
        raise PermissionDenied
    target = get_object_or_404(KpiTarget, pk=pk)
    form = TargetForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("The target was not saved: %(errors)s") % {"errors": _errors(form)}
        )
        return redirect("dashboard")
    try:
        kpi_target_update(target=target, actor=request.user, request=request, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Target saved: %(target)s") % {"target": target})
    return redirect("dashboard")


@login_required
@require_POST
def goal_create_view(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "kpis.add_goal"):
        raise PermissionDenied
    form = GoalForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The goal was not saved: %(errors)s") % {"errors": _errors(form)})
        return redirect("dashboard")
    figures, _extra = current_values(latest_run())
    baseline = kpi_value(figures, form.cleaned_data["kpi"])
    if baseline is None:
        messages.error(request, _("The goal was not saved: this KPI has no value yet."))
        return redirect("dashboard")
    fields = dict(form.cleaned_data)
    playbook = fields.pop("playbook", None)
    try:
        goal = goal_create(actor=request.user, request=request, baseline=baseline, **fields)
        if playbook is not None:
            playbook_goal_link(playbook=playbook, goal=goal, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Goal saved."))
    return redirect("dashboard")


@login_required
@require_POST
def goal_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, "kpis.delete_goal"):
        raise PermissionDenied
    goal_delete(goal=get_object_or_404(Goal, pk=pk), actor=request.user, request=request)
    messages.success(request, _("Goal removed."))
    return redirect("dashboard")


def _errors(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[f].label if f in form.fields else ''}: {' '.join(str(m) for m in e)}"
        for f, e in form.errors.items()
    )
