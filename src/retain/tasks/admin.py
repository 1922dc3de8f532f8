from django.contrib import admin

from retain.tasks.models import ComplaintEscalation, Notification, Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "customer", "kind", "owner", "due_on", "status", "logged_late"]
    list_filter = ["kind", "status", "logged_late"]
    raw_id_fields = ["customer", "interaction", "action"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "text", "created_at", "read_at"]


@admin.register(ComplaintEscalation)
class ComplaintEscalationAdmin(admin.ModelAdmin):
    list_display = ["complaint", "deadline", "escalated_at"]
    raw_id_fields = ["complaint"]
