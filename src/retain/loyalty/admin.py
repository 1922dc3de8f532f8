"""The back office for loyalty: settings, tiers, points rules and coupons are saved through
``loyalty.config`` (role check, validation, audit, like the loyalty pages); the ledger, tier
history, referrals and coupon uses are read-only here (they change through the services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from retain.loyalty.config import loyalty_config_delete, loyalty_config_save, may_edit
from retain.loyalty.models import (
    ActionCoupon,
    CampaignRule,
    CategoryRule,
    Coupon,
    CouponIssue,
    CouponRedemption,
    LoyaltyAccount,
    LoyaltySettings,
    PointsEntry,
    Referral,
    Tier,
    TierChange,
)


class ConfigAdmin(admin.ModelAdmin):
    """Writes go through the one loyalty configuration service."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_edit(request.user, self.model)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_edit(request.user, self.model)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_edit(request.user, self.model)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        loyalty_config_save(obj, actor=request.user, request=request)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        loyalty_config_delete(obj, actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for obj in queryset:
            loyalty_config_delete(obj, actor=request.user, request=request)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the services only (the ledger is append-only)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)


@admin.register(LoyaltySettings)
class LoyaltySettingsAdmin(ConfigAdmin):
    list_display = ["__str__", "points_per_yuan", "expiry_months", "point_value", "tier_basis"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not LoyaltySettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tier)
class TierAdmin(ConfigAdmin):
    list_display = ["rank", "code", "name", "name_zh", "threshold", "multiplier"]
    list_display_links = ["code"]


@admin.register(CategoryRule)
class CategoryRuleAdmin(ConfigAdmin):
    list_display = ["category", "mode", "multiplier", "points"]
    fields = ["category", "mode", "multiplier", "points"]


@admin.register(CampaignRule)
class CampaignRuleAdmin(ConfigAdmin):
    list_display = ["campaign", "mode", "multiplier", "points"]
    fields = ["campaign", "mode", "multiplier", "points"]


@admin.register(Coupon)
class CouponAdmin(ConfigAdmin):
    list_display = ["code", "name", "kind", "value", "min_spend", "valid_from", "valid_until"]
    search_fields = ["code", "name"]


@admin.register(ActionCoupon)
class ActionCouponAdmin(ConfigAdmin):
    list_display = ["action", "coupon"]


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = ["on", "customer", "kind", "points", "expires_on", "reason", "created_by"]
    list_filter = ["kind"]
    search_fields = ["customer__code", "key", "reason"]
    date_hierarchy = "on"
    list_select_related = ["customer", "created_by"]


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyAdmin):
    list_display = ["customer", "tier", "tier_since", "below_since", "referral_code"]
    search_fields = ["customer__code", "referral_code"]
    list_select_related = ["customer", "tier"]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["on", "customer", "from_tier", "to_tier", "basis"]


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["on", "referrer", "referee", "via", "status", "refusal"]
    list_filter = ["status"]


@admin.register(CouponIssue)
class CouponIssueAdmin(ReadOnlyAdmin):
    list_display = ["issued_on", "coupon", "customer", "via", "uses"]
    list_filter = ["via"]


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(ReadOnlyAdmin):
    list_display = ["on", "issue", "order", "discount"]
