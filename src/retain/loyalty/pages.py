"""The loyalty pages: coupons (make, issue to a segment or customers, their uses) and the
programme's settings, tiers and points rules (per category, per campaign). Every write goes through a loyalty service (the same role
check, validation and audit as the back office and the API)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import customers_visible_to, loyalty_may_configure, loyalty_may_manage
from retain.loyalty.config import loyalty_config_delete, loyalty_config_save
from retain.loyalty.coupons import coupon_create, coupon_issue, coupon_issue_to_segment
from retain.loyalty.ledger import loyalty_settings
from retain.loyalty.models import (
    CampaignRule,
    CategoryRule,
    Coupon,
    CouponRedemption,
    IssueVia,
    LoyaltySettings,
    Tier,
)
from retain.playbooks.models import Segment


class CouponForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = [
            "code",
            "name",
            "kind",
            "value",
            "min_spend",
            "valid_from",
            "valid_until",
            "per_customer_limit",
            "tier",
        ]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
        }


class IssueForm(forms.Form):
    segment = forms.ModelChoiceField(
        Segment.objects.order_by("name"), required=False, label=_("Segment")
    )
    customers = forms.CharField(
        required=False,
        label=_("Customer codes"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("separated by spaces, commas or new lines"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("segment") and not data.get("customers", "").strip():
            raise ValidationError(_("Choose a segment or enter customer codes."))
        return data


class SettingsForm(forms.ModelForm):
    class Meta:
        model = LoyaltySettings
        fields = [
            "points_per_yuan",
            "expiry_months",
            "point_value",
            "tier_basis",
            "tier_grace_days",
            "birthday_bonus",
            "survey_bonus",
            "referrer_bonus",
            "referee_bonus",
            "return_window_days",
        ]


TierFormSet = forms.modelformset_factory(
    Tier,
    fields=[
        "code",
        "name",
        "name_zh",
        "rank",
        "threshold",
        "multiplier",
        "discount_percent",
        "priority",
        "free_shipping",
        "dedicated_manager",
    ],
    extra=1,
)

#: The points rules: a row per category or campaign; the last (blank) row adds one, "delete"
#: removes one (the orders already credited keep their points).
CategoryRuleFormSet = forms.modelformset_factory(
    CategoryRule, fields=["category", "mode", "multiplier", "points"], extra=1, can_delete=True
)
CampaignRuleFormSet = forms.modelformset_factory(
    CampaignRule, fields=["campaign", "mode", "multiplier", "points"], extra=1, can_delete=True
)


def _manage(request: HttpRequest) -> None:
    if not loyalty_may_manage(request.user):
        raise PermissionDenied


def _errors(form: forms.BaseForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def coupons_view(request: HttpRequest) -> HttpResponse:
    _manage(request)
    form = CouponForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = coupon_create(actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("Coupon %(code)s made.") % {"code": made.code})
            return redirect("loyalty-coupon", pk=made.pk)
    coupons = Coupon.objects.annotate(
        issued=Count("issues", distinct=True),
        used=Count("issues__redemptions", distinct=True),
        discounts=Sum("issues__redemptions__discount"),
    ).order_by("-valid_from", "code")
    return render(
        request,
        "loyalty/coupons.html",
        {"nav": "loyalty", "form": form, "coupons": coupons, "today": timezone.localdate()},
        status=422 if form.errors else 200,
    )


@login_required
def coupon_view(request: HttpRequest, pk: int) -> HttpResponse:
    _manage(request)
    coupon = get_object_or_404(Coupon, pk=pk)
    form = IssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        today = timezone.localdate()
        try:
            if form.cleaned_data["segment"] is not None:
                given = coupon_issue_to_segment(
                    coupon=coupon,
                    segment=form.cleaned_data["segment"],
                    on=today,
                    actor=request.user,
                    request=request,
                )
            else:
                codes = {
                    c.upper() for c in re.split(r"[\s,，;；]+", form.cleaned_data["customers"])
                }
                codes.discard("")
                found = dict(
                    customers_visible_to(request.user)
                    .filter(code__in=codes)
                    .values_list("code", "pk")
                )
                unknown = sorted(codes - found.keys())
                if unknown:
                    raise ValidationError(
                        {
                            "customers": _("Not found or not yours: %(codes)s")
                            % {"codes": ", ".join(unknown)}
                        }
                    )
                given = coupon_issue(
                    coupon=coupon,
                    customer_ids=found.values(),
                    via=IssueVia.MANUAL,
                    on=today,
                    actor=request.user,
                    request=request,
                )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("Coupon given to %(n)s customers.") % {"n": given})
            return redirect("loyalty-coupon", pk=coupon.pk)
    issues = coupon.issues.select_related("customer").order_by("-issued_on", "-pk")[:200]
    redemptions = (
        CouponRedemption.objects.filter(issue__coupon=coupon)
        .select_related("issue__customer", "order")
        .order_by("-on", "-pk")[:200]
    )
    return render(
        request,
        "loyalty/coupon.html",
        {
            "nav": "loyalty",
            "coupon": coupon,
            "form": form,
            "issues": issues,
            "issued": coupon.issues.count(),
            "redemptions": redemptions,
        },
        status=422 if form.errors else 200,
    )


def _formset_save(formset: Any, *, request: HttpRequest) -> None:
    """Save a rules formset row by row through the one configuration service."""
    for row in formset.forms:
        delete = row.cleaned_data.get("DELETE", False)
        if delete and row.instance.pk is not None:
            loyalty_config_delete(row.instance, actor=request.user, request=request)
        elif row.has_changed() and not delete:
            loyalty_config_save(row.instance, actor=request.user, request=request)


@login_required
def settings_view(request: HttpRequest) -> HttpResponse:
    if not loyalty_may_configure(request.user):
        raise PermissionDenied
    conf = loyalty_settings()
    data = request.POST or None
    form = SettingsForm(data, instance=conf, prefix="s")
    tiers = TierFormSet(data, queryset=Tier.objects.order_by("rank"), prefix="t")
    category_rules = CategoryRuleFormSet(
        data, queryset=CategoryRule.objects.select_related("category").order_by("pk"), prefix="c"
    )
    campaign_rules = CampaignRuleFormSet(
        data, queryset=CampaignRule.objects.select_related("campaign").order_by("pk"), prefix="p"
    )
    rule_sets = (category_rules, campaign_rules)
    valid = form.is_valid() and tiers.is_valid() and all(r.is_valid() for r in rule_sets)
    if request.method == "POST" and valid:
        try:
            with transaction.atomic():
                loyalty_config_save(form.instance, actor=request.user, request=request)
                for tier_form in tiers.forms:
                    if tier_form.has_changed():
                        loyalty_config_save(tier_form.instance, actor=request.user, request=request)
                for rules in rule_sets:
                    _formset_save(rules, request=request)
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("Loyalty settings saved."))
            return redirect("loyalty-settings")
    return render(
        request,
        "loyalty/settings.html",
        {
            "nav": "loyalty",
            "form": form,
            "tiers": tiers,
            "category_rules": category_rules,
            "campaign_rules": campaign_rules,
        },
        status=422 if request.method == "POST" else 200,
    )
