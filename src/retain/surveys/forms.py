"""Forms of the survey pages (validation of what is typed; the rules are the services')."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from retain.surveys.models import InvitationChannel, QuestionKind, Survey, SurveyTrigger

LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
SEND_CHANNELS = [
    (InvitationChannel.EMAIL.value, InvitationChannel.EMAIL.label),
    (InvitationChannel.WEBHOOK.value, InvitationChannel.WEBHOOK.label),
]


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = [
            "name",
            "description",
            "title_zh",
            "title_en",
            "thank_you_zh",
            "thank_you_en",
            "valid_days",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "thank_you_zh": forms.Textarea(attrs={"rows": 2}),
            "thank_you_en": forms.Textarea(attrs={"rows": 2}),
        }


class QuestionForm(forms.Form):
    pk = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label=_("kind"), choices=QuestionKind.choices)
    text_zh = forms.CharField(label=_("question (Chinese)"), max_length=300, required=False)
    text_en = forms.CharField(label=_("question (English)"), max_length=300, required=False)
    choices_zh = forms.CharField(
        label=_("choices (Chinese), one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    choices_en = forms.CharField(
        label=_("choices (English), one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    required = forms.BooleanField(label=_("required"), required=False)
    DELETE = forms.BooleanField(label=_("Delete"), required=False)


QuestionFormSet = forms.formset_factory(QuestionForm, extra=2)


class SendForm(forms.Form):
    segment: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("segment"),
        queryset=None,  # type: ignore[arg-type]  # set in __init__
    )
    channel = forms.ChoiceField(label=_("channel"), choices=SEND_CHANNELS)
    language = forms.ChoiceField(label=_("language"), choices=LANGUAGES)
    webhook_url = forms.URLField(
        label=_("webhook URL"), required=False, max_length=500, assume_scheme="https"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from retain.playbooks.models import Segment

        self.fields["segment"].queryset = Segment.objects.order_by("name")  # type: ignore[attr-defined]


class LinkForm(forms.Form):
    customer = forms.CharField(label=_("customer code"), max_length=64)
    language = forms.ChoiceField(label=_("language"), choices=LANGUAGES)


class TriggerForm(forms.ModelForm):
    webhook_url = forms.URLField(
        label=_("webhook URL"), required=False, max_length=500, assume_scheme="https"
    )

    class Meta:
        model = SurveyTrigger
        fields = [
            "event",
            "delay_days",
            "every_months",
            "segment",
            "channel",
            "language",
            "webhook_url",
            "active",
        ]
