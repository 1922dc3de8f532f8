"""The goal form in Chinese, in a real Chromium: its date inputs come filled (a type=date
input takes only YYYY-MM-DD; the Chinese date format once left them empty and the browser
refused to submit), a date is edited and the goal is saved."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from retain.accounts.services import user_create
from retain.kpis.models import Goal
from retain.scoring.models import KpiSnapshot, RunStatus, ScoringRun
from tests.browser.conftest import shot
from tests.conftest import AS_OF, PASSWORD
from tests.web.conftest import FIGURES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def manager(db):
    ScoringRun.objects.create(
        as_of=AS_OF, status=RunStatus.DONE, started_at=NOW, finished_at=NOW, customers=10
    )
    KpiSnapshot.objects.create(month=AS_OF.replace(day=1), as_of=AS_OF, figures=dict(FIGURES))
    return user_create(username="manager", password=PASSWORD, role="manager")


def test_manager_saves_a_goal_with_dates_in_chinese(page, live_server, manager):
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    today = timezone.localdate()
    page.click("#goal-new summary")
    form = page.locator("#goal-new form")
    assert form.locator("#id_start_on").input_value() == today.isoformat()
    assert form.locator("#id_end_on").input_value() == (today + dt.timedelta(days=91)).isoformat()
    form.locator("#id_name").fill("复购率三个月提升15%")
    form.locator("#id_change").fill("15")
    form.locator("#id_end_on").fill("2027-02-01")
    # nothing the browser itself would refuse (an empty required date blocked the submit)
    assert form.evaluate("f => f.checkValidity()") is True
    shot(page, "goal-form-zh")
    form.locator("button[type=submit]").click()

    page.wait_for_selector("p.message.success")
    assert page.locator("p.message.success").inner_text() == "目标已保存。"
    goal = Goal.objects.get()
    assert (goal.name, goal.kpi, goal.change, goal.relative, goal.start_on, goal.end_on) == (
        "复购率三个月提升15%",
        "repurchase_rate",
        15.0,
        True,
        today,
        dt.date(2027, 2, 1),
    )
    assert goal.baseline == pytest.approx(FIGURES["repurchase_rate"] * 100)
    row = page.locator(f'tr[data-goal="{goal.pk}"]')
    assert f"{today:%Y-%m-%d} – 2027-02-01" in row.inner_text()
