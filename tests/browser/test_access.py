"""In a real Chromium: a service agent reveals a masked phone (htmx, audited); a user makes
an API token, uses it, and revokes it."""

from __future__ import annotations

import pytest
import requests

from retain.accounts.services import user_create
from retain.api.models import ApiToken
from retain.audit.models import AuditEvent
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_service_reveals_a_masked_phone_and_it_is_audited(page, live_server):
    agent = user_create(username="kefu", password=PASSWORD, role="service")
    customer = CustomerFactory(code="C2026001", name="杭州茶叶", phone="13812341234")
    ContactFactory(customer=customer, name="王芳", phone="13900001111")
    _login(page, live_server, "kefu")

    page.goto(f"{live_server.url}/customers/C2026001/")
    profile = page.locator("#profile")
    assert "138****1234" in profile.inner_text()
    assert "13812341234" not in page.content()
    shot(page, "masked-phone")

    profile.locator("button.reveal").click()
    page.wait_for_selector("#profile .pii.revealed")

    assert page.locator("#profile .pii.revealed").inner_text() == "13812341234"
    assert "139****1111" in page.locator("#contacts").inner_text()  # the contact stays masked
    shot(page, "revealed-phone")
    event = AuditEvent.objects.get(action="unmask")
    assert (event.actor, event.customer, event.after) == (agent, customer, {"field": "phone"})


def test_make_use_and_revoke_an_api_token(page, live_server):
    user_create(username="fenxi", password=PASSWORD, role="analyst")
    CustomerFactory(code="C2026001")
    _login(page, live_server, "fenxi")

    page.click("header >> a[href='/account/tokens/']")
    page.fill("#token-form input[name=name]", "nightly report")
    page.click("#token-form button[type=submit]")
    raw = page.locator("#token-value").inner_text()
    shot(page, "new-token")

    api = requests.get(
        f"{live_server.url}/api/v1/customers",
        headers={"Authorization": f"Bearer {raw}"},
        timeout=10,
    )
    assert api.status_code == 200
    assert [c["code"] for c in api.json()["items"]] == ["C2026001"]

    page.goto(f"{live_server.url}/account/tokens/")
    assert raw not in page.content()  # shown once only
    page.click("#token-table >> button[type=submit]")
    page.wait_for_selector("#token-table >> text=已于")
    shot(page, "revoked-token")

    again = requests.get(
        f"{live_server.url}/api/v1/customers",
        headers={"Authorization": f"Bearer {raw}"},
        timeout=10,
    )
    assert again.status_code == 401
    assert ApiToken.objects.get().revoked_at is not None
