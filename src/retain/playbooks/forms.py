from __future__ import annotations

from django import forms

from retain.playbooks.models import Playbook, PlaybookAction

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
        fields = ["name", "description", "segment", "owner", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
