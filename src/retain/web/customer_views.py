"""Customer 360 extras: scores in plain words, segment history, log a follow-up in place."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from retain.accounts.access import can, customers_visible_to
from retain.customers.models import Customer
from retain.interactions.models import FollowUp
from retain.interactions.services import followup_log
from retain.scoring.models import CustomerScore
from retain.tasks.models import Task, TaskStatus
from retain.web.explain import score_explain


class FollowupForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = [
            "kind",
            "occurred_at",
            "content",
            "feedback",
            "outcome",
            "next_step",
            "next_step_on",
        ]
        widgets = {
            "occurred_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "next_step_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "content": forms.Textarea(attrs={"rows": 2}),
            "feedback": forms.Textarea(attrs={"rows": 2}),
        }


def customer_360_context(user: Any, customer: Customer) -> dict[str, Any]:
    score = CustomerScore.objects.filter(customer=customer).first()
    return {
        "score": score,
        "explanation": score_explain(score=score) if score is not None else None,
        "open_tasks": Task.objects.filter(customer=customer, status=TaskStatus.OPEN)
        .select_related("owner")
        .order_by("due_on"),
        "can_log_followup": can(user, "interactions.add_followup"),
        "followup_form": FollowupForm(
            initial={"kind": "call", "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
        ),
    }


@login_required
@require_POST
def customer_followup_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = get_object_or_404(customers_visible_to(request.user), code=code)
    if not can(request.user, "interactions.add_followup"):
        raise PermissionDenied
    form = FollowupForm(request.POST)
    if form.is_valid():
        try:
            followup_log(
                customer=customer, actor=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as exc:
            messages.error(
                request,
                _("The follow-up was not logged: %(errors)s") % {"errors": "; ".join(exc.messages)},
            )
        else:
            messages.success(request, _("Follow-up logged."))
    else:
        errors = "; ".join(
            f"{form.fields[f].label if f in form.fields else ''}: {' '.join(str(m) for m in e)}"
            for f, e in form.errors.items()
        )
        messages.error(request, _("The follow-up was not logged: %(errors)s") % {"errors": errors})
    return redirect("customer-detail", code=customer.code)
