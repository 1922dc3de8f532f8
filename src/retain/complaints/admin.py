from django.contrib import admin

from retain.audit.admin_mixins import CustomerDataAdmin
from retain.complaints.models import Complaint, ComplaintEscalation


@admin.register(Complaint)
class ComplaintAdmin(CustomerDataAdmin):
    list_display = (
        "customer",
        "opened_at",
        "category",
        "severity",
        "status",
        "owner",
        "first_response_at",
    )
    list_filter = ("status", "severity", "channel", "owner")
    search_fields = ("customer__code", "customer__name", "category", "description")
    date_hierarchy = "opened_at"
    raw_id_fields = ("customer",)
    list_select_related = ("customer", "owner")


@admin.register(ComplaintEscalation)
class ComplaintEscalationAdmin(admin.ModelAdmin):
    list_display = ["complaint", "deadline", "escalated_at"]
    raw_id_fields = ["complaint"]
