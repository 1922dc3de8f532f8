from typing import Any

from django.contrib import admin

from retain.playbooks.models import Playbook, PlaybookAction, PlaybookVariant, Segment


class PlaybookActionInline(admin.TabularInline):
    model = PlaybookAction
    extra = 0


class PlaybookVariantInline(admin.TabularInline):
    """Shown, not edited: variants are changed on the playbook's own page, through
    ``plan_arms_update`` (validated and audited), so the admin cannot bypass the rule."""

    model = PlaybookVariant
    extra = 0
    fields = ["name", "share"]
    readonly_fields = ["name", "share"]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["name", "segment", "owner", "active", "holdout_percent"]
    inlines = [PlaybookVariantInline, PlaybookActionInline]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
