from django.contrib import admin

from retain.playbooks.models import Playbook, PlaybookAction, Segment


class PlaybookActionInline(admin.TabularInline):
    model = PlaybookAction
    extra = 0


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["name", "segment", "owner", "active"]
    inlines = [PlaybookActionInline]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
