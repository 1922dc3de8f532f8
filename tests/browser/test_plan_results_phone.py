"""A plan's results on a phone (390 x 844) in a real Chromium, in Chinese and in English:
the verdict, the arm against its control with the interval, which revenue interval is used,
the exports, all readable without the page scrolling sideways."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from retain.accounts.services import user_create
from retain.playbooks.models import PlanAssignment, Playbook, Segment
from retain.playbooks.results import plan_results
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TEXTS = {
    "zh-CN": {
        "verdict": "尚无定论",
        "repurchase": "90 天内复购",
        "ci": "置信区间",
        "bootstrap": "自助法",
        "review": "月度复盘",
    },
    "en": {
        "verdict": "Too early to tell",
        "repurchase": "Repurchase within 90 days",
        "ci": "95% CI",
        "bootstrap": "bootstrap interval",
        "review": "Monthly review",
    },
}


@pytest.fixture
def measured_plan(db):
    user_create(username="manager", password=PASSWORD, role="manager")
    now = timezone.now()
    segment = Segment.objects.create(name="手机测量", conditions={"all": []})
    playbook = Playbook.objects.create(name="手机测量计划（潜力客户激活）", segment=segment)
    entered = now - dt.timedelta(days=120)
    for i in range(16):
        customer = CustomerFactory(code=f"PH{i:02d}")
        PlanAssignment.objects.create(
            playbook=playbook, customer=customer, holdout=i >= 10, entered_at=entered
        )
        if i in (0, 1, 2, 3, 4, 10):
            OrderFactory(
                customer=customer,
                ordered_at=entered + dt.timedelta(days=20),
                amount=Decimal(1200 + 100 * i),
            )
    return playbook


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_results_page_reads_on_a_phone(browser, live_server, measured_plan, locale):
    text = TEXTS[locale]
    (comparison,) = plan_results(playbook=measured_plan, now=timezone.now()).comparisons
    assert comparison.repurchase is not None
    context = browser.new_context(viewport=PHONE, locale=locale, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/playbooks/{measured_plan.pk}/results/")
        page.fill("#id_username", "manager")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#measured")

        arm = page.locator('#measured [data-arm="plan"]')
        assert arm.locator("[data-verdict]").inner_text() == text["verdict"]
        cells = arm.locator('tr[data-row="repurchase-90"] td')
        assert cells.nth(0).inner_text() == text["repurchase"]
        difference = cells.nth(3).inner_text()
        assert difference.startswith(f"{comparison.repurchase.estimate * 100:+.1f}")
        assert text["ci"] in difference
        assert text["bootstrap"] in arm.locator("[data-revenue-method]").inner_text()
        # nothing wider than the phone: the tables scroll inside their own box
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        cells.nth(3).scroll_into_view_if_needed()
        assert cells.nth(3).is_visible()
        for link in ("#results-export", "#results-export-xlsx"):
            box = page.locator(link).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        shot(page, f"plan-results-phone-{locale}")

        # the monthly review, from the playbook list, on the same phone
        page.goto(f"{live_server.url}/playbooks/")
        page.click("#plans-review-link")
        page.wait_for_selector(f"h1 >> text={text['review']}")
        row = page.locator(f'#review-plans tr[data-plan="{measured_plan.pk}"]')
        assert row.count() == 0  # its customers entered four months ago, not this month
        assert page.locator("#review-no-entrants").is_visible()
        assert page.locator("#case-form").is_visible()
        # a case recorded with htmx: the list updates in place, the page stays
        form = page.locator("#case-form")
        form.locator("select[name=playbook]").select_option(str(measured_plan.pk))
        form.locator("select[name=outcome]").select_option("failure")
        form.locator("input[name=customer]").fill("ph03")
        form.locator("textarea[name=note]").fill(f"电话三次未接通 ({locale})")
        page.evaluate("window.notReloaded = true")
        form.locator("button[type=submit]").click()
        page.wait_for_selector('#review-cases tr[data-outcome="failure"]')
        case = page.locator('#review-cases tr[data-outcome="failure"]')
        assert "PH03" in case.inner_text() and f"电话三次未接通 ({locale})" in case.inner_text()
        assert page.evaluate("window.notReloaded") is True  # swapped in place, no reload
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        shot(page, f"plan-review-phone-{locale}")
    finally:
        context.close()
