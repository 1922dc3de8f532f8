"""The nightly loyalty step: points for new orders, birthday and survey bonuses once each,
refunds reversed, tiers given; running it twice changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retain.customers.models import CustomerKind
from retain.loyalty.ledger import points_balance
from retain.loyalty.models import EntryKind, LoyaltyAccount, PointsEntry
from retain.loyalty.services import loyalty_nightly
from retain.orders.models import OrderStatus
from tests.factories import CustomerFactory, OrderFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db

D = dt.date
NOW = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 4, 0, tzinfo=dt.UTC)


def test_the_nightly_step_gives_each_reward_once():
    born = CustomerFactory(kind=CustomerKind.PERSON, birthday=D(1990, 3, 1))
    leap = CustomerFactory(kind=CustomerKind.PERSON, birthday=D(1992, 2, 29))
    buyer = CustomerFactory()
    OrderFactory(customer=buyer, amount=Decimal(2500), ordered_at=at(D(2026, 2, 20)))
    refunded = OrderFactory(customer=buyer, amount=Decimal(300), ordered_at=at(D(2026, 2, 21)))
    SurveyResponseFactory(customer=buyer, sent_at=at(D(2026, 2, 25)))

    first = loyalty_nightly(as_of=D(2026, 2, 28), now=NOW)  # 2026 is not a leap year
    assert (first.earned, first.birthdays, first.surveys) == (2800, 1, 1)
    assert points_balance(leap) == 100

    refunded.status = OrderStatus.REFUNDED
    refunded.save()
    second = loyalty_nightly(as_of=D(2026, 3, 1), now=NOW)
    again = loyalty_nightly(as_of=D(2026, 3, 1), now=NOW)

    assert (second.earned, second.reversed, second.birthdays, second.surveys) == (0, 300, 1, 0)
    assert (again.earned, again.reversed, again.birthdays, again.surveys) == (0, 0, 0, 0)
    assert points_balance(born) == 100
    assert points_balance(buyer) == 2500 + 20
    assert PointsEntry.objects.filter(kind=EntryKind.BONUS).count() == 3
    assert LoyaltyAccount.objects.get(customer=buyer).tier.code == "silver"
