from django.contrib import admin

from retain.audit.admin_mixins import CustomerDataAdmin
from retain.interactions.models import Interaction


@admin.register(Interaction)
class InteractionAdmin(CustomerDataAdmin):
    list_display = ("customer", "kind", "occurred_at", "logged_at", "owner", "next_step_on")
    list_filter = ("kind", "owner")
    search_fields = ("customer__code", "customer__name", "content", "feedback")
    date_hierarchy = "occurred_at"
    raw_id_fields = ("customer", "contact")
    list_select_related = ("customer", "owner")
