"""A person's first visit, in a real Chromium: log in, search a customer, open it, read the timeline."""

from __future__ import annotations

import pytest

from retain.customers.models import Customer
from tests.browser.conftest import shot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, username="admin"):
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_log_in_search_open_customer_and_see_timeline(page, live_server, demo_company):
    customer = (
        Customer.objects.filter(kind="company", orders__isnull=False, followups__isnull=False)
        .distinct()
        .order_by("code")
        .first()
    )
    _login(page, live_server)
    shot(page, "dashboard")

    page.click("nav >> text=客户")
    page.fill("#q", customer.code)
    page.press("#q", "Enter")
    # htmx swaps the rows in place: wait for the swap, not for the first page
    page.wait_for_function(
        "() => document.querySelectorAll('#customer-table tbody tr').length === 1"
    )
    assert customer.code in page.locator("#customer-table tbody tr").inner_text()

    page.click(f"#customer-table >> text={customer.name}")
    page.wait_for_selector("#timeline")
    shot(page, "customer-page")

    assert page.locator("h1").inner_text().startswith(customer.name)
    entries = page.locator("#timeline li")
    assert entries.count() == (
        customer.orders.count()
        + customer.followups.count()
        + customer.complaints.count()
        + customer.survey_responses.count()
        + customer.campaign_participations.count()
        + customer.care_deliveries.count()
        + customer.tasks.count()
    )
    assert page.locator("#timeline li.order").count() == customer.orders.count()
    assert page.locator("#contacts strong").count() == customer.contacts.count()


def test_dashboard_chart_draws(page, live_server, demo_company):
    _login(page, live_server)
    page.wait_for_selector("#monthly-chart canvas")
    page.wait_for_timeout(800)  # ECharts animates in

    painted = page.evaluate(
        """() => {
        const c = document.querySelector('#monthly-chart canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
    }"""
    )
    assert painted > 1000


def test_language_switch_to_english_and_back(page, live_server, demo_company):
    _login(page, live_server)

    page.select_option("#language-form select", "en")
    page.wait_for_selector("nav >> text=Customers")
    shot(page, "dashboard-en")
    page.select_option("#language-form select", "zh-hans")
    page.wait_for_selector("nav >> text=客户")


def test_wrong_password_shows_an_error(page, live_server, demo_company):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")

    assert page.locator(".errors").is_visible()
