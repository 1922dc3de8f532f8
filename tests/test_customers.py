from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from retain.customers.models import Consent, ConsentStatus, Contact, Customer
from retain.customers.selectors import customer_list, customer_timeline
from retain.customers.services import (
    consent_set,
    contact_create,
    contact_mark_left,
    customer_code_next,
    customer_create,
)
from tests.factories import (
    ComplaintFactory,
    ContactFactory,
    CustomerFactory,
    FollowUpFactory,
    OrderFactory,
    SurveyResponseFactory,
)

pytestmark = pytest.mark.django_db


def test_customer_codes_are_generated_in_sequence_per_year():
    first = customer_create(name="*科技有限公司", kind="company")
    second = customer_create(name="*制造集团", kind="company")

    year = first.code[1:5]
    assert first.code == f"C{year}001"
    assert second.code == f"C{year}002"


def test_generated_codes_skip_codes_already_taken_by_hand():
    customer_create(name="张三", kind="person", code="C2024001")

    codes = customer_code_next(year=2024, count=3)

    assert codes == ["C2024002", "C2024003", "C2024004"]


def test_given_code_is_kept_and_duplicate_code_is_refused():
    customer_create(name="A", code="C2024001")

    with pytest.raises(ValidationError) as err:
        customer_create(name="B", code="C2024001")

    assert "code" in err.value.message_dict
    assert Customer.objects.count() == 1


def test_unknown_kind_is_refused_and_nothing_is_stored():
    with pytest.raises(ValidationError):
        customer_create(name="X", kind="robot")

    assert Customer.objects.count() == 0


def test_new_primary_contact_demotes_the_old_one():
    customer = CustomerFactory()
    old = contact_create(customer=customer, name="张*", is_primary=True)
    new = contact_create(customer=customer, name="李*", is_primary=True)

    old.refresh_from_db()
    assert (old.is_primary, new.is_primary) == (False, True)


def test_database_refuses_two_primary_contacts():
    customer = CustomerFactory()
    ContactFactory(customer=customer, is_primary=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(customer=customer, name="second", is_primary=True)


def test_contact_who_left_is_no_longer_primary():
    contact = ContactFactory(is_primary=True)

    contact_mark_left(contact=contact, left_on=dt.date(2026, 5, 1))

    contact.refresh_from_db()
    assert contact.left_on == dt.date(2026, 5, 1)
    assert not contact.is_primary
    assert not contact.is_active


def test_consent_is_one_row_per_channel_updated_in_place():
    customer = CustomerFactory()
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    consent_set(customer=customer, channel="email", granted=True, source="signup form", at=at)
    consent_set(customer=customer, channel="email", granted=False, source="unsubscribe link", at=at)

    rows = list(
        Consent.objects.filter(customer=customer).values_list("channel", "status", "source")
    )
    assert rows == [("email", ConsentStatus.WITHDRAWN, "unsubscribe link")]


def test_search_finds_by_code_name_and_contact_phone_once_each():
    acme = CustomerFactory(code="C2024001", name="*科技有限公司")
    ContactFactory(customer=acme, phone="13800001111")
    ContactFactory(customer=acme, phone="13800001111", name="other")
    CustomerFactory(code="C2024002", name="*制造集团")

    assert list(customer_list(search="c2024001")) == [acme]
    assert list(customer_list(search="科技")) == [acme]
    assert list(customer_list(search="13800001111")) == [acme]
    assert customer_list(search="").count() == 2
    assert customer_list(search="nobody").count() == 0


def test_timeline_merges_all_kinds_newest_first():
    customer = CustomerFactory()
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    OrderFactory(customer=customer, ordered_at=at, number="SO1")
    FollowUpFactory(customer=customer, occurred_at=at + dt.timedelta(days=1))
    ComplaintFactory(customer=customer, opened_at=at + dt.timedelta(days=2))
    SurveyResponseFactory(customer=customer, sent_at=at + dt.timedelta(days=3), nps=4)
    OrderFactory(number="SO-OTHER")  # another customer's order stays out

    timeline = customer_timeline(customer=customer)

    assert [e.kind for e in timeline] == ["survey", "complaint", "followup", "order"]
    assert "NPS 4" in timeline[0].detail
    assert timeline[-1].amount is not None


def test_followup_logged_more_than_24_hours_late_is_flagged():
    on_time = FollowUpFactory()
    late = FollowUpFactory(logged_at=on_time.occurred_at + dt.timedelta(hours=25))

    assert not on_time.logged_late
    assert late.logged_late
