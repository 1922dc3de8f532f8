"""推荐有礼: the happy path rewards both sides once the first paid order passes the return
window; each abuse guard refuses the attribution and rewards no one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from retain.customers.models import CustomerKind
from retain.loyalty.ledger import account_ensure, loyalty_settings, points_balance
from retain.loyalty.models import EntryKind, PointsEntry, Referral, ReferralStatus, ReferralVia
from retain.loyalty.referrals import referral_attribute, referrals_reward
from retain.orders.models import OrderStatus, Return
from tests.factories import ContactFactory, CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

D = dt.date


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 4, 0, tzinfo=dt.UTC)


def person(phone: str = ""):
    return CustomerFactory(kind=CustomerKind.PERSON, phone=phone)


@pytest.fixture
def referrer():
    customer = person("13800000001")
    account = account_ensure(customer)
    account.device_id = "dev-A"
    account.address = "上海市 徐汇区 漕溪北路 1号"
    account.save()
    return customer


def test_both_are_rewarded_when_the_first_paid_order_passes_the_return_window(referrer):
    conf = loyalty_settings()
    conf.return_window_days = 15
    conf.save()
    newcomer = person("13900000002")
    code = account_ensure(referrer).referral_code

    referral = referral_attribute(referee=newcomer, code=code.lower(), on=D(2026, 3, 1))
    OrderFactory(customer=newcomer, amount=Decimal(300), ordered_at=at(D(2026, 3, 5)))

    assert referrals_reward(as_of=D(2026, 3, 19)).rewarded == 0  # day 14 of the window
    assert points_balance(referrer) == 0
    result = referrals_reward(as_of=D(2026, 3, 20))
    again = referrals_reward(as_of=D(2026, 3, 21))

    assert (result.rewarded, again.rewarded) == (1, 0)
    referral.refresh_from_db()
    assert (referral.status, referral.rewarded_on) == (ReferralStatus.REWARDED, D(2026, 3, 20))
    assert points_balance(referrer) == conf.referrer_bonus == 200
    assert points_balance(newcomer) == conf.referee_bonus == 100
    assert PointsEntry.objects.filter(kind=EntryKind.REFERRAL).count() == 2


def test_a_refunded_or_returned_first_order_earns_no_reward(referrer):
    newcomer = person()
    referral_attribute(
        referee=newcomer, code=account_ensure(referrer).referral_code, on=D(2026, 3, 1)
    )
    OrderFactory(customer=newcomer, status=OrderStatus.REFUNDED, ordered_at=at(D(2026, 3, 2)))
    returned = OrderFactory(customer=newcomer, ordered_at=at(D(2026, 3, 3)))
    Return.objects.create(order=returned, returned_on=D(2026, 3, 8), reason="x", amount=Decimal(1))

    assert referrals_reward(as_of=D(2026, 6, 1)).rewarded == 0
    assert PointsEntry.objects.count() == 0


def test_attribution_at_the_first_order_only(referrer):
    newcomer = person()
    OrderFactory(customer=newcomer, ordered_at=at(D(2026, 3, 2)))
    OrderFactory(customer=newcomer, ordered_at=at(D(2026, 3, 3)))

    with pytest.raises(ValidationError):
        referral_attribute(
            referee=newcomer,
            code=account_ensure(referrer).referral_code,
            via=ReferralVia.ORDER,
            on=D(2026, 3, 3),
        )
    assert Referral.objects.count() == 0


def test_an_unknown_code_and_a_second_referral_are_refused(referrer):
    newcomer = person()
    with pytest.raises(ValidationError):
        referral_attribute(referee=newcomer, code="NOSUCH00", on=D(2026, 3, 1))
    referral_attribute(
        referee=newcomer, code=account_ensure(referrer).referral_code, on=D(2026, 3, 1)
    )
    with pytest.raises(ValidationError):
        referral_attribute(
            referee=newcomer, code=account_ensure(referrer).referral_code, on=D(2026, 3, 2)
        )
    assert Referral.objects.count() == 1


@pytest.mark.parametrize(
    ("guard", "reason"),
    [
        ("self", "self-referral"),
        ("phone", "same phone number"),
        ("contact_phone", "same phone number"),
        ("address", "same address"),
        ("device", "same device as the referrer"),
        ("device_of_another", "same device as another customer"),
    ],
)
def test_each_abuse_guard_refuses_and_rewards_no_one(referrer, guard, reason):
    code = account_ensure(referrer).referral_code
    newcomer = person("13900000009")
    kwargs = {}
    if guard == "self":
        newcomer = referrer
    elif guard == "phone":
        newcomer = person("+86 138-0000-0001")
    elif guard == "contact_phone":
        newcomer = CustomerFactory()
        ContactFactory(customer=newcomer, phone="13800000001")
    elif guard == "address":
        kwargs["address"] = "上海市徐汇区漕溪北路1号"
    elif guard == "device":
        kwargs["device_id"] = "dev-A"
    elif guard == "device_of_another":
        referral_attribute(referee=person(), code=code, on=D(2026, 3, 1), device_id="dev-B")
        kwargs["device_id"] = "dev-B"

    referral = referral_attribute(referee=newcomer, code=code, on=D(2026, 3, 1), **kwargs)
    OrderFactory(customer=newcomer, ordered_at=at(D(2026, 3, 2)))

    assert referral.status == ReferralStatus.REFUSED
    assert reason in referral.refusal
    referrals_reward(as_of=D(2026, 6, 1))
    assert not PointsEntry.objects.filter(customer=newcomer).exists()
    assert not PointsEntry.objects.filter(key__endswith=f"{referral.pk}:referrer").exists()
