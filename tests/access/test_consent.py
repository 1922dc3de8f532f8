"""Consent per channel, newest decision wins (issue #11, item 5): a merge keeps the loser's
newer withdrawal, its undo gives each customer its own decisions back and loses no
withdrawal made since, and an older decision never overwrites a newer one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from retain.customers.models import Consent
from retain.customers.services import consent_set
from retain.dedup.models import DuplicatePair, MergeRecord
from tests.access.conftest import bearer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def at(month: int) -> dt.datetime:
    return dt.datetime(2025, month, 1, 9, 0, tzinfo=dt.UTC)


def consents(customer) -> dict[str, tuple[str, dt.datetime]]:
    return {
        c.channel: (c.status, c.recorded_at)
        for c in Consent.objects.filter(customer_id=customer.pk)
    }


def decide(customer, channel, granted, month, source="form"):
    consent_set(customer=customer, channel=channel, granted=granted, source=source, at=at(month))


@pytest.fixture
def pair(db):
    survivor = CustomerFactory(code="S1", name="华信科技有限公司")
    loser = CustomerFactory(code="L1", name="华信科技")
    decide(survivor, "email", True, 1)
    decide(loser, "email", False, 6, source="unsubscribe link")  # newer withdrawal
    decide(survivor, "sms", False, 3)
    decide(loser, "sms", True, 2)  # older grant
    decide(loser, "wechat", False, 4)  # only the loser has it
    pair = DuplicatePair.objects.create(
        left=survivor, right=loser, score=0.99, found_at=timezone.now()
    )
    return survivor, loser, pair


def test_a_merge_keeps_the_newest_decision_per_channel(client, company, pair):
    survivor, _loser, duplicate = pair
    client.force_login(company.users["manager"])

    response = client.post(reverse("duplicate-merge", args=[duplicate.pk]), {})

    assert response.status_code == 302
    assert consents(survivor) == {
        "email": ("withdrawn", at(6)),
        "sms": ("withdrawn", at(3)),
        "wechat": ("withdrawn", at(4)),
    }
    assert Consent.objects.get(customer=survivor, channel="email").source == "unsubscribe link"


def test_undo_gives_each_customer_its_own_decisions_back(client, company, pair):
    survivor, loser, duplicate = pair
    client.force_login(company.users["manager"])
    client.post(reverse("duplicate-merge", args=[duplicate.pk]), {})

    response = client.post(reverse("merge-undo", args=[MergeRecord.objects.get().pk]))

    assert response.status_code == 302
    assert consents(survivor) == {"email": ("granted", at(1)), "sms": ("withdrawn", at(3))}
    assert consents(loser) == {
        "email": ("withdrawn", at(6)),
        "sms": ("granted", at(2)),
        "wechat": ("withdrawn", at(4)),
    }


def test_a_withdrawal_made_after_the_merge_survives_the_undo(client, company, pair):
    survivor, loser, duplicate = pair
    decide(survivor, "phone", True, 1)
    client.force_login(company.users["manager"])
    client.post(reverse("duplicate-merge", args=[duplicate.pk]), {})
    put = client.put(
        f"/api/v1/customers/{survivor.code}/consents/phone",
        {"granted": False, "source": "call"},
        content_type="application/json",
        headers=bearer(company, "manager"),
    )
    assert put.status_code == 200, put.content
    withdrawn_at = Consent.objects.get(customer=survivor, channel="phone").recorded_at

    client.post(reverse("merge-undo", args=[MergeRecord.objects.get().pk]))

    assert consents(survivor)["phone"] == ("withdrawn", withdrawn_at)
    assert consents(loser)["phone"] == ("withdrawn", withdrawn_at)  # the same person said so


def test_a_newer_grant_after_the_merge_stays_after_the_undo(client, company, pair):
    survivor, loser, duplicate = pair
    client.force_login(company.users["manager"])
    client.post(reverse("duplicate-merge", args=[duplicate.pk]), {})
    client.put(
        f"/api/v1/customers/{survivor.code}/consents/email",
        {"granted": True, "source": "asked again"},
        content_type="application/json",
        headers=bearer(company, "manager"),
    )
    granted_at = Consent.objects.get(customer=survivor, channel="email").recorded_at

    client.post(reverse("merge-undo", args=[MergeRecord.objects.get().pk]))

    assert consents(survivor)["email"] == ("granted", granted_at)
    assert consents(loser)["email"] == ("granted", granted_at)


def test_an_older_decision_never_overwrites_a_newer_one(db):
    customer = CustomerFactory(code="C1")
    decide(customer, "email", False, 6)

    kept = consent_set(customer=customer, channel="email", granted=True, source="old", at=at(2))
    decide(customer, "sms", True, 5)
    decide(customer, "sms", False, 5)  # the same moment: the withdrawal wins
    decide(customer, "sms", True, 5)

    assert (kept.status, kept.recorded_at) == ("withdrawn", at(6))
    assert consents(customer) == {"email": ("withdrawn", at(6)), "sms": ("withdrawn", at(5))}
