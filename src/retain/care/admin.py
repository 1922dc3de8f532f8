from django.contrib import admin

from retain.care.models import CareTemplate, Delivery


@admin.register(CareTemplate)
class CareTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "occasion", "channel", "active"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["template", "address", "on", "status", "attempts", "sent_at"]
    list_filter = ["status", "on"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
