"""Reads of the loyalty programme: one customer's membership, and the programme's KPIs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from retain.customers.models import Customer
from retain.loyalty.ledger import loyalty_settings, points_balance
from retain.loyalty.models import (
    CREDIT_KINDS,
    CouponIssue,
    EntryKind,
    LoyaltyAccount,
    PointsEntry,
    Referral,
    ReferralStatus,
    Tier,
    TierChange,
)


@dataclass
class Membership:
    balance: int
    value: Decimal
    tier: Tier | None
    tier_since: dt.date | None
    below_since: dt.date | None
    referral_code: str
    entries: list[PointsEntry]
    tier_changes: list[TierChange]
    coupons: list[CouponIssue]
    referrals_made: int
    referrals_rewarded: int


def membership(*, customer: Customer, history: int = 50) -> Membership:
    """A customer's balance, tier and privileges, ledger, tier history and coupons."""
    account = LoyaltyAccount.objects.filter(customer=customer).select_related("tier").first()
    balance = points_balance(customer)
    made = Referral.objects.filter(referrer=customer)
    return Membership(
        balance=balance,
        value=(balance * loyalty_settings().point_value).quantize(Decimal("0.01")),
        tier=account.tier if account else None,
        tier_since=account.tier_since if account else None,
        below_since=account.below_since if account else None,
        referral_code=account.referral_code if account else "",
        entries=list(
            PointsEntry.objects.filter(customer=customer)
            .select_related("order", "created_by")
            .order_by("-on", "-pk")[:history]
        ),
        tier_changes=list(
            TierChange.objects.filter(customer=customer).select_related("from_tier", "to_tier")
        ),
        coupons=list(CouponIssue.objects.filter(customer=customer).select_related("coupon")),
        referrals_made=made.count(),
        referrals_rewarded=made.filter(status=ReferralStatus.REWARDED).count(),
    )


def privileges(tier: Tier | None) -> list[str]:
    """The privileges of a tier, as labels (in the active language)."""
    from django.utils.translation import gettext as _

    if tier is None:
        return []
    out = []
    if tier.discount_percent:
        out.append(_("%(p)s%% member discount") % {"p": tier.discount_percent.normalize()})
    if tier.multiplier != 1:
        out.append(_("points x%(m)s") % {"m": tier.multiplier.normalize()})
    if tier.priority:
        out.append(_("priority purchase and service"))
    if tier.free_shipping:
        out.append(_("free shipping"))
    if tier.dedicated_manager:
        out.append(_("dedicated account manager"))
    return out


@dataclass
class LoyaltyKpis:
    """The programme's figures over a set of customers, for the 365 days up to ``as_of``."""

    as_of: dt.date
    members: int
    points_outstanding: int
    liability: Decimal  # points outstanding x value of a point (yuan)
    points_issued_12m: int
    points_redeemed_12m: int
    points_expired_12m: int
    redemption_rate: float | None  # redeemed / issued, 12 months
    breakage: float | None  # expired / issued, 12 months
    tier_distribution: dict[str, int] = field(default_factory=dict)
    upgrades_12m: int = 0
    downgrades_12m: int = 0
    referrals: int = 0
    referrals_rewarded: int = 0
    referral_conversion: float | None = None
    coupons_issued: int = 0
    coupons_used: int = 0
    coupon_redemption: float | None = None


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def loyalty_kpis(*, as_of: dt.date, customers: QuerySet[Customer] | None = None) -> LoyaltyKpis:
    """Points liability, redemption rate, breakage, tiers, referral and coupon conversion."""
    start = as_of - dt.timedelta(days=364)
    entries = PointsEntry.objects.filter(on__lte=as_of)
    accounts = LoyaltyAccount.objects.all()
    changes = TierChange.objects.filter(on__gte=start, on__lte=as_of, from_tier__isnull=False)
    referrals = Referral.objects.filter(on__lte=as_of)
    issues = CouponIssue.objects.filter(issued_on__lte=as_of)
    if customers is not None:
        ids = customers.values("pk")
        entries = entries.filter(customer_id__in=ids)
        accounts = accounts.filter(customer_id__in=ids)
        changes = changes.filter(customer_id__in=ids)
        referrals = referrals.filter(referrer_id__in=ids)
        issues = issues.filter(customer_id__in=ids)
    outstanding = int(entries.aggregate(s=Sum("points"))["s"] or 0)
    window = entries.filter(on__gte=start)
    sums = window.aggregate(
        issued=Sum(
            "points", filter=Q(kind__in=CREDIT_KINDS) | Q(kind=EntryKind.ADJUST, points__gt=0)
        ),
        redeemed=Sum("points", filter=Q(kind=EntryKind.REDEEM)),
        expired=Sum("points", filter=Q(kind=EntryKind.EXPIRE)),
    )
    issued = int(sums["issued"] or 0)
    redeemed = -int(sums["redeemed"] or 0)
    expired = -int(sums["expired"] or 0)
    names = {t.pk: t.code for t in Tier.objects.all()}
    distribution = {t.code: 0 for t in Tier.objects.order_by("rank")}
    for row in accounts.filter(tier__isnull=False).values("tier_id").annotate(n=Count("pk")):
        distribution[names[row["tier_id"]]] = row["n"]
    moves = changes.values_list("from_tier__rank", "to_tier__rank")
    ups = sum(1 for a, b in moves if b > a)
    counted = referrals.exclude(status=ReferralStatus.REFUSED)
    rewarded = counted.filter(status=ReferralStatus.REWARDED).count()
    n_referrals = counted.count()
    n_issues = issues.count()
    used = issues.filter(uses__gt=0).count()
    return LoyaltyKpis(
        as_of=as_of,
        members=accounts.count(),
        points_outstanding=outstanding,
        liability=(outstanding * loyalty_settings().point_value).quantize(Decimal("0.01")),
        points_issued_12m=issued,
        points_redeemed_12m=redeemed,
        points_expired_12m=expired,
        redemption_rate=_ratio(redeemed, issued),
        breakage=_ratio(expired, issued),
        tier_distribution=distribution,
        upgrades_12m=ups,
        downgrades_12m=len(moves) - ups,
        referrals=n_referrals,
        referrals_rewarded=rewarded,
        referral_conversion=_ratio(rewarded, n_referrals),
        coupons_issued=n_issues,
        coupons_used=used,
        coupon_redemption=_ratio(used, n_issues),
    )


def kpis_as_dict(k: LoyaltyKpis) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(k)
