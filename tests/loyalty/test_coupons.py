"""Coupons: made by marketing, issued to a segment or by a tier privilege, redeemed on orders
within their validity, minimum spend and per-customer limit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from retain.accounts.models import Role
from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.loyalty.coupons import (
    coupon_create,
    coupon_issue,
    coupon_issue_to_segment,
    coupon_redeem,
    coupons_issue_tier_privileges,
)
from retain.loyalty.models import (
    CouponIssue,
    CouponKind,
    CouponRedemption,
    IssueVia,
    LoyaltyAccount,
    Tier,
)
from retain.playbooks.models import Segment
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

D = dt.date


def coupon(**over):
    values = {
        "code": "spring-50",
        "name": "满300减50",
        "kind": CouponKind.AMOUNT,
        "value": Decimal(50),
        "min_spend": Decimal(300),
        "valid_from": D(2026, 3, 1),
        "valid_until": D(2026, 3, 31),
        "per_customer_limit": 2,
    }
    values.update(over)
    return coupon_create(**values)


def test_only_marketing_managers_and_admins_make_and_issue_coupons():
    sales = user_create(username="s1", password=PASSWORD, role=Role.SALES)
    marketing = user_create(username="m1", password=PASSWORD, role=Role.MARKETING)
    with pytest.raises(PermissionDenied):
        coupon(actor=sales)
    made = coupon(actor=marketing)
    with pytest.raises(PermissionDenied):
        coupon_issue(
            coupon=made,
            customer_ids=[CustomerFactory().pk],
            via=IssueVia.MANUAL,
            on=D(2026, 3, 1),
            actor=sales,
        )
    assert CouponIssue.objects.count() == 0
    assert AuditEvent.objects.filter(object_type="loyalty.coupon").count() == 1


def test_a_segment_gets_the_coupon_once_each():
    north = [CustomerFactory(region="华北") for _ in range(3)]
    CustomerFactory(region="华南")
    segment = Segment.objects.create(
        name="north", conditions={"all": [{"field": "region", "op": "eq", "value": "华北"}]}
    )
    made = coupon()

    assert coupon_issue_to_segment(coupon=made, segment=segment, on=D(2026, 3, 1)) == 3
    assert coupon_issue_to_segment(coupon=made, segment=segment, on=D(2026, 3, 2)) == 0
    assert set(CouponIssue.objects.values_list("customer_id", flat=True)) == {c.pk for c in north}


def test_redemption_checks_validity_minimum_spend_and_the_limit():
    customer = CustomerFactory()
    made = coupon()
    coupon_issue(coupon=made, customer_ids=[customer.pk], via=IssueVia.MANUAL, on=D(2026, 3, 1))
    small = OrderFactory(customer=customer, amount=Decimal(299))
    orders = [OrderFactory(customer=customer, amount=Decimal(400)) for _ in range(3)]

    with pytest.raises(ValidationError, match="minimum spend"):
        coupon_redeem(customer=customer, code="spring-50", order=small, on=D(2026, 3, 5))
    with pytest.raises(ValidationError, match="not valid"):
        coupon_redeem(customer=customer, code="spring-50", order=orders[0], on=D(2026, 4, 1))
    first = coupon_redeem(customer=customer, code="spring-50", order=orders[0], on=D(2026, 3, 31))
    with pytest.raises(ValidationError, match="already used on this order"):
        coupon_redeem(customer=customer, code="spring-50", order=orders[0], on=D(2026, 3, 31))
    coupon_redeem(customer=customer, code="spring-50", order=orders[1], on=D(2026, 3, 31))
    with pytest.raises(ValidationError, match="as often as it may"):
        coupon_redeem(customer=customer, code="spring-50", order=orders[2], on=D(2026, 3, 31))

    assert first.discount == Decimal(50)
    assert CouponRedemption.objects.count() == 2
    assert CouponIssue.objects.get().uses == 2
    with pytest.raises(ValidationError, match="no coupon"):
        coupon_redeem(
            customer=CustomerFactory(), code="spring-50", order=orders[2], on=D(2026, 3, 5)
        )


def test_a_subscription_discount_applies_to_every_order_while_valid():
    customer = CustomerFactory()
    made = coupon(
        code="sub-10",
        kind=CouponKind.SUBSCRIPTION,
        value=Decimal(10),
        min_spend=0,
        per_customer_limit=1,
    )
    coupon_issue(coupon=made, customer_ids=[customer.pk], via=IssueVia.MANUAL, on=D(2026, 3, 1))

    discounts = [
        coupon_redeem(
            customer=customer,
            code="sub-10",
            order=OrderFactory(customer=customer, amount=Decimal("123.45")),
            on=D(2026, 3, d),
        ).discount
        for d in (2, 3, 4)
    ]

    assert discounts == [Decimal("12.35")] * 3


def test_a_tier_coupon_goes_to_that_tier_and_above():
    gold, silver = Tier.objects.get(code="gold"), Tier.objects.get(code="silver")
    members = {}
    for code in ("regular", "silver", "gold", "diamond"):
        customer = CustomerFactory()
        LoyaltyAccount.objects.create(
            customer=customer,
            referral_code=f"C{code}"[:8].upper(),
            tier=Tier.objects.get(code=code),
        )
        members[code] = customer
    coupon(code="gold-ship", tier=gold)
    coupon(code="silver-old", tier=silver, valid_until=D(2026, 3, 2))

    assert coupons_issue_tier_privileges(as_of=D(2026, 3, 5)) == 2
    holders = set(CouponIssue.objects.values_list("customer_id", flat=True))
    assert holders == {members["gold"].pk, members["diamond"].pk}
