"""The monthly review page: the plans side by side over a month's entrants, the potential-
customer activation rate, and the cases of success and failure (recorded with htmx)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from retain.accounts.access import (
    customers_visible_to,
    plan_case_may_record,
    plan_review_may_view,
)
from retain.playbooks.models import CaseOutcome, Playbook
from retain.playbooks.review import (
    ACTIVATION_DAYS,
    month_next,
    month_parse,
    plan_case_record,
    plan_cases,
    plans_of_month,
    potential_activation,
)


class PlanCaseForm(forms.Form):
    playbook = forms.ModelChoiceField(label=_("Plan"), queryset=Playbook.objects.order_by("name"))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CaseOutcome.choices)
    customer = forms.CharField(
        label=_("Customer code"), max_length=32, required=False, help_text=_("Optional.")
    )
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}))


def _days(request: HttpRequest) -> int:
    try:
        return max(1, min(365, int(request.GET.get("days", ACTIVATION_DAYS))))
    except ValueError:
        return ACTIVATION_DAYS


def _context(request: HttpRequest, form: PlanCaseForm | None = None) -> dict[str, Any]:
    now = timezone.now()
    today = timezone.localdate(now)
    month = month_parse(request.GET.get("month") or request.POST.get("month"), default=today)
    visible = customers_visible_to(request.user)
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    plans = plans_of_month(month=month, now=now, customers=visible)
    return {
        "month": month,
        "previous": previous,
        "next": month_next(month) if month_next(month) <= today else None,
        "plans": plans,
        "entrants": any(m.comparisons for m in plans),
        "activation": potential_activation(
            month=month, now=now, days=_days(request), customers=visible
        ),
        "cases": plan_cases(month=month, user=request.user),
        "can_record": plan_case_may_record(request.user),
        "form": form or PlanCaseForm(),
        "nav": "playbooks",
    }


@login_required
@require_GET
def plans_review_view(request: HttpRequest) -> HttpResponse:
    if not plan_review_may_view(request.user):
        raise PermissionDenied
    return render(request, "playbooks/review.html", _context(request))


@login_required
@require_POST
def plan_case_create_view(request: HttpRequest) -> HttpResponse:
    """Record a case (the review page's form, posted with htmx: the answer is the cases
    panel; without htmx, back to the page)."""
    if not plan_case_may_record(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    month = month_parse(request.POST.get("month"), default=today)
    form = PlanCaseForm(request.POST)
    if form.is_valid():
        code = form.cleaned_data["customer"].strip().upper()
        customer = None
        if code:
            customer = customers_visible_to(request.user).filter(code=code).first()
            if customer is None:
                form.add_error("customer", _("No customer you may see has this code."))
        if customer is not None or not code:
            try:
                plan_case_record(
                    playbook=form.cleaned_data["playbook"],
                    month=month,
                    outcome=form.cleaned_data["outcome"],
                    note=form.cleaned_data["note"],
                    customer=customer,
                    actor=request.user,
                    now=timezone.now(),
                    request=request,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                form = PlanCaseForm()
                if not request.headers.get("HX-Request"):
                    return redirect(f"{reverse('plans-review')}?month={month:%Y-%m}")
    context = {
        "month": month,
        "cases": plan_cases(month=month, user=request.user),
        "can_record": True,
        "form": form,
    }
    if not request.headers.get("HX-Request"):
        return render(request, "playbooks/review.html", _context(request, form), status=400)
    # htmx swaps only 2xx answers: the form shows its errors in place
    return render(request, "playbooks/_review_cases.html", context)
