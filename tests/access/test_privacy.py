"""Consent, one person's data export and erasure by anonymisation; all audited."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.urls import reverse

from retain.audit.models import AuditEvent
from retain.customers.models import Consent
from retain.customers.privacy import ERASED, customer_erase
from retain.customers.services import consent_set, customer_update
from retain.orders.models import Order
from tests.access.conftest import bearer
from tests.factories import ComplaintFactory, FollowUpFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_erasure_anonymises_but_keeps_the_statistics(company):
    customer = company.customers["west"]
    OrderFactory(customer=customer, amount=Decimal("120.00"))
    OrderFactory(customer=customer, amount=Decimal("80.00"))
    FollowUpFactory(customer=customer, content="王先生说下周再联系 13812340002")
    ComplaintFactory(customer=customer, description="张三投诉")
    consent_set(customer=customer, channel="email", granted=True, source="signup")
    customer_update(customer=customer, notes="住在西湖区", actor=company.users["west"])

    customer_erase(actor=company.users["manager"], customer=customer)

    customer.refresh_from_db()
    assert customer.name == f"{ERASED} {customer.code}"
    assert (customer.phone, customer.email, customer.notes) == ("", "", "")
    assert customer.contacts.get().name == ERASED and customer.contacts.get().phone == ""
    assert customer.followups.get().content == ERASED
    assert customer.complaints.get().description == ERASED
    assert Consent.objects.get(customer=customer).status == "withdrawn"
    # Aggregates are unchanged: two orders worth 200.
    assert Order.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] == Decimal(
        "200.00"
    )
    # The trail keeps what happened but not the personal values.
    update = AuditEvent.objects.get(customer=customer, action="update")
    assert update.after == {"notes": ERASED}
    trail_text = json.dumps(
        list(AuditEvent.objects.filter(customer=customer).values("before", "after", "object_repr")),
        ensure_ascii=False,
    )
    assert (
        "13812340002" not in trail_text
        and "西湖" not in trail_text
        and "west客户" not in trail_text
    )
    assert (
        AuditEvent.objects.filter(
            customer=customer, action="erase", actor=company.users["manager"]
        ).count()
        == 1
    )


@pytest.mark.parametrize("who", ["east", "marketing", "service", "analyst"])
def test_only_privacy_roles_can_erase(company, who):
    customer = company.customers["east"]
    with pytest.raises(PermissionDenied):
        customer_erase(actor=company.users[who], customer=customer)
    customer.refresh_from_db()
    assert customer.name == "east客户"
    assert AuditEvent.objects.filter(action="erase").count() == 0


def test_personal_data_export_from_the_web_is_json_and_audited(client, company):
    customer = company.customers["east"]
    OrderFactory(customer=customer, number="SO-1")
    client.force_login(company.users["manager"])

    response = client.post(reverse("personal-data-export", args=[customer.code]))

    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="{customer.code}-personal-data.json"'
    )
    data = json.loads(response.content)
    assert data["customer"]["phone"] == "13812340001"
    assert [o["number"] for o in data["orders"]] == ["SO-1"]
    assert data["contacts"][0]["name"] == "east联系人"
    event = AuditEvent.objects.get(action="export")
    assert (event.customer, event.actor) == (customer, company.users["manager"])


def test_sales_cannot_export_personal_data(client, company):
    client.force_login(company.users["east"])

    response = client.post(reverse("personal-data-export", args=[company.code("east")]))

    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="export").count() == 0


def test_web_erasure_needs_the_code_typed(client, company):
    customer = company.customers["east"]
    client.force_login(company.users["manager"])

    refused = client.post(reverse("customer-erase", args=[customer.code]), {"confirm": "nope"})
    customer.refresh_from_db()
    assert customer.name == "east客户"

    done = client.post(reverse("customer-erase", args=[customer.code]), {"confirm": customer.code})
    customer.refresh_from_db()
    assert (refused.status_code, done.status_code) == (302, 302)
    assert customer.name.startswith(ERASED)


def test_api_consent_withdrawal_is_recorded_and_audited(client, company):
    code = company.code("east")

    response = client.put(
        f"/api/v1/customers/{code}/consents/sms",
        {"granted": False, "source": "回复TD退订"},
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    consent = Consent.objects.get(customer__code=code, channel="sms")
    assert consent.source == "回复TD退订"
    assert AuditEvent.objects.get(action="consent").customer.code == code


def test_api_personal_data_and_erase(client, company):
    code = company.code("nobody")

    data = client.get(f"/api/v1/customers/{code}/personal-data", headers=bearer(company, "admin"))
    refused = client.post(f"/api/v1/customers/{code}/erase", headers=bearer(company, "analyst"))
    erased = client.post(f"/api/v1/customers/{code}/erase", headers=bearer(company, "admin"))

    assert data.json()["customer"]["code"] == code
    assert refused.status_code == 403
    assert erased.json()["name"] == f"{ERASED} {code}"


def test_erasure_reaches_care_messages_and_task_notes(company):
    import datetime as dt

    from retain.care.models import CareTemplate, Delivery
    from retain.tasks.models import Task

    customer = company.customers["west"]
    at = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    template = CareTemplate.objects.create(
        name="test: birthday", occasion="birthday", channel="email", subject="生日快乐", body="…"
    )
    Delivery.objects.create(
        template=template,
        customer=customer,
        on=at.date(),
        address="zhang2@example.com",
        subject="王先生，生日快乐",
        body="亲爱的王先生……",
        send_after=at,
    )
    Task.objects.create(
        customer=customer,
        kind="followup",
        key="test:1",
        title="回访",
        reason="王先生说住院了",
        due_on=at.date(),
        created_at=at,
    )

    customer_erase(actor=company.users["admin"], customer=customer)

    delivery = Delivery.objects.get(customer=customer)
    assert (delivery.address, delivery.subject, delivery.body) == ("", ERASED, ERASED)
    assert Task.objects.get(customer=customer).reason == ""


def test_erasing_many_customers_in_a_row_who_got_the_same_greeting(company):
    # five people greeted by the same template on the same day: each erasure blanks an
    # address, and blank addresses must not collide (it answered 500 from the second on)
    import datetime as dt

    from retain.care.models import CareTemplate, Delivery
    from tests.factories import CustomerFactory

    at = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    template = CareTemplate.objects.create(
        name="test: national day", occasion="national_day", channel="email", subject="s", body="b"
    )
    people = [CustomerFactory(kind="person", email=f"p{n}@example.com") for n in range(5)]
    for person in people:
        Delivery.objects.create(
            template=template,
            customer=person,
            on=at.date(),
            address=person.email,
            subject="s",
            body="b",
            send_after=at,
        )

    for person in people:
        customer_erase(actor=company.users["admin"], customer=person)

    rows = list(
        Delivery.objects.filter(template=template).values_list("address", "subject", "body")
    )
    assert rows == [("", ERASED, ERASED)] * 5
    # the rule still holds for real addresses
    from django.db import IntegrityError, transaction

    Delivery.objects.create(
        template=template, customer=people[0], on=at.date(), address="x@example.com",
        subject="s", body="b", send_after=at,
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(
            template=template, customer=people[1], on=at.date(), address="x@example.com",
            subject="s", body="b", send_after=at,
        )  # fmt: skip
