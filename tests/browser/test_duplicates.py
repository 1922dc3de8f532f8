"""The demo company's planted duplicates in a real Chromium: find, compare, merge, undo."""

from __future__ import annotations

import pytest

from retain.customers.models import Customer
from tests.browser.conftest import shot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def huey_immediate():
    """The scan the button queues runs at once (in the request's thread, after commit)."""
    from huey.contrib.djhuey import HUEY

    before, HUEY.immediate = HUEY.immediate, True
    yield
    HUEY.immediate = before


def test_find_merge_and_undo_a_planted_duplicate(page, live_server, demo_company, huey_immediate):
    total = Customer.objects.count()
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/imports/duplicates/")
    page.click("#find-duplicates")
    page.wait_for_selector("#pairs")
    shot(page, "duplicates")
    assert page.locator("#pairs tbody tr").count() == demo_company.duplicates

    page.locator("#pairs tbody tr").first.locator("text=比较并合并").click()
    page.wait_for_selector("#merge-form")
    shot(page, "merge")
    page.click("#merge")
    page.wait_for_selector("#merges")

    assert Customer.objects.count() == total - 1
    assert "30 天内可以撤销" in page.locator(".messages").inner_text()
    page.locator("#merges button[type=submit]").first.click()
    page.wait_for_selector(".messages >> text=合并已撤销")

    assert Customer.objects.count() == total
