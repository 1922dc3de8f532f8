"""Content-Security-Policy in a real Chromium (issue #11, item 9): every page carries a
policy that runs only retain's own scripts, and the pages still work under it — the
board's charts (a nonce'd inline script), select-all and submit-on-change (retain.js),
htmx, the back office and the API docs — with no violation reported."""

from __future__ import annotations

import pytest

from retain.accounts.services import user_create
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    "/",
    "/customers/",
    "/tasks/",
    "/segments/",
    "/admin/",
    "/api/v1/docs",
    "/imports/",
    "/imports/scores/",
]


def test_pages_work_under_the_policy_without_violations(page, live_server):
    boss = user_create(username="boss", password=PASSWORD, role="manager")
    boss.is_staff = True
    boss.save()
    CustomerFactory(code="C2026001", name="杭州茶叶")
    CustomerFactory(code="C2026002", name="宁波纺织")
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    policies = {}
    for path in PAGES:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        policies[path] = response.headers.get("content-security-policy", "")
        page.wait_for_load_state("networkidle")

    for path, policy in policies.items():
        script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
        assert script_src.startswith("script-src 'self' 'nonce-"), (path, policy)
        assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    assert violations == []

    # the board's inline script (with the nonce) drew its charts
    page.goto(f"{live_server.url}/")
    if page.locator("#monthly-chart").count():
        page.wait_for_function(
            "() => window.echarts && echarts.getInstanceByDom(document.getElementById('monthly-chart'))"
        )
    # retain.js: select-all in the customer list, also after an htmx swap
    page.goto(f"{live_server.url}/customers/")
    page.fill("#q", "茶叶")
    page.press("#q", "Enter")  # htmx: the rows are swapped in
    page.wait_for_function(
        "() => document.querySelectorAll('#customer-table tbody tr').length === 1"
    )
    page.wait_for_timeout(600)  # the keyup trigger (400 ms) swaps the rows once more
    page.wait_for_load_state("networkidle")
    page.locator("input[data-check-all]").check()
    boxes = page.locator("#customer-table tbody input[type=checkbox]")
    assert boxes.count() == 1
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    # an inline handler injected into the page does not run
    page.evaluate(
        "() => { const b = document.createElement('button'); b.id = 'evil';"
        " b.setAttribute('onclick', 'window.pwned = 1'); document.body.append(b); }"
    )
    page.click("#evil")
    assert page.evaluate("() => window.pwned") is None
    assert violations  # ... and Chromium says why
