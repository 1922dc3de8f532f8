"""Merge undo puts back exactly what was there; names are not markup (#12 item 14)."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from retain.cli import app
from retain.customers.models import Consent, Customer
from retain.customers.services import consent_set
from retain.dedup.models import DuplicatePair, PairStatus
from retain.dedup.services import customer_merge, customer_merge_undo, duplicate_dismiss
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
CREATED = dt.datetime(2024, 3, 5, 8, 15, 42, 123457, tzinfo=dt.UTC)
UPDATED = dt.datetime(2025, 7, 9, 17, 3, 1, 987651, tzinfo=dt.UTC)
SURVIVOR_UPDATED = dt.datetime(2026, 2, 2, 2, 2, 2, 222223, tzinfo=dt.UTC)


def _stamp(customer: Customer, created: dt.datetime, updated: dt.datetime) -> None:
    Customer.objects.filter(pk=customer.pk).update(created_at=created, updated_at=updated)


def test_undo_restores_times_to_the_microsecond_and_not_a_duplicate_decisions(admin_user):
    survivor = CustomerFactory(code="S1", name="华信科技有限公司", industry="")
    loser = CustomerFactory(code="L1", name="华信科技", industry="IT服务")
    other = CustomerFactory(code="O1", name="华信科技(上海)")
    _stamp(loser, CREATED, UPDATED)
    _stamp(survivor, CREATED, SURVIVOR_UPDATED)
    consent_set(customer=loser, channel="sms", granted=True, source="form")
    consent_set(customer=survivor, channel="sms", granted=False, source="call")
    sms_before = Consent.objects.filter(customer=loser).values().get()
    decision = DuplicatePair.objects.create(
        left=loser, right=other, score=0.8, evidence=[["same_core", "x"]], found_at=NOW
    )
    duplicate_dismiss(pair=decision, actor=admin_user)
    DuplicatePair.objects.create(left=survivor, right=loser, score=0.9, found_at=NOW)
    loser.refresh_from_db()
    loser_before = Customer.objects.filter(pk=loser.pk).values().get()

    record = customer_merge(
        survivor=survivor, loser=loser, actor=admin_user, take_from_loser={"industry"}, now=NOW
    )
    assert not DuplicatePair.objects.exists()
    assert Customer.objects.get(pk=survivor.pk).updated_at == NOW

    restored = customer_merge_undo(record=record, actor=admin_user, now=NOW + dt.timedelta(days=1))

    assert Customer.objects.filter(pk=restored.pk).values().get() == loser_before
    assert (restored.created_at, restored.updated_at) == (CREATED, UPDATED)
    survivor.refresh_from_db()
    assert (survivor.industry, survivor.created_at, survivor.updated_at) == (
        "",
        CREATED,
        SURVIVOR_UPDATED,
    )
    pair = DuplicatePair.objects.get()
    assert (pair.pk, pair.left_id, pair.right_id, pair.status, pair.found_at) == (
        decision.pk,
        loser.pk,
        other.pk,
        PairStatus.DISMISSED,
        NOW,
    )
    # the dropped consent (the survivor had one for sms) comes back exactly
    assert Consent.objects.filter(customer=restored).values().get() == sms_before


def test_undo_after_the_survivor_was_edited_keeps_the_edit_time(admin_user):
    survivor = CustomerFactory(code="S1", name="华信科技有限公司")
    loser = CustomerFactory(code="L1", name="华信科技")
    _stamp(survivor, CREATED, SURVIVOR_UPDATED)
    record = customer_merge(survivor=survivor, loser=loser, actor=admin_user, now=NOW)
    edited = NOW + dt.timedelta(hours=1)
    Customer.objects.filter(pk=survivor.pk).update(notes="改过", updated_at=edited)
    undone_at = NOW + dt.timedelta(hours=2)

    customer_merge_undo(record=record, actor=admin_user, now=undone_at)

    survivor.refresh_from_db()
    assert (survivor.notes, survivor.updated_at) == ("改过", undone_at)


def test_a_decision_whose_other_customer_is_gone_is_not_restored(admin_user):
    survivor, loser = CustomerFactory(code="S1"), CustomerFactory(code="L1")
    other = CustomerFactory(code="O1")
    pair = DuplicatePair.objects.create(left=loser, right=other, score=0.7, found_at=NOW)
    duplicate_dismiss(pair=pair, actor=admin_user)
    record = customer_merge(survivor=survivor, loser=loser, actor=admin_user, now=NOW)
    other.delete()

    customer_merge_undo(record=record, actor=admin_user, now=NOW + dt.timedelta(days=1))

    assert not DuplicatePair.objects.exists()
    assert Customer.objects.filter(code="L1").exists()


def test_retain_duplicates_prints_a_name_with_rich_markup_as_it_is():
    CustomerFactory(code="M1", name="[/bold]恒达贸易[red]有限公司", city="上海")
    CustomerFactory(code="M2", name="[/bold]恒达贸易", city="上海")

    result = CliRunner().invoke(app, ["duplicates"], env={"COLUMNS": "300"})

    assert result.exit_code == 0, result.output
    assert "[/bold]恒达贸易[red]有限公司" in result.output
