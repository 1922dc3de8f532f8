from django.contrib import admin

from retain.imports.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "original_name",
        "status",
        "created_by",
        "created_at",
        "created_count",
        "updated_count",
        "rejected_count",
    ]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False
