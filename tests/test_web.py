"""Pages through Django's test client: login required, real figures, search and paging."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from retain.customers.models import Customer
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

PAGES = ["dashboard", "customer-list", "tasks", "segments", "playbooks", "imports"]


@pytest.mark.parametrize("name", [*PAGES, "customer-detail"])
def test_every_page_needs_a_login(client, name):
    url = reverse(name, args=["C1"]) if name == "customer-detail" else reverse(name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_for_a_signed_in_user(client, admin_user, name):
    client.force_login(admin_user)

    response = client.get(reverse(name))

    assert response.status_code == 200


def test_login_with_the_right_password_reaches_the_dashboard(client, admin_user):
    response = client.post(
        reverse("login"), {"username": "boss", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("dashboard")


def test_login_with_a_wrong_password_stays_out(client, admin_user):
    response = client.post(reverse("login"), {"username": "boss", "password": "nope"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_dashboard_shows_real_counts(client, admin_user):
    customer = CustomerFactory()
    OrderFactory(customer=customer, ordered_at=timezone.now() - dt.timedelta(days=3))
    client.force_login(admin_user)

    response = client.get(reverse("dashboard"))

    figures = response.context["figures"]
    assert figures.customers == 1
    assert figures.orders_12m == 1
    assert figures.buyers_12m == 1


def test_customer_list_searches_by_contact_phone_and_pages(client, admin_user):
    for _ in range(60):
        CustomerFactory()
    target = CustomerFactory(name="目标客户")
    ContactFactory(customer=target, phone="13912345678")
    client.force_login(admin_user)

    first_page = client.get(reverse("customer-list"))
    found = client.get(reverse("customer-list"), {"q": "13912345678"})

    assert len(first_page.context["page"].rows) == 50
    assert first_page.context["page"].count == 61
    assert first_page.context["page"].has_next
    assert [c.pk for c in found.context["page"].rows] == [target.pk]


def test_htmx_search_returns_only_the_rows(client, admin_user):
    CustomerFactory(name="目标客户")
    client.force_login(admin_user)

    response = client.get(reverse("customer-list"), {"q": "目标"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert "目标客户" in body
    assert "<header" not in body


def test_customer_page_shows_profile_contacts_and_timeline(client, admin_user):
    customer = CustomerFactory(code="C2024001", name="*科技有限公司", key_needs="云存储解决方案")
    ContactFactory(customer=customer, name="张*", is_primary=True)
    OrderFactory(customer=customer, number="SO-777")
    client.force_login(admin_user)

    response = client.get(reverse("customer-detail", args=["C2024001"]))

    body = response.content.decode()
    assert "云存储解决方案" in body and "张*" in body and "SO-777" in body


def test_unknown_customer_is_404(client, admin_user):
    client.force_login(admin_user)

    assert client.get(reverse("customer-detail", args=["NOPE"])).status_code == 404
    assert not Customer.objects.exists()


def test_language_switch_changes_the_interface(client, admin_user):
    client.force_login(admin_user)

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = client.get(reverse("dashboard")).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    chinese = client.get(reverse("dashboard")).content.decode()

    assert "Customers" in english
    assert "客户" in chinese
