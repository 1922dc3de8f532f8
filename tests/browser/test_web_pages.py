"""Every page of the web interface in a real Chromium, on the scored demo company: the board
(KPIs against targets, charts drawn, the matrix), the customer list, a customer, a follow-up,
a target edited, the language switched, segments, playbook results, a task completed, and
the board on a phone."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.interactions.models import FollowUp
from retain.kpis.models import KpiTarget
from retain.playbooks.models import Playbook, Segment
from retain.scoring.models import CustomerScore
from retain.tasks.models import Task, TaskKind, TaskStatus
from tests.browser.conftest import shot
from tests.conftest import AS_OF, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)

PAINTED = """(selector) => {
    const c = document.querySelector(selector + ' canvas');
    if (!c) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
}"""


@pytest.fixture
def scored_demo(demo_company):
    from retain.kpis.services import board_figures_refresh
    from retain.scoring.services import scoring_run
    from retain.scoring.tables import TableSource

    run = scoring_run(as_of=AS_OF, source=TableSource.MEMORY, now=NOW)
    board_figures_refresh(run=run, source=TableSource.MEMORY)
    return run


def _login(page, live_server, username="manager", path="/"):
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")


def _chart_drew(page, selector: str) -> int:
    page.wait_for_selector(f"{selector} canvas")
    page.wait_for_timeout(900)  # ECharts animates in
    return page.evaluate(PAINTED, selector)


def test_manager_reads_the_board_opens_potential_customers_and_logs_a_follow_up(
    page, live_server, scored_demo
):
    _login(page, live_server)

    # The board: eight KPI cards, green or red against targets, and three charts drawn.
    assert page.locator("#kpi-cards .card.kpi").count() == 8
    assert page.locator("#kpi-cards .card.kpi.met, #kpi-cards .card.kpi.missed").count() == 6
    for chart in ("#trend-chart", "#cohort-chart", "#monthly-chart"):
        assert _chart_drew(page, chart) > 1000, chart
    shot(page, "board-zh")

    # The potential cell leads to exactly those customers.
    potential = CustomerScore.objects.filter(quadrant="potential").count()
    cell = page.locator('#matrix a[data-quadrant="potential"]')
    assert cell.locator(".count").inner_text().replace(",", "") == str(potential)
    cell.click()
    page.wait_for_url("**/customers/?quadrant=potential")
    assert page.locator("#result-count").inner_text() == f"{potential} 个客户"
    shot(page, "customers-potential")

    # Open the first one and read why it is there.
    first = page.locator("#customer-table tbody tr").first
    code = first.locator("td").nth(1).inner_text()
    first.locator("td").nth(1).locator("a").click()
    page.wait_for_selector("#why")
    assert "潜力客户：买得多，但最近不活跃" in page.locator("#why").inner_text()
    shot(page, "customer-why")

    # Log a follow-up in place.
    page.select_option("#followup select[name=kind]", "call")
    page.fill("#followup textarea[name=content]", "电话回访：客户担心价格")
    page.fill("#followup input[name=next_step]", "下周提供分期方案")
    page.click("#followup button[type=submit]")
    page.wait_for_selector("text=跟进记录已保存。")
    assert page.locator("#timeline li.followup").first.inner_text().count("电话回访：客户担心价格")
    assert FollowUp.objects.filter(customer__code=code, content="电话回访：客户担心价格").exists()
    shot(page, "customer-followup")


def test_manager_edits_a_target_and_switches_language(page, live_server, scored_demo):
    _login(page, live_server)

    row = page.locator('#targets tr[data-target="retention_rate"]')
    row.locator("input[name=value]").fill("10")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("text=目标已保存")
    assert KpiTarget.objects.get(kpi="retention_rate").value == 10.0
    assert "met" in page.locator('.card[data-kpi="retention_rate"]').get_attribute("class")

    page.select_option("#language-form select", "en")
    page.wait_for_selector("h1 >> text=Dashboard")
    assert page.locator('.card[data-kpi="retention_rate"] .label').inner_text() == (
        "Yearly retention"
    )
    assert "Value x activity" in page.locator("#matrix h2").inner_text()
    assert _chart_drew(page, "#trend-chart") > 1000
    shot(page, "board-en")
    page.select_option("#language-form select", "zh-hans")
    page.wait_for_selector("h1 >> text=看板")


def test_filters_segments_and_playbook_results(page, live_server, scored_demo):
    _login(page, live_server, path="/customers/")

    # Filter the list by churn risk through the form (htmx swaps the rows).
    page.click("#filters summary")
    page.select_option("#filter-risk", ["high"])
    page.wait_for_function("() => location.search.includes('risk=high')")
    high = CustomerScore.objects.filter(churn_risk="high").count()
    page.wait_for_selector(f"#result-count >> text={high} 个客户")
    shot(page, "customers-high-risk")

    # Segment explorer: conditions, live size.
    page.goto(f"{live_server.url}/segments/")
    rows = page.locator("#segment-form .row")
    rows.nth(0).locator("select[name=f]").select_option("quadrant")
    rows.nth(0).locator("input[name=v]").fill("core")
    core = CustomerScore.objects.filter(quadrant="core").count()
    page.wait_for_selector(f"#segment-size >> text={core}")
    shot(page, "segments")

    # A playbook's results.
    segment = Segment.objects.create(
        name="潜力客户测试",
        conditions={"all": [{"field": "quadrant", "op": "eq", "value": "potential"}]},
    )
    playbook = Playbook.objects.create(name="潜力客户激活测试", segment=segment)
    page.goto(f"{live_server.url}/playbooks/")
    page.click(f'a[href="/playbooks/{playbook.pk}/results/"]')
    page.wait_for_selector("#playbook-results")
    potential = CustomerScore.objects.filter(quadrant="potential").count()
    assert page.locator('[data-figure="members"]').inner_text() == str(potential)
    shot(page, "playbook-results")


def test_sales_completes_a_task_from_the_customer_page(page, live_server, scored_demo):
    score = (
        CustomerScore.objects.filter(customer__owner__username="sales1")
        .select_related("customer")
        .first()
    )
    task = Task.objects.create(
        customer=score.customer,
        kind=TaskKind.PLAYBOOK,
        key="action:test",
        owner=score.customer.owner,
        title="每月电话回访",
        channel="phone",
        due_on=AS_OF,
        created_at=NOW,
    )
    _login(page, live_server, username="sales1", path=f"/customers/{score.customer.code}/")

    page.click(f'#open-tasks a[href="/tasks/{task.pk}/complete/"]')
    page.wait_for_selector("form.complete")
    page.fill("#id_content", "电话回访：一切正常")
    page.click("form.complete button[type=submit]")
    page.wait_for_selector("text=已完成")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    shot(page, "task-completed")


def test_board_on_a_phone(browser, live_server, scored_demo):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        _login(page, live_server)
        assert _chart_drew(page, "#trend-chart") > 500
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1  # nothing sticks out sideways
        shot(page, "board-phone")
    finally:
        context.close()
