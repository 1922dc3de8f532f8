"""Service's day in a real Chromium, in both languages, on a phone-sized screen: a complaint
recorded from the customer page, answered within the 30-minute deadline, resolved and
closed; a second one left unanswered is escalated to the manager by the deadline job; an
NPS answer taken by phone opens a detractor call-back task."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from retain.accounts.services import user_create
from retain.complaints.deadlines import complaint_deadlines_check
from retain.complaints.models import Complaint, ComplaintEscalation, ComplaintStatus
from retain.surveys.models import Survey
from retain.tasks.models import Notification, Task, TaskKind
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai

TEXTS = {
    "zh-CN": {"left": "剩余", "in_time": "按时答复", "escalated": "已升级给经理"},
    "en": {"left": "min left", "in_time": "answered in time", "escalated": "Escalated to the"},
}


def _login(page, live_server, username: str, path: str) -> None:
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")


def _record(page, category: str) -> None:
    page.fill("#complaint-category", category)
    page.select_option("#complaint-severity", "urgent")
    page.select_option("#complaint-channel", "phone")
    page.fill("#complaint-description", f"{category}：客户来电")
    page.click("#complaint-save")
    page.wait_for_selector("#complaint-events")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_service_answers_closes_escalates_and_enters_an_nps_answer(browser, live_server, locale):
    text = TEXTS[locale]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        with time_machine.travel(T0, tick=True):
            user_create(username="kefu", password=PASSWORD, role="service")
            boss = user_create(username="boss", password=PASSWORD, role="manager")
            customer = CustomerFactory(code="C2024002", name="华东制造集团")
            Survey.objects.create(name="季度电话回访")

            _login(page, live_server, "kefu", f"/customers/{customer.code}/")
            page.click("#record-complaint")
            assert page.input_value("#complaint-customer") == "C2024002"
            _record(page, "交货延迟")
            first = Complaint.objects.get(category="交货延迟")
            assert text["left"] in page.inner_text("#complaint-facts")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
            shot(page, f"complaint-open-{locale}")

        with time_machine.travel(T0 + dt.timedelta(minutes=12), tick=True):
            page.fill("#respond-text", "已联系物流，今天送达")
            page.click("#respond")
            page.wait_for_selector("#first-response")
            assert text["in_time"] in page.inner_text("#first-response")
            page.fill("#resolve-text", "已送达，补偿运费")
            page.click("#resolve")
            page.click("#close")
            page.wait_for_selector("#reopen")
            first.refresh_from_db()
            assert first.status == ComplaintStatus.CLOSED
            answered_after = first.first_response_at - first.opened_at
            assert dt.timedelta(minutes=11) < answered_after < dt.timedelta(minutes=13)

            # A second complaint, recorded from the inbox and left unanswered.
            page.click("#nav-service")
            page.click("#complaint-new")
            page.fill("#complaint-customer", customer.code)
            _record(page, "产品漏水")
            second = Complaint.objects.get(category="产品漏水")

        with time_machine.travel(T0 + dt.timedelta(minutes=50), tick=True):
            # the five-minute job, as the worker runs it
            assert complaint_deadlines_check(now=dt.datetime.now(dt.UTC)).escalated == 1
            page.goto(f"{live_server.url}/service/complaints/{second.pk}/")
            assert text["escalated"] in page.inner_text("#complaint-escalated")
            assert ComplaintEscalation.objects.get().complaint == second
            assert Notification.objects.filter(user=boss).count() == 1

            # An NPS answer taken by phone: a detractor.
            page.goto(f"{live_server.url}/customers/{customer.code}/")
            page.click("#record-survey")
            page.select_option("#survey-survey", label="季度电话回访")
            page.fill("#survey-nps", "3")
            page.fill("#survey-comment", "交货太慢")
            page.click("#survey-save")
            page.wait_for_url(f"{live_server.url}/customers/{customer.code}/")
            task = Task.objects.get(kind=TaskKind.SERVICE)
            assert task.owner.username == "kefu"
            page.goto(f"{live_server.url}/tasks/")
            page.wait_for_selector(f"text={task.title}")
            shot(page, f"detractor-task-{locale}")
    finally:
        context.close()
