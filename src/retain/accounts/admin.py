from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from retain.accounts.models import Team, User
from retain.accounts.services import user_role_set


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active", "is_staff")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Retain"), {"fields": ("role", "team", "language")}),
    )
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, (_("Retain"), {"fields": ("role", "team")}))

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        # After the form's own group field is saved, the role decides the role group, so a
        # role changed here moves the user's permissions with it.
        super().save_related(request, form, formsets, change)
        user_role_set(user=form.instance, role=form.instance.role)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "lead")
    search_fields = ("name",)
