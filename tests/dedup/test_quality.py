"""The data-quality report and the duplicates / quality commands."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from typer.testing import CliRunner

from retain.cli import app
from retain.customers.models import Customer
from retain.customers.services import consent_set
from retain.dedup.models import DuplicatePair
from retain.dedup.selectors import data_quality
from retain.dedup.tasks import duplicates_quarterly
from retain.interactions.models import FollowUp
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 1)


def _customer(code: str, *, updated: dt.date, **fields) -> Customer:
    customer = CustomerFactory(code=code, **fields)
    moment = dt.datetime.combine(updated, dt.time(12), tzinfo=dt.UTC)
    Customer.objects.filter(pk=customer.pk).update(updated_at=moment)
    return customer


def test_the_report_counts_what_is_missing_stale_left_and_invalid():
    fresh = _customer("Q1", updated=dt.date(2026, 10, 1), industry="制造业", city="北京")
    old = _customer("Q2", updated=dt.date(2025, 1, 1), industry="")
    old_but_followed = _customer("Q3", updated=dt.date(2025, 1, 1), industry="")
    person = _customer(
        "Q4",
        updated=dt.date(2026, 10, 1),
        kind="person",
        name="张三",
        phone="12345",
        email="zhang@example.com",
    )
    FollowUp.objects.create(
        customer=old_but_followed,
        kind="call",
        occurred_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        content="回访",
        logged_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    ContactFactory(customer=fresh, name="在职", phone="13800000000", email="bad@")
    ContactFactory(customer=old, name="离职", left_on=dt.date(2026, 5, 1))
    consent_set(customer=person, channel="email", granted=True, source="form")

    report = data_quality(as_of=AS_OF, stale_months=12)

    assert report.customers == 4
    by_field = {c.field: (c.filled, c.total) for c in report.completeness}
    assert by_field["industry"] == (2, 4)
    assert by_field["city"] == (1, 4)
    assert by_field["phone"] == (1, 1)
    assert report.stale == 1
    assert [c.code for c in report.stale_sample] == [old.code]
    assert (report.contacts_left, report.customers_without_active_contact) == (1, 2)
    assert report.missing_consent == 3
    assert [(b.customer_code, b.where, b.field, b.value) for b in report.invalid] == [
        ("Q4", "customer", "phone", "12345"),
        ("Q1", "在职", "email", "bad@"),
    ]
    assert (report.invalid_phones, report.invalid_emails) == (1, 1)


def test_a_contact_leaving_in_the_future_is_not_counted_as_gone():
    company = _customer("F1", updated=dt.date(2026, 10, 1))
    ContactFactory(customer=company, name="将离职", email="bad@", left_on=dt.date(2026, 12, 31))
    ContactFactory(customer=company, name="今天离职", left_on=AS_OF)

    report = data_quality(as_of=AS_OF)

    assert report.contacts_left == 1
    assert report.customers_without_active_contact == 0
    # still here until the leaving day, so the bad address is still worth fixing
    assert [(b.where, b.value) for b in report.invalid] == [("将离职", "bad@")]


def test_retain_quality_prints_the_report_and_writes_the_invalid_values(tmp_path):
    CustomerFactory(code="Q9", kind="person", name="李四", phone="1", email="")
    out = tmp_path / "invalid.csv"

    with time_machine.travel(dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)):
        result = CliRunner().invoke(app, ["quality", "--csv", str(out)])

    assert result.exit_code == 0, result.output
    assert "Invalid phones: 1; invalid emails: 0" in result.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("Q9,customer,phone,1,")


def test_retain_duplicates_and_the_quarterly_job_store_candidate_pairs():
    CustomerFactory(code="D1", name="(上海)恒达贸易有限公司", city="上海")
    CustomerFactory(code="D2", name="恒达贸易", city="上海")

    result = CliRunner().invoke(app, ["duplicates"])

    assert result.exit_code == 0, result.output
    assert "1 possible duplicate pair(s)" in result.output
    assert "D1" in result.output and "D2" in result.output
    DuplicatePair.objects.all().delete()
    assert duplicates_quarterly.call_local() == 1
    assert DuplicatePair.objects.count() == 1
