from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retain.interactions.models import FollowUpKind
from retain.tasks.models import WinbackOutcome


class TaskCompleteForm(forms.Form):
    method = forms.ChoiceField(label=_("Method"), choices=FollowUpKind.choices)
    occurred_at = forms.DateTimeField(
        label=_("When it happened"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    content = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 2}))
    feedback = forms.CharField(
        label=_("Customer feedback"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=300)
    next_step_on = forms.DateField(
        label=_("Next step date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    outcome = forms.ChoiceField(
        label=_("Win-back outcome"),
        required=False,
        choices=[("", "—"), *WinbackOutcome.choices],
    )
    outcome_reason = forms.CharField(label=_("Why"), required=False, max_length=300)
