from django.contrib import admin

from retain.audit.admin_mixins import CustomerDataAdmin
from retain.feedback.models import Survey, SurveyResponse


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(CustomerDataAdmin):
    list_display = ("customer", "survey", "sent_at", "answered_at", "nps", "satisfaction")
    list_filter = ("survey", "nps", "satisfaction")
    search_fields = ("customer__code", "customer__name", "comment")
    raw_id_fields = ("customer",)
    list_select_related = ("customer", "survey")
