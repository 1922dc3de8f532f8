"""Searching by personal data (issue #11, item 2): a role that sees phones masked cannot
recover the hidden digits by searching for full numbers, from any door; searches by phone or
email are audited and limited per user."""

from __future__ import annotations

import pytest
from django.urls import reverse
from typer.testing import CliRunner

from retain.audit.models import AuditEvent
from retain.cli import app
from tests.access.conftest import bearer

pytestmark = pytest.mark.django_db

MASKED = ["marketing", "service", "analyst"]


def _codes(response):
    assert response.status_code == 200, response.content
    return [item["code"] for item in response.json()["items"]]


@pytest.mark.parametrize("who", MASKED)
def test_masked_roles_do_not_find_a_customer_by_its_full_phone(client, company, who):
    customer = company.customers["east"]
    contact_phone = customer.contacts.get().phone

    by_phone = client.get("/api/v1/customers", {"q": customer.phone}, headers=bearer(company, who))
    by_contact = client.get("/api/v1/customers", {"q": contact_phone}, headers=bearer(company, who))

    assert _codes(by_phone) == []
    assert _codes(by_contact) == []


@pytest.mark.parametrize("who", MASKED)
def test_masked_roles_find_a_customer_by_the_masked_phone_they_see(client, company, who):
    customer = company.customers["east"]  # 13812340001, shown as 138****0001
    client.force_login(company.users[who])

    api = client.get("/api/v1/customers", {"q": "138****0001"}, headers=bearer(company, who))
    web = client.get(reverse("customer-list"), {"q": "138****0001"}).content.decode()

    assert _codes(api) == [customer.code]
    assert customer.code in web
    assert company.code("west") not in web


def test_sales_find_their_own_customer_by_full_phone(client, company):
    customer = company.customers["east"]

    response = client.get(
        "/api/v1/customers", {"q": customer.phone}, headers=bearer(company, "east")
    )

    assert _codes(response) == [customer.code]


def test_export_from_the_command_line_cannot_search_by_hidden_digits(company, tmp_path):
    out = tmp_path / "found.csv"

    result = CliRunner().invoke(
        app,
        ["export-customers", "--as", "analyst", "--out", str(out), "--search", "13812340001"],
    )

    assert result.exit_code == 0, result.output
    assert "Exported 0 customers" in result.output
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 1  # the header only


def test_searches_by_phone_are_audited_and_limited_per_user(client, company, settings):
    settings.RETAIN_SEARCH_LIMIT = 3
    client.force_login(company.users["service"])
    headers = bearer(company, "service")
    phones = ["13800000001", "13800000002", "13800000003"]

    answers = [client.get("/api/v1/customers", {"q": p}, headers=headers) for p in phones]
    refused_api = client.get("/api/v1/customers", {"q": "13800000004"}, headers=headers)
    refused_web = client.get(reverse("customer-list"), {"q": "13800000005"})
    by_name = client.get("/api/v1/customers", {"q": "east客户"}, headers=headers)
    other_user = client.get(
        "/api/v1/customers", {"q": "13800000006"}, headers=bearer(company, "analyst")
    )

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert refused_api.status_code == 429
    assert int(refused_api["Retry-After"]) > 0
    assert refused_web.status_code == 429
    assert (
        "Too many searches" in refused_web.content.decode()
        or "搜索" in refused_web.content.decode()
    )
    assert _codes(by_name) == [company.code("east")]  # names are not personal-data searches
    assert other_user.status_code == 200  # the limit is per user
    events = AuditEvent.objects.filter(action="search", actor=company.users["service"])
    assert sorted(e.after["search"] for e in events) == [
        "138****0001",
        "138****0002",
        "138****0003",
    ]
    assert {e.ip for e in events} == {"127.0.0.1"}


def test_email_searches_count_too(client, company, settings):
    settings.RETAIN_SEARCH_LIMIT = 1
    headers = bearer(company, "manager")

    first = client.get("/api/v1/customers", {"q": "zhang1@example.com"}, headers=headers)
    second = client.get("/api/v1/customers", {"q": "zhang2@example.com"}, headers=headers)

    assert first.status_code == 200
    assert second.status_code == 429
    event = AuditEvent.objects.get(action="search")
    assert event.after == {"search": "z***@example.com", "kind": "email"}


def test_staff_without_full_phones_cannot_search_the_back_office_by_phone(client, company):
    marketing = company.users["marketing"]
    marketing.is_staff = True
    marketing.save()
    client.force_login(marketing)
    customer = company.customers["east"]

    by_phone = client.get("/admin/customers/customer/", {"q": customer.phone})
    by_name = client.get("/admin/customers/customer/", {"q": customer.name})

    assert customer.code not in by_phone.content.decode()
    assert customer.code in by_name.content.decode()
