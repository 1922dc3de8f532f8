"""The points ledger's invariants: balance = sum; never negative; FIFO expiry exact to the day;
refunds and returns reverse; adjustments need a reason and a manager; each entry audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum

from retain.accounts.models import Role
from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.loyalty.ledger import (
    expiry_date,
    loyalty_settings,
    points_adjust,
    points_balance,
    points_bonus,
    points_earn_orders,
    points_expire,
    points_expire_all,
    points_opening_balance,
    points_redeem,
    points_reverse_due,
    points_reverse_order,
)
from retain.loyalty.models import CategoryRule, EntryKind, LoyaltyAccount, PointsEntry, Tier
from retain.orders.models import OrderLine, OrderStatus, ProductCategory, Return
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

D = dt.date


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 4, 0, tzinfo=dt.UTC)  # noon in Shanghai


def ledger_sum(customer) -> int:
    return int(PointsEntry.objects.filter(customer=customer).aggregate(s=Sum("points"))["s"] or 0)


def months(n: int) -> None:
    conf = loyalty_settings()
    conf.expiry_months = n
    conf.save()


def test_an_order_earns_points_once_by_rate_category_and_tier():
    conf = loyalty_settings()
    conf.points_per_yuan = Decimal(2)
    conf.save()
    tea = ProductCategory.objects.create(name="茶叶")
    CategoryRule.objects.create(category=tea, multiplier=Decimal(3))
    customer = CustomerFactory()
    LoyaltyAccount.objects.create(
        customer=customer, referral_code="GOLD0001", tier=Tier.objects.get(code="gold")
    )
    order = OrderFactory(customer=customer, amount=Decimal("150.00"), ordered_at=at(D(2026, 3, 1)))
    OrderLine.objects.create(order=order, product="普洱", amount=Decimal("100.00"), category=tea)
    OrderLine.objects.create(order=order, product="杯子", amount=Decimal("50.50"))
    plain = OrderFactory(
        customer=CustomerFactory(), amount=Decimal("99.99"), ordered_at=at(D(2026, 3, 2))
    )

    first = points_earn_orders(up_to=D(2026, 3, 31))
    again = points_earn_orders(up_to=D(2026, 3, 31))

    # (100 x 3 + 50.50) x 2 per yuan x 1.5 gold = 1051.5 -> 1051; 99.99 x 2 = 199.98 -> 199
    assert (first.orders, first.points) == (2, 1051 + 199)
    assert (again.orders, again.points) == (0, 0)
    assert points_balance(customer) == 1051
    assert points_balance(plain.customer) == 199
    entry = PointsEntry.objects.get(order=order)
    assert (entry.kind, entry.on, entry.expires_on) == (
        EntryKind.EARN,
        D(2026, 3, 1),
        D(2028, 3, 1),
    )
    assert AuditEvent.objects.filter(object_type="loyalty.pointsentry").count() == 2


def test_refunded_and_future_orders_earn_nothing():
    customer = CustomerFactory()
    OrderFactory(customer=customer, status=OrderStatus.REFUNDED, ordered_at=at(D(2026, 3, 1)))
    OrderFactory(customer=customer, ordered_at=at(D(2026, 4, 2)))

    result = points_earn_orders(up_to=D(2026, 4, 1))

    assert result.orders == 0
    assert PointsEntry.objects.count() == 0


def test_balance_is_the_sum_of_the_ledger_through_every_kind_of_entry():
    boss = user_create(username="mgr", password=PASSWORD, role=Role.MANAGER)
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, amount=Decimal(500), ordered_at=at(D(2026, 1, 5)))
    points_earn_orders(up_to=D(2026, 1, 5))
    points_bonus(customer=customer, points=100, on=D(2026, 1, 6), reason="birthday", key="bd:1")
    points_opening_balance(customer=customer, points=300, on=D(2025, 12, 1))
    points_adjust(
        customer=customer, points=-50, reason="goodwill undone", on=D(2026, 1, 7), actor=boss
    )
    points_redeem(customer=customer, points=200, on=D(2026, 1, 8), order=order)

    assert points_balance(customer) == ledger_sum(customer) == 500 + 100 + 300 - 50 - 200
    assert set(PointsEntry.objects.values_list("kind", flat=True)) == {
        "earn",
        "bonus",
        "opening",
        "adjust",
        "redeem",
    }


def test_a_redemption_beyond_the_balance_is_refused_and_writes_nothing():
    customer = CustomerFactory()
    points_bonus(customer=customer, points=100, on=D(2026, 1, 1), reason="welcome")
    before = PointsEntry.objects.count()

    with pytest.raises(ValidationError, match="Only 100 points"):
        points_redeem(customer=customer, points=101, on=D(2026, 1, 2), reward="保温杯")

    assert PointsEntry.objects.count() == before
    assert points_balance(customer) == 100
    points_redeem(customer=customer, points=100, on=D(2026, 1, 2), reward="保温杯")
    assert points_balance(customer) == 0


def test_a_negative_adjustment_cannot_take_the_balance_below_zero():
    boss = user_create(username="mgr", password=PASSWORD, role=Role.MANAGER)
    customer = CustomerFactory()
    points_bonus(customer=customer, points=30, on=D(2026, 1, 1), reason="welcome")

    with pytest.raises(ValidationError):
        points_adjust(customer=customer, points=-31, reason="typo", on=D(2026, 1, 2), actor=boss)

    assert points_balance(customer) == 30


def test_adjustments_need_a_reason_and_a_manager():
    customer = CustomerFactory()
    sales = user_create(username="s1", password=PASSWORD, role=Role.SALES)
    customer.owner = sales
    customer.save()
    boss = user_create(username="mgr", password=PASSWORD, role=Role.MANAGER)

    with pytest.raises(PermissionDenied):
        points_adjust(customer=customer, points=10, reason="friend", on=D(2026, 1, 1), actor=sales)
    with pytest.raises(ValidationError):
        points_adjust(customer=customer, points=10, reason="  ", on=D(2026, 1, 1), actor=boss)
    assert PointsEntry.objects.count() == 0

    entry = points_adjust(
        customer=customer, points=10, reason="lost receipt", on=D(2026, 1, 1), actor=boss
    )

    event = AuditEvent.objects.get(object_type="loyalty.pointsentry", object_id=str(entry.pk))
    assert (event.actor, event.customer_id) == (boss, customer.pk)
    assert event.after["reason"] == "lost receipt"
    assert event.after["points"] == 10


def test_points_expire_first_in_first_out_exact_to_the_day():
    months(12)
    customer = CustomerFactory()
    points_bonus(customer=customer, points=100, on=D(2025, 3, 15), reason="old lot")
    points_bonus(customer=customer, points=50, on=D(2025, 6, 1), reason="newer lot")
    # 70 spent: they come from the oldest lot, which keeps 30
    points_redeem(customer=customer, points=70, on=D(2025, 4, 1), reward="杯子")

    assert points_expire(customer=customer, on=D(2026, 3, 14)) == 0
    assert points_balance(customer) == 80
    assert points_expire(customer=customer, on=D(2026, 3, 15)) == 30
    assert points_balance(customer) == 50
    assert points_expire(customer=customer, on=D(2026, 3, 16)) == 0  # nothing twice
    assert points_expire(customer=customer, on=D(2026, 5, 31)) == 0
    assert points_expire(customer=customer, on=D(2026, 6, 1)) == 50
    assert points_balance(customer) == ledger_sum(customer) == 0
    expired = PointsEntry.objects.filter(kind=EntryKind.EXPIRE).order_by("on")
    assert [(e.on, e.points) for e in expired] == [(D(2026, 3, 15), -30), (D(2026, 6, 1), -50)]


def test_month_ends_expire_on_the_last_day_of_the_shorter_month():
    assert expiry_date(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert expiry_date(D(2024, 2, 29), 12) == D(2025, 2, 28)
    assert expiry_date(D(2026, 1, 31), 0) is None


def test_a_redemption_cannot_spend_points_expired_that_day():
    months(12)
    customer = CustomerFactory()
    points_bonus(customer=customer, points=100, on=D(2025, 3, 15), reason="lot")

    with pytest.raises(ValidationError, match="Only 0 points"):
        points_redeem(customer=customer, points=1, on=D(2026, 3, 15), reward="杯子")

    # the expiry was written, the redemption was not (the failed transaction kept nothing)
    assert points_balance(customer) == 100
    assert points_expire_all(on=D(2026, 3, 15)) == 100
    assert points_balance(customer) == 0


def test_a_refund_reverses_the_points_earned_and_gives_back_those_spent_on_it():
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, amount=Decimal(400), ordered_at=at(D(2026, 2, 1)))
    points_bonus(customer=customer, points=100, on=D(2026, 1, 1), reason="welcome")
    points_earn_orders(up_to=D(2026, 2, 1))
    points_redeem(customer=customer, points=60, on=D(2026, 2, 1), order=order)
    assert points_balance(customer) == 440

    order.status = OrderStatus.REFUNDED
    order.save()
    result = points_reverse_due(on=D(2026, 2, 10))
    again = points_reverse_order(order=order, on=D(2026, 2, 11))

    assert (result.reversed, result.short, result.restored) == (400, 0, 60)
    assert (again.reversed, again.restored) == (0, 0)
    assert points_balance(customer) == ledger_sum(customer) == 100


def test_a_return_reverses_its_share_and_a_spent_balance_is_never_made_negative():
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, amount=Decimal(1000), ordered_at=at(D(2026, 2, 1)))
    points_earn_orders(up_to=D(2026, 2, 1))
    Return.objects.create(order=order, returned_on=D(2026, 2, 5), reason="坏", amount=Decimal(250))

    assert points_reverse_due(on=D(2026, 2, 5)).reversed == 250
    assert points_balance(customer) == 750

    points_redeem(customer=customer, points=700, on=D(2026, 2, 6), reward="电饭煲")
    order.status = OrderStatus.REFUNDED
    order.save()
    result = points_reverse_order(order=order, on=D(2026, 2, 7))

    assert (result.reversed, result.short) == (50, 700)
    assert points_balance(customer) == ledger_sum(customer) == 0
    entry = PointsEntry.objects.filter(kind=EntryKind.REVERSE).order_by("-pk").first()
    assert "700" in entry.reason


def test_reversed_points_come_off_their_own_lot_for_expiry():
    months(12)
    customer = CustomerFactory()
    points_bonus(customer=customer, points=100, on=D(2025, 1, 10), reason="old lot")
    order = OrderFactory(customer=customer, amount=Decimal(200), ordered_at=at(D(2025, 6, 1)))
    points_earn_orders(up_to=D(2025, 6, 1))
    order.status = OrderStatus.REFUNDED
    order.save()
    points_reverse_order(order=order, on=D(2025, 6, 20))
    assert points_balance(customer) == 100

    assert points_expire(customer=customer, on=D(2026, 1, 10)) == 100
    assert points_expire(customer=customer, on=D(2026, 6, 1)) == 0
    assert points_balance(customer) == 0
