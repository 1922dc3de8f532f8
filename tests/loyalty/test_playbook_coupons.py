"""A playbook action's "issue coupon" step: the daily run gives the coupon to the plan's
treated customers, never to its control group (so the plan's results measure the coupon)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retain.loyalty.config import loyalty_config_save
from retain.loyalty.coupons import coupon_create
from retain.loyalty.models import ActionCoupon, CouponIssue, CouponKind, IssueVia
from retain.playbooks.models import Playbook
from retain.tasks.services import playbook_tasks_create
from tests.factories import UserFactory
from tests.operations.conftest import NOW
from tests.operations.helpers import AS_OF
from tests.operations.test_measured_plans import CORE, codes, core_customer

pytestmark = pytest.mark.django_db


def test_the_daily_run_issues_the_coupon_to_treated_customers_only():
    core = Playbook.objects.get(name=CORE)
    li = UserFactory(username="li")
    held = [core_customer(c, li) for c in codes(core, control=True, n=3)]
    treated = [core_customer(c, li) for c in codes(core, control=False, n=6)]
    offer = coupon_create(
        code="vip-thanks",
        name="限时9折",
        kind=CouponKind.PERCENT,
        value=Decimal(10),
        valid_from=AS_OF,
        valid_until=AS_OF + dt.timedelta(days=30),
    )
    action = core.actions.order_by("pk").first()
    loyalty_config_save(ActionCoupon(action=action, coupon=offer), actor=None)

    first = playbook_tasks_create(as_of=AS_OF, now=NOW)
    again = playbook_tasks_create(
        as_of=AS_OF + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1)
    )

    holders = set(CouponIssue.objects.values_list("customer_id", flat=True))
    assert holders == {c.pk for c in treated}
    assert not holders & {c.pk for c in held}
    assert set(CouponIssue.objects.values_list("via", flat=True)) == {IssueVia.PLAYBOOK}
    assert (first.coupons, again.coupons, first.held_out) == (6, 0, 3)


def test_an_expired_coupon_is_not_issued_by_the_step():
    core = Playbook.objects.get(name=CORE)
    li = UserFactory(username="li")
    [core_customer(c, li) for c in codes(core, control=False, n=2)]
    offer = coupon_create(
        code="old",
        name="old",
        kind=CouponKind.AMOUNT,
        value=Decimal(5),
        valid_from=AS_OF - dt.timedelta(days=30),
        valid_until=AS_OF - dt.timedelta(days=1),
    )
    ActionCoupon.objects.create(action=core.actions.first(), coupon=offer)

    assert playbook_tasks_create(as_of=AS_OF, now=NOW).coupons == 0
    assert CouponIssue.objects.count() == 0
