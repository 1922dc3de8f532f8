"""Segments by membership tier and points balance (a customer without points has 0)."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.customers.models import Customer
from retain.loyalty.ledger import points_bonus
from retain.loyalty.models import LoyaltyAccount, Tier
from retain.playbooks.conditions import conditions_q
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def members(spec):
    return set(Customer.objects.filter(conditions_q(spec)).values_list("code", flat=True))


def test_segments_by_tier_and_balance():
    rich, poor, _nothing = (
        CustomerFactory(code="RICH"),
        CustomerFactory(code="POOR"),
        CustomerFactory(code="NONE"),
    )
    points_bonus(customer=rich, points=800, on=dt.date(2026, 1, 1), reason="x")
    points_bonus(customer=poor, points=50, on=dt.date(2026, 1, 1), reason="x")
    LoyaltyAccount.objects.filter(customer=rich).update(tier=Tier.objects.get(code="gold"))

    assert members({"all": [{"field": "member_tier", "op": "eq", "value": "gold"}]}) == {"RICH"}
    assert members({"all": [{"field": "points_balance", "op": "gte", "value": 500}]}) == {"RICH"}
    assert members({"all": [{"field": "points_balance", "op": "lt", "value": 100}]}) == {
        "POOR",
        "NONE",
    }
    assert members({"all": [{"field": "points_balance", "op": "eq", "value": 0}]}) == {"NONE"}
    assert members(
        {
            "all": [
                {"field": "points_balance", "op": "gt", "value": 0},
                {"field": "member_tier", "op": "ne", "value": "gold"},
            ]
        }
    ) == {"POOR"}
