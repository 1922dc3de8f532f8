"""Two redemptions at the same moment, on PostgreSQL (SQLite runs one writer at a time): the
customer's account row is locked, so the same points are never spent twice."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from retain.loyalty import ledger
from retain.loyalty.ledger import points_balance, points_bonus, points_redeem
from retain.loyalty.models import EntryKind, PointsEntry
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

ON = dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("a race needs two real writers: PostgreSQL only")


def together(*calls):
    out: list[object] = [None] * len(calls)

    def run(i, call):
        try:
            out[i] = call()
        except Exception as exc:  # the test asserts on it
            out[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def test_two_redemptions_at_once_cannot_spend_the_same_points(monkeypatch):
    customer = CustomerFactory()
    points_bonus(customer=customer, points=100, on=ON, reason="welcome")
    meet = threading.Barrier(2)
    real = ledger.points_balance

    def balance_after_both_arrive(pk):
        # both writers reach the balance check before either writes (unless one waits on
        # the other's lock, which is the point): without the lock both would see 100
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=2)
        return real(pk)

    monkeypatch.setattr(ledger, "points_balance", balance_after_both_arrive)

    def spend():
        return points_redeem(customer=customer, points=80, on=ON, reward="电饭煲")

    results = together(spend, spend)

    assert sum(isinstance(r, PointsEntry) for r in results) == 1, results
    assert sum(isinstance(r, ValidationError) for r in results) == 1, results
    assert PointsEntry.objects.filter(kind=EntryKind.REDEEM).count() == 1
    assert points_balance(customer) == 20


def test_many_small_redemptions_at_once_stop_exactly_at_zero():
    customer = CustomerFactory()
    points_bonus(customer=customer, points=50, on=ON, reason="welcome")

    def spend():
        return points_redeem(customer=customer, points=10, on=ON, reward="贴纸")

    results = together(*[spend] * 8)

    assert sum(isinstance(r, PointsEntry) for r in results) == 5, results
    assert sum(isinstance(r, ValidationError) for r in results) == 3, results
    assert points_balance(customer) == 0
