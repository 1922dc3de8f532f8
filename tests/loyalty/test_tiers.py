"""Tiers follow the rolling 12-month spend (not the balance): upgrades at once, downgrades only
after the grace period, every move kept in the history and told to the owner."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retain.accounts.models import Role
from retain.accounts.services import user_create
from retain.loyalty.ledger import loyalty_settings, points_bonus
from retain.loyalty.models import LoyaltyAccount, TierBasis, TierChange
from retain.loyalty.tiers import tiers_evaluate
from retain.tasks.models import Notification
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

D = dt.date


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 4, 0, tzinfo=dt.UTC)


def tier(customer) -> str:
    return LoyaltyAccount.objects.get(customer=customer).tier.code


def test_a_member_moves_up_at_once_and_down_only_after_the_grace():
    conf = loyalty_settings()
    conf.tier_grace_days = 30
    conf.save()
    owner = user_create(username="s1", password=PASSWORD, role=Role.SALES)
    customer = CustomerFactory(owner=owner)
    OrderFactory(customer=customer, amount=Decimal(1500), ordered_at=at(D(2025, 1, 10)))

    tiers_evaluate(as_of=D(2025, 1, 10))
    assert tier(customer) == "regular"

    OrderFactory(customer=customer, amount=Decimal(600), ordered_at=at(D(2025, 2, 1)))
    result = tiers_evaluate(as_of=D(2025, 2, 1))
    assert (result.upgraded, tier(customer)) == (1, "silver")  # 2,100 in 12 months

    # 10 January 2026: the January order leaves the window (600 left): the grace starts
    result = tiers_evaluate(as_of=D(2026, 1, 10))
    account = LoyaltyAccount.objects.get(customer=customer)
    assert (result.in_grace, account.tier.code, account.below_since) == (
        1,
        "silver",
        D(2026, 1, 10),
    )
    assert tiers_evaluate(as_of=D(2026, 2, 8)).downgraded == 0  # day 29 of 30
    assert tier(customer) == "silver"

    result = tiers_evaluate(as_of=D(2026, 2, 9))

    assert (result.downgraded, tier(customer)) == (1, "regular")
    history = list(
        TierChange.objects.filter(customer=customer)
        .order_by("on")
        .values_list("from_tier__code", "to_tier__code", "on")
    )
    assert history == [
        (None, "regular", D(2025, 1, 10)),
        ("regular", "silver", D(2025, 2, 1)),
        ("silver", "regular", D(2026, 2, 9)),
    ]
    notes = list(Notification.objects.filter(user=owner).order_by("created_at", "pk"))
    assert len(notes) == 2  # the moves, not the first tier
    assert customer.name in notes[0].text


def test_spending_again_within_the_grace_keeps_the_tier():
    conf = loyalty_settings()
    conf.tier_grace_days = 30
    conf.save()
    customer = CustomerFactory()
    OrderFactory(customer=customer, amount=Decimal(2500), ordered_at=at(D(2025, 1, 10)))
    tiers_evaluate(as_of=D(2025, 1, 10))
    assert tier(customer) == "silver"
    tiers_evaluate(as_of=D(2026, 1, 10))  # below: grace starts

    OrderFactory(customer=customer, amount=Decimal(2000), ordered_at=at(D(2026, 1, 20)))
    tiers_evaluate(as_of=D(2026, 1, 20))
    tiers_evaluate(as_of=D(2026, 3, 1))

    account = LoyaltyAccount.objects.get(customer=customer)
    assert (account.tier.code, account.below_since) == ("silver", None)
    assert TierChange.objects.filter(customer=customer).count() == 1


def test_tiers_by_points_earned_ignore_what_was_spent():
    conf = loyalty_settings()
    conf.tier_basis = TierBasis.POINTS
    conf.save()
    customer = CustomerFactory()
    points_bonus(customer=customer, points=12000, on=D(2026, 1, 1), reason="x")
    from retain.loyalty.ledger import points_redeem

    points_redeem(customer=customer, points=11900, on=D(2026, 1, 2), reward="电视")

    tiers_evaluate(as_of=D(2026, 1, 3))

    assert tier(customer) == "gold"
