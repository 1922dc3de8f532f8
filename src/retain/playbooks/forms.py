from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from retain.playbooks.models import Playbook, PlaybookAction, PlaybookVariant

ActionFormSet = forms.inlineformset_factory(
    Playbook,
    PlaybookAction,
    fields=[
        "name",
        "every_days",
        "channel",
        "template",
        "owner_rule",
        "team",
        "fixed_user",
        "variant",
        "active",
    ],
    widgets={
        "template": forms.Textarea(attrs={"rows": 2}),
        # offers every two weeks / month / quarter (the edit page's datalist), any number fits
        "every_days": forms.NumberInput(attrs={"list": "cadences", "min": 1}),
    },
    extra=1,
    can_delete=True,
)


class PlaybookForm(forms.ModelForm):
    class Meta:
        model = Playbook
        fields = [
            "name",
            "description",
            "segment",
            "owner",
            "active",
            "holdout_percent",
            "min_effect_points",
            "goals",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # left out of a post (an older form, a script): the plan keeps its measurement settings
        for name in ("holdout_percent", "min_effect_points"):
            self.fields[name].required = False
        self.fields["goals"].required = False


def action_formset(data: Any, *, playbook: Playbook | None) -> Any:
    """The actions of a playbook, each variant choice limited to the playbook's variants."""
    actions = ActionFormSet(data, instance=playbook or Playbook())
    variants = (
        PlaybookVariant.objects.filter(playbook=playbook)
        if playbook is not None
        else PlaybookVariant.objects.none()
    )
    for form in [*actions.forms, actions.empty_form]:
        form.fields["variant"].queryset = variants  # type: ignore[attr-defined]
    return actions


class VariantForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("name"), max_length=60, required=False)
    share = forms.IntegerField(label=_("share"), min_value=1, max_value=100, required=False)
    DELETE = forms.BooleanField(label=_("Delete"), required=False)


VariantFormSet = forms.formset_factory(VariantForm, extra=1)


class ArmsForm(forms.Form):
    holdout_percent = forms.IntegerField(label=_("control group (%)"), min_value=0, max_value=50)
