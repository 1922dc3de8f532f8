"""The task inbox in a real Chromium: a sales user sees today's playbook task with the
customer's key facts, logs the follow-up in place (htmx) and the task is done."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from retain.accounts.services import user_create
from retain.interactions.models import FollowUp
from retain.tasks.models import Task, TaskKind, TaskStatus
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory
from tests.operations.helpers import scored

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)  # 18:00 in Shanghai


def test_a_sales_user_completes_a_task_from_the_inbox(page, live_server):
    with time_machine.travel(NOW, tick=True):
        li = user_create(username="li", password=PASSWORD, role="sales")
        customer = CustomerFactory(code="C2024002", name="华东制造集团", owner=li)
        scored(customer, quadrant="core", total_spend=1250000.0, order_count=14)
        task = Task.objects.create(
            customer=customer,
            kind=TaskKind.PLAYBOOK,
            key="action:1",
            owner=li,
            title="每月电话回访",
            reason="核心客户维系计划 (segment 核心客户): 致电华东制造集团",
            channel="phone",
            due_on=dt.date(2026, 11, 1),
            created_at=NOW,
        )
        page.goto(f"{live_server.url}/tasks/")
        page.fill("#id_username", "li")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/tasks/")

        row = page.locator(f"#task-{task.pk}")
        assert "华东制造集团" in row.inner_text()
        assert "1,250,000" in row.inner_text()
        assert "核心客户" in row.inner_text() and "老客户" in row.inner_text()
        shot(page, "task-inbox")

        row.locator("a.button").click()
        page.wait_for_selector("form.complete")
        page.fill("#id_content", "电话回访：客户担心价格")
        page.fill("#id_feedback", "价格偏高")
        page.fill("#id_next_step", "下周提供分期方案")
        page.fill("#id_next_step_on", "2026-11-08")
        page.click("form.complete button[type=submit]")
        page.wait_for_selector(f"#task-{task.pk}.done")
        shot(page, "task-done")

    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    log = FollowUp.objects.get()
    assert (log.content, log.feedback, log.next_step) == (
        "电话回访：客户担心价格",
        "价格偏高",
        "下周提供分期方案",
    )
    assert Task.objects.get(kind=TaskKind.FOLLOWUP).due_on == dt.date(2026, 11, 8)
