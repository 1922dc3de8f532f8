from django.contrib import admin

from retain.audit.admin_mixins import CustomerDataAdmin
from retain.tags.models import CustomerTag, Tag, TagGroup


class TagInline(admin.TabularInline):
    model = Tag
    extra = 0


@admin.register(TagGroup)
class TagGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "kind")
    list_filter = ("kind",)
    inlines = [TagInline]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "group", "automatic")
    list_filter = ("group", "automatic")
    search_fields = ("name",)


@admin.register(CustomerTag)
class CustomerTagAdmin(CustomerDataAdmin):
    list_display = ("customer", "tag", "automatic", "tagged_by", "tagged_at")
    list_filter = ("tag", "automatic")
    search_fields = ("customer__code", "customer__name", "tag__name")
    raw_id_fields = ("customer",)
