from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retain.campaigns.models import Campaign
from retain.campaigns.services import CAMPAIGN_FIELDS
from retain.care.models import CareTemplate
from retain.care.services import CARE_TEMPLATE_FIELDS


class CampaignForm(forms.ModelForm):
    webhook_url = forms.URLField(label=_("webhook URL"), required=False, assume_scheme="https")

    class Meta:
        model = Campaign
        fields = list(CAMPAIGN_FIELDS)
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 2}),
            "body": forms.Textarea(attrs={"rows": 6}),
        }


class CareTemplateForm(forms.ModelForm):
    webhook_url = forms.URLField(label=_("webhook URL"), required=False, assume_scheme="https")

    class Meta:
        model = CareTemplate
        fields = list(CARE_TEMPLATE_FIELDS)
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}
