"""Giving customers to someone (issue #11, item 4): one rule — whom the actor oversees — in
the service, asked by the list's bulk assign, one customer's edit, the API and the admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from retain.audit.models import AuditEvent
from retain.customers.bulk import customers_assign_owner
from retain.customers.models import Customer
from tests.access.conftest import bearer

pytestmark = pytest.mark.django_db


def owner_of(company, owner):
    return Customer.objects.get(pk=company.customers[owner].pk).owner


@pytest.mark.parametrize("to", ["admin", "manager", "west", "none"])
def test_sales_cannot_bulk_give_their_customers_to_someone_else(client, company, to):
    client.force_login(company.users["east"])
    mine = company.customers["east"]

    response = client.post(
        reverse("customer-bulk"), {"action": "assign", "owner": to, "customer": [mine.pk]}
    )

    assert response.status_code == 403
    assert owner_of(company, "east") == company.users["east"]
    assert not AuditEvent.objects.filter(object_type="customers.customer", action="update")


@pytest.mark.parametrize("to", ["admin", "west", None])
def test_the_api_refuses_the_same(client, company, to):
    response = client.patch(
        f"/api/v1/customers/{company.code('east')}",
        {"owner": to},
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    assert response.status_code == 403
    assert owner_of(company, "east") == company.users["east"]


def test_a_team_lead_gives_customers_within_the_team_by_every_door(client, company):
    lead, east = company.users["lead"], company.users["east"]
    client.force_login(lead)

    bulk = client.post(
        reverse("customer-bulk"),
        {"action": "assign", "owner": "east", "customer": [company.customers["lead"].pk]},
    )
    api = client.patch(
        f"/api/v1/customers/{company.code('east')}",
        {"owner": "lead"},
        content_type="application/json",
        headers=bearer(company, "lead"),
    )
    outside = client.patch(
        f"/api/v1/customers/{company.code('east')}",
        {"owner": "west"},
        content_type="application/json",
        headers=bearer(company, "lead"),
    )

    assert bulk.status_code == 302
    assert owner_of(company, "lead") == east
    assert api.status_code == 200
    assert owner_of(company, "east") == lead
    assert outside.status_code == 403


def test_the_bulk_form_offers_only_the_people_one_may_give_to(client, company):
    client.force_login(company.users["east"])

    html = client.get(reverse("customer-list")).content.decode()

    select = html[html.index('id="bulk-owner"') :]
    select = select[: select.index("</select>")]
    assert 'value="east"' in select
    assert 'value="admin"' not in select and 'value="west"' not in select
    assert 'value="none"' not in select


def test_managers_give_to_sales_and_managers_and_to_nobody(company):
    manager = company.users["manager"]
    ids = [company.customers["west"].pk]

    assert customers_assign_owner(customer_ids=ids, owner=company.users["east"], actor=manager)
    assert customers_assign_owner(customer_ids=ids, owner=None, actor=manager) == 1
    with pytest.raises(PermissionDenied):
        customers_assign_owner(customer_ids=ids, owner=company.users["admin"], actor=manager)


def test_the_admin_refuses_the_same(client, company):
    east = company.users["east"]
    east.is_staff = True
    east.save()
    client.force_login(east)
    customer = company.customers["east"]
    url = f"/admin/customers/customer/{customer.pk}/change/"
    posted = _admin_post(client, url)
    same = client.post(url, {**posted, "city": "杭州"})  # the form as posted is valid

    response = client.post(url, {**posted, "owner": company.users["admin"].pk})

    assert same.status_code == 302
    assert response.status_code == 403
    assert owner_of(company, "east") == east


def _admin_post(client, url):
    """The change form's own values (main form and inline management forms), as posted."""
    import re

    html = client.get(url).content.decode()
    data = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data[name] = value
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        data.setdefault(name, chosen.group(1) if chosen else "")
    data.pop("_addanother", None)
    data.pop("_continue", None)
    return data
