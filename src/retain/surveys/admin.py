from typing import Any

from django.contrib import admin
from django.utils import timezone

from retain.audit.admin_mixins import CustomerDataAdmin
from retain.surveys.models import Survey, SurveyInvitation, SurveyQuestion, SurveyResponse
from retain.surveys.services import answer_follow_up_open


class SurveyQuestionInline(admin.StackedInline):
    model = SurveyQuestion
    extra = 1


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    """The survey builder: texts in both languages, the thank-you page and the questions."""

    list_display = ("name", "title_zh", "title_en", "valid_days")
    search_fields = ("name",)
    inlines = [SurveyQuestionInline]


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(CustomerDataAdmin):
    list_display = ("customer", "survey", "channel", "created_at", "sent_at", "expires_at")
    list_filter = ("survey", "channel")
    raw_id_fields = ("customer", "response")
    readonly_fields = ("sent_at", "reminded_at", "response", "last_error")
    exclude = ("token_hash",)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(CustomerDataAdmin):
    list_display = ("customer", "survey", "sent_at", "answered_at", "nps", "satisfaction")
    list_filter = ("survey", "nps", "satisfaction")
    search_fields = ("customer__code", "customer__name", "comment")
    raw_id_fields = ("customer",)
    list_select_related = ("customer", "survey")

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # audited
        # An answer entered or corrected here is followed up by the rule every door uses:
        # an unhappy one gets its call-back task at once, once per answer.
        answer_follow_up_open(response=obj, now=timezone.now())
