"""A measured plan's results in a real Chromium, in Chinese and in English: the plans side by
side, then one plan's arm against its control group with the interval and the verdict."""

from __future__ import annotations

import pytest
from django.utils import timezone

from retain.playbooks.models import Playbook
from retain.playbooks.results import plan_results
from tests.browser.conftest import shot
from tests.conftest import PASSWORD, _demo_company_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POTENTIAL = "潜力客户激活计划"
VERDICTS = {
    "zh-hans": {
        "too_early": "尚无定论",
        "works": "有效",
        "no_effect": "未发现效果",
        "harmful": "有害",
    },
    "en": {
        "too_early": "Too early to tell",
        "works": "Works",
        "no_effect": "No effect detected",
        "harmful": "Harmful",
    },
}


@pytest.fixture
def measured_company(transactional_db):
    """The demo company with its measured plans. The default plans come from a data migration,
    which an earlier transactional test's flush removed: made again first, as on a new site."""
    from importlib import import_module

    from django.apps import apps

    import_module("retain.playbooks.migrations.0002_default_playbooks").create(apps, None)
    return _demo_company_make()


def test_the_measured_results_read_the_same_in_both_languages(page, live_server, measured_company):
    playbook = Playbook.objects.get(name=POTENTIAL)
    measured = plan_results(playbook=playbook, now=timezone.now())
    (comparison,) = measured.comparisons
    assert measured.control is not None and measured.control.customers > 0

    page.goto(f"{live_server.url}/playbooks/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/playbooks/")

    for language, heading, repurchase in (
        ("zh-hans", "计划效果对比", "90 天内复购"),
        ("en", "Plans compared", "Repurchase within 90 days"),
    ):
        page.select_option("#language-form select", language)
        page.wait_for_selector(f"h1 >> text={'维系计划' if language == 'zh-hans' else 'Playbooks'}")
        page.click("#plans-compared-link")
        page.wait_for_selector(f"h1 >> text={heading}")
        row = page.locator(f'#plans-compared tr[data-plan="{playbook.pk}"]')
        verdict = VERDICTS[language][comparison.verdict]
        assert row.locator("[data-verdict]").inner_text() == verdict
        assert row.locator('[data-figure="repurchase"]').inner_text() == comparison.repurchase_text
        shot(page, f"plans-compared-{language}")

        row.locator("a").click()
        page.wait_for_selector("#measured")
        arm = page.locator('#measured [data-arm="plan"]')
        assert arm.locator("[data-verdict]").inner_text() == verdict
        cells = arm.locator('tr[data-row="repurchase-90"] td')
        assert cells.nth(0).inner_text() == repurchase
        assert cells.nth(3).inner_text().startswith(f"{comparison.repurchase.estimate * 100:+.1f}")
        assert ("置信区间" if language == "zh-hans" else "95% CI") in cells.nth(3).inner_text()
        shot(page, f"plan-results-{language}")
        page.goto(f"{live_server.url}/playbooks/")
