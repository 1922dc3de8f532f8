from django.contrib import admin

from retain.tasks.models import Notification, Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "customer", "kind", "owner", "due_on", "status", "logged_late"]
    list_filter = ["kind", "status", "logged_late"]
    raw_id_fields = ["customer", "followup", "action"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "text", "created_at", "read_at"]
