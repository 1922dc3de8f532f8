"""Completing tasks (logging the follow-up), churn alerts with e-mail, the inbox page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from retain.interactions.models import FollowUp
from retain.scoring.alerts import churn_alerts_create
from retain.scoring.models import SegmentChange
from retain.tasks.models import Notification, Task, TaskKind, TaskStatus
from retain.tasks.selectors import churn_reasons_report, task_inbox
from retain.tasks.services import task_complete
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, UserFactory

from .conftest import NOW
from .helpers import AS_OF, scored

pytestmark = pytest.mark.django_db


def make_task(owner, customer=None, kind=TaskKind.PLAYBOOK, due_on=AS_OF, key="action:1"):
    return Task.objects.create(
        customer=customer or CustomerFactory(owner=owner),
        kind=kind,
        key=key,
        owner=owner,
        title="每月电话回访",
        reason="核心客户维系计划",
        due_on=due_on,
        created_at=NOW,
    )


def test_completing_a_task_logs_the_follow_up_and_creates_the_next_task():
    li = UserFactory(username="li")
    task = make_task(li)
    occurred = NOW - dt.timedelta(hours=3)

    task_complete(
        task=task,
        user=li,
        method="call",
        occurred_at=occurred,
        content="电话回访，客户担心价格",
        feedback="价格偏高",
        next_step="提供分期付款方案",
        next_step_on=dt.date(2026, 11, 8),
        now=NOW,
    )

    task.refresh_from_db()
    log = FollowUp.objects.get()
    assert (task.status, task.followup, task.closed_at) == (TaskStatus.DONE, log, NOW)
    assert (task.logging_delay, task.logged_late) == (dt.timedelta(hours=3), False)
    assert (log.kind, log.feedback, log.owner, log.logged_at) == ("call", "价格偏高", li, NOW)
    follow = Task.objects.get(kind=TaskKind.FOLLOWUP)
    assert (follow.title, follow.due_on, follow.owner, follow.status) == (
        "提供分期付款方案",
        dt.date(2026, 11, 8),
        li,
        TaskStatus.OPEN,
    )


def test_logging_more_than_24_hours_late_is_flagged():
    li = UserFactory(username="li")
    task = make_task(li)

    task_complete(
        task=task,
        user=li,
        method="visit",
        occurred_at=NOW - dt.timedelta(hours=25),
        content="拜访",
        now=NOW,
    )

    task.refresh_from_db()
    assert (task.logging_delay, task.logged_late) == (dt.timedelta(hours=25), True)


def test_someone_elses_task_cannot_be_completed():
    task = make_task(UserFactory(username="li"))
    other = UserFactory(username="wang")

    with pytest.raises(PermissionDenied):
        task_complete(task=task, user=other, method="call", occurred_at=NOW, content="x", now=NOW)

    assert (Task.objects.get().status, FollowUp.objects.count()) == (TaskStatus.OPEN, 0)


def test_a_win_back_needs_its_outcome_and_feeds_the_churn_reasons_report():
    li = UserFactory(username="li")
    first = make_task(li, kind=TaskKind.WINBACK, key="winback:2026-11-01")
    second = make_task(li, kind=TaskKind.WINBACK, key="winback:2026-11-01")
    third = make_task(li, kind=TaskKind.WINBACK, key="winback:2026-11-01")

    with pytest.raises(ValidationError):
        task_complete(task=first, user=li, method="call", occurred_at=NOW, content="x", now=NOW)
    assert FollowUp.objects.count() == 0

    for task, outcome, reason in (
        (first, "lost", "价格"),
        (second, "lost", "价格"),
        (third, "won_back", "给予折扣"),
    ):
        task_complete(
            task=task,
            user=li,
            method="call",
            occurred_at=NOW,
            content="挽回电话",
            outcome=outcome,
            outcome_reason=reason,
            now=NOW,
        )

    rows = [(r.outcome, r.reason, r.customers) for r in churn_reasons_report()]
    assert rows == [("lost", "价格", 2), ("won_back", "给予折扣", 1)]


def _high_risk_change(customer, as_of=AS_OF):
    scored(
        customer,
        churn_risk="high",
        risk_reasons="unresolved complaint; NPS detractor",
        previous_churn_risk="low",
    )
    SegmentChange.objects.create(
        customer=customer, as_of=as_of, dimension="churn_risk", from_value="low", to_value="high"
    )


def test_becoming_high_risk_sends_a_win_back_task_and_an_email_to_the_owner(
    smtp_server, django_capture_on_commit_callbacks
):
    li = UserFactory(username="li", email="li@example.com")
    customer = CustomerFactory(code="C7", name="星河制造", owner=li)
    _high_risk_change(customer)

    with django_capture_on_commit_callbacks(execute=True):
        result = churn_alerts_create(as_of=AS_OF, now=NOW)

    task = Task.objects.get(kind=TaskKind.WINBACK)
    assert (result.created, task.owner, task.customer, task.key) == (
        1,
        li,
        customer,
        "winback:2026-11-01",
    )
    assert (
        task.reason
        == "churn risk rose from low to high. Reasons: unresolved complaint; NPS detractor"
    )
    assert Notification.objects.get(user=li).text == "1 customers need a win-back call"
    mail = smtp_server.wait_for(1)
    assert len(mail) == 1
    assert mail[0]["X-Rcpt-To"] == "li@example.com"
    assert "C7 星河制造" in mail[0].get_payload(decode=True).decode()


def test_dropping_out_of_core_is_an_alert_too_and_alerts_are_not_repeated(
    smtp_server, django_capture_on_commit_callbacks
):
    li = UserFactory(username="li", email="li@example.com")
    customer = CustomerFactory(code="C8", owner=li)
    scored(customer, quadrant="potential", previous_quadrant="core")
    SegmentChange.objects.create(
        customer=customer,
        as_of=AS_OF,
        dimension="quadrant",
        from_value="core",
        to_value="potential",
    )
    with django_capture_on_commit_callbacks(execute=True):
        churn_alerts_create(as_of=AS_OF, now=NOW)
    Task.objects.update(status=TaskStatus.DONE, outcome="won_back")

    with django_capture_on_commit_callbacks(execute=True):
        again = churn_alerts_create(as_of=AS_OF, now=NOW)

    assert again.created == 0
    assert Task.objects.get().reason == "moved from core to potential"
    assert len(smtp_server.wait_for(1)) == 1


def test_the_inbox_sorts_tasks_into_overdue_today_and_upcoming(client):
    li = UserFactory(username="li")
    late = make_task(li, due_on=AS_OF - dt.timedelta(days=2), key="a:1")
    today = make_task(li, due_on=AS_OF, key="a:2")
    soon = make_task(li, due_on=AS_OF + dt.timedelta(days=3), key="a:3")
    make_task(UserFactory(username="wang"), key="a:4")

    inbox = task_inbox(user=li, today=AS_OF)

    assert (inbox.overdue, inbox.today, inbox.upcoming) == ([late], [today], [soon])


@time_machine.travel(NOW, tick=False)
def test_the_inbox_page_and_completing_through_htmx(client):
    li = UserFactory(username="li")
    customer = CustomerFactory(code="C9", name="星河制造", owner=li)
    scored(customer, quadrant="core", total_spend=12345.0)
    task = make_task(li, customer=customer, due_on=AS_OF)
    client.login(username="li", password=PASSWORD)

    page = client.get("/tasks/")
    form = client.get(f"/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")
    now = "2026-11-01T17:30"  # local time, half an hour ago
    done = client.post(
        f"/tasks/{task.pk}/complete/",
        {"method": "call", "occurred_at": now, "content": "电话回访"},
        HTTP_HX_REQUEST="true",
    )

    assert page.status_code == form.status_code == done.status_code == 200
    assert "星河制造" in page.content.decode() and "12,345" in page.content.decode()
    assert 'name="content"' in form.content.decode()
    assert 'class="task-card done"' in done.content.decode()
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DONE


def test_the_inbox_needs_a_login(client):
    assert client.get("/tasks/").status_code == 302


def test_an_alert_for_a_customer_without_owner_goes_to_a_manager():
    boss = UserFactory(username="boss", role="manager")
    customer = CustomerFactory(code="C10", owner=None)
    _high_risk_change(customer)

    churn_alerts_create(as_of=AS_OF, now=NOW)

    assert Task.objects.get(kind=TaskKind.WINBACK).owner == boss
