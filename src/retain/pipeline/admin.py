"""The status page of the nightly run (Admin → Nightly run → Nightly steps)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from retain.pipeline.models import PipelineStep, WorkerBeat, WorkerJob


@admin.register(PipelineStep)
class PipelineStepAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "outcome",
        "as_of",
        "finished_at",
        "error",
        "failed_at",
        "failures",
        "counts",
    ]
    list_filter = ["outcome"]
    readonly_fields = [f.name for f in PipelineStep._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WorkerBeat)
class WorkerBeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at"]
    readonly_fields = ["name", "beat_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WorkerJob)
class WorkerJobAdmin(admin.ModelAdmin):
    """Jobs whose worker stopped mid-job: queued again once, then failed (kept here)."""

    list_display = ["name", "status", "attempts", "host", "pid", "started_at", "error"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in WorkerJob._meta.fields if f.name != "data"]
    exclude = ["data"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
