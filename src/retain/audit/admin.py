from __future__ import annotations

from typing import Any

from django.contrib import admin

from retain.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the trail cannot be edited in the app."""

    list_display = ("at", "actor_name", "action", "object_type", "object_repr", "customer", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("actor_name", "object_repr", "object_id", "customer__code")
    date_hierarchy = "at"
    list_select_related = ("customer",)
    show_full_result_count = False

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
