"""Coupons: made by marketing, issued to customers (by hand, to a segment, by a playbook action,
or as a tier privilege by the nightly run) and redeemed on orders (API or import).

A customer holds a coupon at most once; it may be used ``per_customer_limit`` times, between
``valid_from`` and ``valid_until`` (both included), on orders of at least ``min_spend``. A
subscription discount is a percent off every order while it is valid (no use limit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from retain.accounts.access import loyalty_may_manage, points_may_redeem
from retain.audit.services import audit_event, audit_events_bulk, snapshot
from retain.customers.models import Customer
from retain.loyalty.models import (
    ActionCoupon,
    Coupon,
    CouponIssue,
    CouponKind,
    CouponRedemption,
    IssueVia,
    LoyaltyAccount,
)
from retain.orders.models import Order, OrderStatus


@transaction.atomic
def coupon_create(*, actor: Any = None, request: Any = None, **fields: Any) -> Coupon:
    """Make a coupon (admin, manager, marketing); audited."""
    if actor is not None and not loyalty_may_manage(actor):
        raise PermissionDenied("loyalty.manage")
    coupon = Coupon(**fields)
    coupon.full_clean()
    if coupon.valid_until < coupon.valid_from:
        raise ValidationError({"valid_until": _("The coupon ends before it starts.")})
    if coupon.kind != CouponKind.AMOUNT and coupon.value > 100:
        raise ValidationError({"value": _("A percentage cannot exceed 100.")})
    coupon.save()
    audit_event(actor=actor, action="create", obj=coupon, after=snapshot(coupon), request=request)
    return coupon


@transaction.atomic
def coupon_issue(
    *,
    coupon: Coupon,
    customer_ids: Iterable[int],
    via: str,
    on: dt.date,
    actor: Any = None,
    request: Any = None,
) -> int:
    """Give ``coupon`` to customers who do not hold it yet, in bulk; returns how many."""
    if actor is not None and not loyalty_may_manage(actor):
        raise PermissionDenied("loyalty.manage")
    ids = set(customer_ids)
    have = set(
        CouponIssue.objects.filter(coupon=coupon, customer_id__in=ids).values_list(
            "customer_id", flat=True
        )
    )
    new = [
        CouponIssue(coupon=coupon, customer_id=pk, via=IssueVia(via), issued_on=on)
        for pk in sorted(ids - have)
    ]
    CouponIssue.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    saved = list(
        CouponIssue.objects.filter(coupon=coupon, customer_id__in=[i.customer_id for i in new])
    )
    audit_events_bulk(actor=actor, action="create", objs=saved, request=request)
    return len(saved)


def coupon_issue_to_segment(
    *, coupon: Coupon, segment: Any, on: dt.date, actor: Any = None, request: Any = None
) -> int:
    """Give ``coupon`` to every member of a saved segment."""
    from retain.playbooks.selectors import segment_members

    ids = segment_members(segment=segment).values_list("pk", flat=True)
    return coupon_issue(
        coupon=coupon,
        customer_ids=list(ids),
        via=IssueVia.SEGMENT,
        on=on,
        actor=actor,
        request=request,
    )


def action_coupon_issue(*, action: Any, customer_ids: Iterable[int], on: dt.date) -> int:
    """A playbook action's "issue coupon" step, run by the daily run for the customers the
    action reaches: the plan's treated customers (of the action's variant), never its control
    group, so the coupon's effect shows in the plan's results. A customer gets the coupon
    once, and only while it is valid. Returns how many were given."""
    step = ActionCoupon.objects.filter(action_id=action.pk).select_related("coupon").first()
    if step is None:
        return 0
    coupon = step.coupon
    if not coupon.valid_from <= on <= coupon.valid_until:
        return 0
    return coupon_issue(coupon=coupon, customer_ids=customer_ids, via=IssueVia.PLAYBOOK, on=on)


def coupons_issue_tier_privileges(*, as_of: dt.date) -> int:
    """The nightly run gives each tier coupon valid today to the members of that tier or above."""
    total = 0
    for coupon in Coupon.objects.filter(
        tier__isnull=False, valid_from__lte=as_of, valid_until__gte=as_of
    ).select_related("tier"):
        assert coupon.tier is not None
        ids = LoyaltyAccount.objects.filter(tier__rank__gte=coupon.tier.rank).values_list(
            "customer_id", flat=True
        )
        total += coupon_issue(coupon=coupon, customer_ids=list(ids), via=IssueVia.TIER, on=as_of)
    return total


def coupon_discount(coupon: Coupon, amount: Decimal) -> Decimal:
    """What ``coupon`` takes off an order of ``amount`` (never more than the amount)."""
    if coupon.kind == CouponKind.AMOUNT:
        off = coupon.value
    else:
        off = (amount * coupon.value / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return min(off, amount)


@dataclass
class CouponCheck:
    ok: bool
    reason: str = ""


def coupon_check(issue: CouponIssue, *, order: Order, on: dt.date) -> CouponCheck:
    coupon = issue.coupon
    if order.customer_id != issue.customer_id:
        return CouponCheck(False, _("The coupon belongs to another customer."))
    if order.status != OrderStatus.PAID:
        return CouponCheck(False, _("Only a paid order can use a coupon."))
    if not coupon.valid_from <= on <= coupon.valid_until:
        return CouponCheck(False, _("The coupon is not valid on this day."))
    if order.amount < coupon.min_spend:
        return CouponCheck(
            False, _("The order is below the minimum spend of %(min)s.") % {"min": coupon.min_spend}
        )
    if coupon.kind != CouponKind.SUBSCRIPTION and issue.uses >= coupon.per_customer_limit:
        return CouponCheck(False, _("The coupon has been used as often as it may."))
    if CouponRedemption.objects.filter(issue=issue, order=order).exists():
        return CouponCheck(False, _("The coupon was already used on this order."))
    return CouponCheck(True)


@transaction.atomic
def coupon_redeem(
    *,
    customer: Customer,
    code: str,
    order: Order,
    on: dt.date,
    actor: Any = None,
    request: Any = None,
) -> CouponRedemption:
    """Use the customer's coupon ``code`` on ``order``; the issue row is locked meanwhile."""
    if actor is not None and not points_may_redeem(actor, customer):
        raise PermissionDenied("loyalty.redeem")
    issue = (
        CouponIssue.objects.select_for_update(of=("self",))
        .select_related("coupon")
        .filter(customer=customer, coupon__code=code)
        .first()
    )
    if issue is None:
        raise ValidationError({"code": _("The customer holds no coupon with this code.")})
    check = coupon_check(issue, order=order, on=on)
    if not check.ok:
        raise ValidationError({"code": check.reason})
    redemption = CouponRedemption(
        issue=issue, order=order, discount=coupon_discount(issue.coupon, order.amount), on=on
    )
    redemption.full_clean()
    redemption.save()
    CouponIssue.objects.filter(pk=issue.pk).update(uses=F("uses") + 1)
    audit_event(
        actor=actor,
        action="create",
        obj=redemption,
        customer=customer,
        after=snapshot(redemption),
        request=request,
    )
    return redemption
