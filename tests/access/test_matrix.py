"""The permission matrix walked through every door: web list, web detail, admin, API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retain.accounts.access import customers_visible_to
from tests.access.conftest import SALES, SEES, bearer

pytestmark = pytest.mark.django_db

OWNERS = [*SALES, "nobody"]
EVERYONE = list(SEES)


@pytest.mark.parametrize("who", EVERYONE)
def test_selector_gives_exactly_the_visible_customers(company, who):
    codes = set(customers_visible_to(company.users[who]).values_list("code", flat=True))

    assert codes == {company.code(owner) for owner in SEES[who]}


@pytest.mark.parametrize("who", EVERYONE)
def test_web_list_shows_exactly_the_visible_customers(client, company, who):
    client.force_login(company.users[who])

    html = client.get(reverse("customer-list")).content.decode()

    shown = {owner for owner in OWNERS if company.code(owner) in html}
    assert shown == SEES[who]


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("owner", OWNERS)
def test_web_detail_opens_only_visible_customers(client, company, who, owner):
    client.force_login(company.users[who])

    response = client.get(reverse("customer-detail", args=[company.code(owner)]))

    assert response.status_code == (200 if owner in SEES[who] else 404)


def test_web_search_does_not_find_an_invisible_customer_by_phone(client, company):
    client.force_login(company.users["east"])

    html = client.get(reverse("customer-list"), {"q": company.customers["west"].phone})

    assert company.code("west") not in html.content.decode()


@pytest.mark.parametrize("who", EVERYONE)
def test_api_list_returns_exactly_the_visible_customers(client, company, who):
    response = client.get("/api/v1/customers", headers=bearer(company, who))

    assert response.status_code == 200
    codes = {item["code"] for item in response.json()["items"]}
    assert codes == {company.code(owner) for owner in SEES[who]}
    assert response.json()["count"] == len(SEES[who])


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("owner", OWNERS)
def test_api_detail_and_contacts_only_for_visible_customers(client, company, who, owner):
    code = company.code(owner)

    detail = client.get(f"/api/v1/customers/{code}", headers=bearer(company, who))
    contacts = client.get(f"/api/v1/customers/{code}/contacts", headers=bearer(company, who))

    expected = 200 if owner in SEES[who] else 404
    assert (detail.status_code, contacts.status_code) == (expected, expected)


def test_api_orders_of_an_invisible_customer_stay_hidden(client, company):
    from tests.factories import OrderFactory

    OrderFactory(customer=company.customers["west"], number="SO-WEST")
    OrderFactory(customer=company.customers["east"], number="SO-EAST")

    response = client.get("/api/v1/orders", headers=bearer(company, "east"))
    one = client.get("/api/v1/orders/SO-WEST", headers=bearer(company, "east"))

    assert [o["number"] for o in response.json()["items"]] == ["SO-EAST"]
    assert one.status_code == 404


def test_admin_shows_a_staff_sales_user_only_their_customers(client, company):
    east = company.users["east"]
    east.is_staff = True
    east.save()
    client.force_login(east)

    listing = client.get(reverse("admin:customers_customer_changelist"))
    other = client.get(
        reverse("admin:customers_customer_change", args=[company.customers["west"].pk])
    )
    own = client.get(
        reverse("admin:customers_customer_change", args=[company.customers["east"].pk])
    )

    html = listing.content.decode()
    assert company.code("east") in html
    assert company.code("west") not in html
    assert other.status_code == 302  # "does not exist": the admin cannot fetch it
    assert own.status_code == 200


def test_admin_contacts_of_other_accounts_are_hidden_from_staff_sales(client, company):
    east = company.users["east"]
    east.is_staff = True
    east.save()
    client.force_login(east)

    html = client.get(reverse("admin:customers_contact_changelist")).content.decode()

    assert "east联系人" in html
    assert "west联系人" not in html


def test_admin_is_closed_to_sales_who_are_not_staff(client, company):
    client.force_login(company.users["west"])

    response = client.get(reverse("admin:customers_customer_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_manager_sees_every_customer_in_the_admin(client, company):
    client.force_login(company.users["manager"])

    html = client.get(reverse("admin:customers_customer_changelist")).content.decode()

    assert all(company.code(owner) in html for owner in OWNERS)


@pytest.mark.parametrize(
    ("who", "status"),
    [("manager", 200), ("east", 200), ("marketing", 403), ("analyst", 403), ("service", 403)],
)
def test_only_roles_that_edit_customers_can_patch_them_through_the_api(
    client, company, who, status
):
    code = company.code("east")
    before = company.customers["east"].name

    response = client.patch(
        f"/api/v1/customers/{code}",
        {"city": "杭州"},
        content_type="application/json",
        headers=bearer(company, who),
    )

    assert response.status_code == status
    company.customers["east"].refresh_from_db()
    assert company.customers["east"].city == ("杭州" if status == 200 else "")
    assert company.customers["east"].name == before


def test_sales_cannot_create_a_customer_for_someone_else(client, company):
    response = client.post(
        "/api/v1/customers",
        {"name": "新客户", "owner": "west"},
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to do this."}


def test_sales_creates_customers_they_own(client, company):
    response = client.post(
        "/api/v1/customers",
        {"name": "新客户", "kind": "person", "phone": "13700001111"},
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    assert response.status_code == 201, response.content
    assert response.json()["owner"] == "east"
    assert response.json()["phone"] == "13700001111"


#: Who finds a customer by its full phone: only roles that are shown full phones.
FINDS_BY_PHONE = {"admin", "manager", "lead", "east", "west"}


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("owner", OWNERS)
def test_search_by_full_phone_only_for_roles_that_see_phones(client, company, who, owner):
    customer = company.customers[owner]
    found = owner in SEES[who] and who in FINDS_BY_PHONE

    api = client.get("/api/v1/customers", {"q": customer.phone}, headers=bearer(company, who))
    client.force_login(company.users[who])
    web = client.get(reverse("customer-list"), {"q": customer.phone}).content.decode()

    assert [item["code"] for item in api.json()["items"]] == ([customer.code] if found else [])
    assert (customer.code in web) is found


#: Who may import at all (docs/access.md): admin, manager and sales.
IMPORTS = {"admin", "manager", "lead", "east", "west"}


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("owner", OWNERS)
def test_import_changes_only_visible_customers(tmp_path, company, who, owner):
    from django.utils import translation

    from retain.imports.engine import import_file
    from retain.imports.reading import ImportFileError
    from tests.imports.conftest import write_csv

    customer = company.customers[owner]
    path = write_csv(tmp_path / "c.csv", ["客户编号", "客户名称"], [[customer.code, "改名"]])

    if who not in IMPORTS:
        with translation.override("en"), pytest.raises(ImportFileError, match="may not import"):
            import_file(path=path, kind="customers", actor=company.users[who])
        customer.refresh_from_db()
        assert customer.name != "改名"
        return
    with translation.override("en"):
        result = import_file(path=path, kind="customers", actor=company.users[who])

    customer.refresh_from_db()
    assert (customer.name == "改名") is (owner in SEES[who])
    assert [e.message for e in result.errors] == (
        [] if owner in SEES[who] else [f"customer {customer.code}: not found or not yours"]
    )
