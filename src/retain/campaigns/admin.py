from django.contrib import admin

from retain.audit.admin_mixins import CustomerDataAdmin
from retain.campaigns.models import Campaign, CampaignParticipation


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "starts_on", "ends_on")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(CampaignParticipation)
class CampaignParticipationAdmin(CustomerDataAdmin):
    list_display = ("campaign", "customer", "joined_at", "converted")
    list_filter = ("campaign", "converted")
    search_fields = ("customer__code", "customer__name")
    raw_id_fields = ("customer",)
