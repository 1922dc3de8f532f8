from django.contrib import admin

from retain.scoring.models import CustomerScore, KpiSnapshot, ScoringRun, SegmentChange, TagRule


@admin.register(ScoringRun)
class ScoringRunAdmin(admin.ModelAdmin):
    list_display = ["as_of", "status", "started_at", "finished_at", "customers", "changes", "error"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in ScoringRun._meta.fields]


@admin.register(CustomerScore)
class CustomerScoreAdmin(admin.ModelAdmin):
    list_display = ["customer", "as_of", "quadrant", "lifecycle_stage", "rfm_segment", "churn_risk"]
    list_filter = ["quadrant", "lifecycle_stage", "churn_risk"]
    search_fields = ["customer__code", "customer__name"]
    raw_id_fields = ["customer", "run"]


@admin.register(SegmentChange)
class SegmentChangeAdmin(admin.ModelAdmin):
    list_display = ["customer", "as_of", "dimension", "from_value", "to_value"]
    list_filter = ["dimension", "as_of"]
    raw_id_fields = ["customer"]


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    list_display = ["month", "as_of"]


@admin.register(TagRule)
class TagRuleAdmin(admin.ModelAdmin):
    list_display = ["tag", "active", "conditions"]
