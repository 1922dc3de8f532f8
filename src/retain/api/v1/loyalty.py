"""Loyalty: a customer's membership (balance, tier, privileges, ledger, coupons), redeeming and
adjusting points, using a coupon on an order, and the programme's KPIs."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Path, Router, Schema

from retain.accounts.access import loyalty_may_view, require
from retain.api import schemas as s
from retain.api.v1.common import Code, customer_of, user_of
from retain.kpis.figures import loyalty_figures
from retain.loyalty.coupons import coupon_redeem
from retain.loyalty.ledger import points_adjust, points_balance, points_redeem
from retain.loyalty.selectors import membership, privileges
from retain.orders.models import Order

router = Router(tags=["loyalty"])


class TierOut(Schema):
    code: str
    name: str
    rank: int
    discount_percent: Decimal
    points_multiplier: Decimal
    priority: bool
    free_shipping: bool
    dedicated_manager: bool
    privileges: list[str]


class EntryOut(Schema):
    id: int
    on: dt.date
    kind: str
    points: int
    expires_on: dt.date | None
    order: str | None
    reason: str


class CouponHeld(Schema):
    code: str
    name: str
    kind: str
    value: Decimal
    min_spend: Decimal
    valid_from: dt.date
    valid_until: dt.date
    uses: int
    limit: int


class TierChangeOut(Schema):
    on: dt.date
    from_tier: str | None
    to_tier: str


class MembershipOut(Schema):
    customer: str
    balance: int
    value: Decimal = Field(description="The balance in yuan (points x value of a point).")
    tier: TierOut | None
    tier_since: dt.date | None
    grace_since: dt.date | None = Field(
        description="Below the tier's threshold since this day: a downgrade follows the grace."
    )
    referral_code: str
    entries: list[EntryOut]
    tier_history: list[TierChangeOut]
    coupons: list[CouponHeld]


class RedeemIn(Schema):
    points: int = Field(ge=1, le=10**9)
    order: str | None = Field(None, max_length=64, description="Order number it is spent on.")
    reward: str = Field("", max_length=200, description="The reward, when not on an order.")


class AdjustIn(Schema):
    points: int = Field(ge=-(10**9), le=10**9, description="Negative to take points away.")
    reason: str = Field(max_length=300, min_length=1)


class BalanceOut(Schema):
    entry: int
    balance: int


class CouponRedeemIn(Schema):
    order: str = Field(max_length=64, description="Order number the coupon is used on.")


class CouponRedeemOut(Schema):
    coupon: str
    order: str
    discount: Decimal


class LoyaltyKpisOut(Schema):
    as_of: dt.date
    members: int
    points_outstanding: int
    liability: Decimal = Field(description="Points outstanding x value of a point (yuan).")
    points_issued_12m: int
    points_redeemed_12m: int
    points_expired_12m: int
    redemption_rate: float | None = Field(description="Redeemed / issued points, 365 days.")
    breakage: float | None = Field(description="Expired / issued points, 365 days.")
    tier_distribution: dict[str, int]
    upgrades_12m: int
    downgrades_12m: int
    referrals: int
    referrals_rewarded: int
    referral_conversion: float | None
    coupons_issued: int
    coupons_used: int
    coupon_redemption: float | None


def _tier(tier: Any) -> dict[str, Any] | None:
    if tier is None:
        return None
    return {
        "code": tier.code,
        "name": str(tier),
        "rank": tier.rank,
        "discount_percent": tier.discount_percent,
        "points_multiplier": tier.multiplier,
        "priority": tier.priority,
        "free_shipping": tier.free_shipping,
        "dedicated_manager": tier.dedicated_manager,
        "privileges": privileges(tier),
    }


@router.get("/customers/{code}", response={200: MembershipOut, **s.ERRORS})
def loyalty_get(request: HttpRequest, code: Code) -> Any:
    """A customer's points balance, tier and privileges, last 50 ledger entries, coupons."""
    user = user_of(request)
    customer = customer_of(request, code)
    require(user, "customers.view_customer")
    if not loyalty_may_view(user, customer):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    m = membership(customer=customer)
    return {
        "customer": customer.code,
        "balance": m.balance,
        "value": m.value,
        "tier": _tier(m.tier),
        "tier_since": m.tier_since,
        "grace_since": m.below_since,
        "referral_code": m.referral_code,
        "entries": [
            {
                "id": e.pk,
                "on": e.on,
                "kind": e.kind,
                "points": e.points,
                "expires_on": e.expires_on,
                "order": e.order.number if e.order else None,
                "reason": e.reason,
            }
            for e in m.entries
        ],
        "tier_history": [
            {
                "on": c.on,
                "from_tier": c.from_tier.code if c.from_tier else None,
                "to_tier": c.to_tier.code,
            }
            for c in m.tier_changes
        ],
        "coupons": [
            {
                "code": i.coupon.code,
                "name": i.coupon.name,
                "kind": i.coupon.kind,
                "value": i.coupon.value,
                "min_spend": i.coupon.min_spend,
                "valid_from": i.coupon.valid_from,
                "valid_until": i.coupon.valid_until,
                "uses": i.uses,
                "limit": i.coupon.per_customer_limit,
            }
            for i in m.coupons
        ],
    }


@router.post("/customers/{code}/redeem", response={201: BalanceOut, **s.ERRORS})
def loyalty_redeem(request: HttpRequest, code: Code, payload: RedeemIn) -> Any:
    """Spend points on an order or a reward; 422 beyond the balance (never negative)."""
    customer = customer_of(request, code)
    order = None
    if payload.order:
        order = get_object_or_404(Order, customer=customer, number=payload.order)
    entry = points_redeem(
        customer=customer,
        points=payload.points,
        on=timezone.localdate(),
        order=order,
        reward=payload.reward,
        actor=user_of(request),
        request=request,
    )
    return 201, {"entry": entry.pk, "balance": points_balance(customer)}


@router.post("/customers/{code}/adjust", response={201: BalanceOut, **s.ERRORS})
def loyalty_adjust(request: HttpRequest, code: Code, payload: AdjustIn) -> Any:
    """Add or take away points with a reason (managers and administrators); audited."""
    customer = customer_of(request, code)
    entry = points_adjust(
        customer=customer,
        points=payload.points,
        reason=payload.reason,
        on=timezone.localdate(),
        actor=user_of(request),
        request=request,
    )
    return 201, {"entry": entry.pk if entry else 0, "balance": points_balance(customer)}


CouponCode = Annotated[str, Path(max_length=40)]


@router.post(
    "/customers/{code}/coupons/{coupon}/redeem", response={201: CouponRedeemOut, **s.ERRORS}
)
def loyalty_coupon_redeem(
    request: HttpRequest, code: Code, coupon: CouponCode, payload: CouponRedeemIn
) -> Any:
    """Use the customer's coupon on one of their orders (validity, minimum spend, limit)."""
    customer = customer_of(request, code)
    order = get_object_or_404(Order, customer=customer, number=payload.order)
    used = coupon_redeem(
        customer=customer,
        code=coupon,
        order=order,
        on=timezone.localdate(order.ordered_at),
        actor=user_of(request),
        request=request,
    )
    return 201, {"coupon": coupon, "order": order.number, "discount": used.discount}


@router.get("/kpis", response={200: LoyaltyKpisOut, **s.ERRORS})
def loyalty_kpis_get(request: HttpRequest, as_of: s.Day | None = None) -> Any:
    """The programme's KPIs over the customers you may see, as of ``as_of`` (today)."""
    user = user_of(request)
    require(user, "customers.view_customer")
    return loyalty_figures(as_of=as_of or timezone.localdate(), user=user)
