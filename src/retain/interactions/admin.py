from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import followup_may_log
from retain.audit.admin_mixins import CustomerDataAdmin
from retain.interactions.models import FollowUp
from retain.interactions.services import followup_check, followup_log

#: The fields a person fills in when logging a follow-up in the admin.
LOGGED_FIELDS = (
    "customer",
    "contact",
    "kind",
    "occurred_at",
    "content",
    "feedback",
    "outcome",
    "next_step",
    "next_step_on",
    "owner",
)


class FollowUpAdminForm(forms.ModelForm):
    user: Any = None

    class Meta:
        model = FollowUp
        fields = LOGGED_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        followup_check(
            occurred_at=data.get("occurred_at"),
            next_step_on=data.get("next_step_on"),
            now=timezone.now(),
        )
        customer = data.get("customer")
        new = self.instance.pk is None
        if new and customer is not None and not followup_may_log(self.user, customer):
            raise ValidationError({"customer": _("You may not log follow-ups of this customer.")})
        return data


@admin.register(FollowUp)
class FollowUpAdmin(CustomerDataAdmin):
    form = FollowUpAdminForm
    list_display = ("customer", "kind", "occurred_at", "logged_at", "owner", "next_step_on")
    list_filter = ("kind", "owner")
    search_fields = ("customer__code", "customer__name", "content", "feedback")
    date_hierarchy = "occurred_at"
    raw_id_fields = ("customer", "contact")
    list_select_related = ("customer", "owner")
    readonly_fields = ("logged_at",)

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user  # type: ignore[attr-defined]
        return form

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new follow-up goes through the service every door uses: validated, audited, and
        # its next-step date becomes a task.
        saved = followup_log(
            actor=request.user,
            request=request,
            **{f: form.cleaned_data.get(f) for f in LOGGED_FIELDS if f != "owner"},
            owner=form.cleaned_data.get("owner") or request.user,
        )
        obj.pk = saved.pk
        obj.logged_at = saved.logged_at
