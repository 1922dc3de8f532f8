"""Points rules per category and per campaign (multiplier or fixed points), edited through
the one configuration service (role check, audit)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from retain.accounts.models import Role
from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.campaigns.models import Campaign, CampaignParticipation
from retain.loyalty.config import loyalty_config_save
from retain.loyalty.ledger import points_balance, points_earn_orders
from retain.loyalty.models import CampaignRule, CategoryRule, RuleMode
from retain.orders.models import OrderLine, ProductCategory
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

D = dt.date


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 4, 0, tzinfo=dt.UTC)


def test_a_fixed_category_rule_gives_points_per_line_whatever_the_amount():
    gift = ProductCategory.objects.create(name="礼盒")
    loyalty_config_save(CategoryRule(category=gift, mode=RuleMode.FIXED, points=30), actor=None)
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, amount=Decimal("80.00"), ordered_at=at(D(2026, 3, 1)))
    OrderLine.objects.create(order=order, product="礼盒A", amount=Decimal("60.00"), category=gift)
    OrderLine.objects.create(order=order, product="卡片", amount=Decimal("20.00"))

    points_earn_orders(up_to=D(2026, 3, 31))

    assert points_balance(customer) == 30 + 20


def test_a_campaign_rule_counts_for_participants_while_it_runs():
    double = Campaign.objects.create(
        name="双倍积分周", starts_on=D(2026, 3, 1), ends_on=D(2026, 3, 7)
    )
    bonus = Campaign.objects.create(name="新品加赠", starts_on=D(2026, 3, 1), ends_on=None)
    loyalty_config_save(CampaignRule(campaign=double, multiplier=Decimal(2)), actor=None)
    loyalty_config_save(CampaignRule(campaign=bonus, mode=RuleMode.FIXED, points=50), actor=None)
    joined, other = CustomerFactory(), CustomerFactory()
    CampaignParticipation.objects.create(
        campaign=double, customer=joined, joined_at=at(D(2026, 3, 2))
    )
    CampaignParticipation.objects.create(
        campaign=bonus, customer=joined, joined_at=at(D(2026, 3, 2))
    )
    before = OrderFactory(customer=joined, amount=Decimal(100), ordered_at=at(D(2026, 3, 1)))
    during = OrderFactory(customer=joined, amount=Decimal(100), ordered_at=at(D(2026, 3, 5)))
    after = OrderFactory(customer=joined, amount=Decimal(100), ordered_at=at(D(2026, 3, 9)))
    OrderFactory(customer=other, amount=Decimal(100), ordered_at=at(D(2026, 3, 5)))

    points_earn_orders(up_to=D(2026, 3, 31))

    earned = {e.order_id: e.points for e in joined.points_entries.all()}
    # before joining: plain; during the double week: x2 and +50; after it: +50 only
    assert earned == {before.pk: 100, during.pk: 250, after.pk: 150}
    assert points_balance(other) == 100


def test_only_managers_and_admins_edit_rules_and_each_edit_is_audited():
    tea = ProductCategory.objects.create(name="茶叶")
    marketing = user_create(username="m", password=PASSWORD, role=Role.MARKETING)
    manager = user_create(username="boss", password=PASSWORD, role=Role.MANAGER)
    with pytest.raises(PermissionDenied):
        loyalty_config_save(CategoryRule(category=tea, multiplier=Decimal(3)), actor=marketing)
    with pytest.raises(ValidationError, match="at least one point"):
        loyalty_config_save(CategoryRule(category=tea, mode=RuleMode.FIXED), actor=manager)
    rule = loyalty_config_save(CategoryRule(category=tea, multiplier=Decimal(3)), actor=manager)
    rule.multiplier = Decimal(4)
    loyalty_config_save(rule, actor=manager)

    events = AuditEvent.objects.filter(object_type="loyalty.categoryrule").order_by("pk")
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].before == {"multiplier": "3.00"} and events[1].after == {"multiplier": "4.00"}
