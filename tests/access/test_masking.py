"""Personal data is masked for roles without the permission; revealing it is audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retain.accounts.access import mask_email, mask_phone
from retain.audit.models import AuditEvent
from tests.access.conftest import bearer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812341234", "138****1234"), ("021-5555", "021****5555"), ("12345", "1****"), ("", "")],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("zhang@example.com", "z***@example.com"), ("a@b.cn", "a***@b.cn"), ("", "")],
)
def test_mask_email(value, masked):
    assert mask_email(value) == masked


@pytest.mark.parametrize(
    ("who", "phone", "email"),
    [
        ("manager", "13812340003", "zhang3@example.com"),
        ("admin", "13812340003", "zhang3@example.com"),
        ("marketing", "138****0003", "z***@example.com"),
        ("service", "138****0003", "z***@example.com"),
        ("analyst", "138****0003", "z***@example.com"),
    ],
)
def test_api_masks_phone_and_email_by_role(client, company, who, phone, email):
    response = client.get(
        f"/api/v1/customers/{company.code('nobody')}", headers=bearer(company, who)
    )

    assert (response.json()["phone"], response.json()["email"]) == (phone, email)


def test_sales_see_their_own_customers_in_full(client, company):
    response = client.get(
        f"/api/v1/customers/{company.code('east')}", headers=bearer(company, "east")
    )

    assert response.json()["phone"] == "13812340001"


def test_marketing_sees_masked_phones_on_the_customer_page(client, company):
    client.force_login(company.users["marketing"])

    html = client.get(reverse("customer-detail", args=[company.code("west")])).content.decode()

    assert "138****0002" in html
    assert "13812340002" not in html
    assert "139****0002" in html  # the contact's phone too
    assert "13999990002" not in html
    assert "hx-post" not in html  # marketing may not reveal


def test_service_reveals_a_phone_and_the_reveal_is_audited(client, company):
    customer = company.customers["west"]
    client.force_login(company.users["service"])
    page = client.get(reverse("customer-detail", args=[customer.code])).content.decode()
    url = reverse("personal-reveal", args=[customer.code, "customer", customer.pk, "phone"])
    assert url in page

    response = client.post(url)

    assert response.status_code == 200
    assert "13812340002" in response.content.decode()
    event = AuditEvent.objects.get(action="unmask")
    assert (event.actor, event.customer, event.after) == (
        company.users["service"],
        customer,
        {"field": "phone"},
    )


def test_service_reveals_a_contact_email(client, company):
    contact = company.customers["west"].contacts.get()
    contact.email = "li@example.com"
    contact.save()
    client.force_login(company.users["service"])
    url = reverse("personal-reveal", args=[company.code("west"), "contact", contact.pk, "email"])

    response = client.post(url)

    assert "li@example.com" in response.content.decode()
    assert AuditEvent.objects.filter(action="unmask", object_id=str(contact.pk)).count() == 1


def test_marketing_cannot_reveal(client, company):
    customer = company.customers["west"]
    client.force_login(company.users["marketing"])

    response = client.post(
        reverse("personal-reveal", args=[customer.code, "customer", customer.pk, "phone"])
    )

    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="unmask").count() == 0


def test_sales_cannot_reveal_a_customer_they_do_not_own(client, company):
    customer = company.customers["west"]
    client.force_login(company.users["east"])

    response = client.post(
        reverse("personal-reveal", args=[customer.code, "customer", customer.pk, "phone"])
    )

    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="unmask").count() == 0


def test_only_phone_and_email_can_be_revealed(client, company):
    customer = company.customers["west"]
    client.force_login(company.users["service"])

    response = client.post(
        reverse("personal-reveal", args=[customer.code, "customer", customer.pk, "notes"])
    )

    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="unmask").count() == 0
