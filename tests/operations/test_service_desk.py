"""Complaint first-response deadlines and detractor follow-up."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from retain.complaints.deadlines import complaint_deadlines_check
from retain.complaints.models import ComplaintEscalation
from retain.surveys.models import SurveyResponse
from retain.surveys.services import answers_follow_up_open_bulk, survey_response_record
from retain.tasks.models import Notification, Task, TaskKind
from tests.factories import ComplaintFactory, CustomerFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db

OPENED = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def manager():
    return UserFactory(username="boss", role="manager", email="boss@example.com")


def test_an_urgent_complaint_without_reply_after_30_minutes_goes_to_the_manager(
    manager, smtp_server, django_capture_on_commit_callbacks
):
    complaint = ComplaintFactory(
        severity="urgent", opened_at=OPENED, customer=CustomerFactory(name="星河制造")
    )

    with time_machine.travel(OPENED + dt.timedelta(minutes=29), tick=False):
        early = complaint_deadlines_check(now=dt.datetime.now(dt.UTC))
    assert early.escalated == 0
    assert ComplaintEscalation.objects.count() == 0

    with (
        time_machine.travel(OPENED + dt.timedelta(minutes=31), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        late = complaint_deadlines_check(now=dt.datetime.now(dt.UTC))

    escalation = ComplaintEscalation.objects.get()
    assert late.escalated == 1
    assert (escalation.complaint, escalation.deadline) == (
        complaint,
        OPENED + dt.timedelta(minutes=30),
    )
    note = Notification.objects.get(user=manager)
    assert note.text.startswith("Complaint of 星河制造 (Urgent) has had no first response")
    mail = smtp_server.wait_for(1)
    assert [m["X-Rcpt-To"] for m in mail] == ["boss@example.com"]


def test_an_answered_or_normal_complaint_is_not_escalated_and_nothing_twice(manager):
    ComplaintFactory(
        severity="urgent", opened_at=OPENED, first_response_at=OPENED + dt.timedelta(minutes=5)
    )
    ComplaintFactory(severity="normal", opened_at=OPENED)  # 8 hours
    urgent = ComplaintFactory(severity="urgent", opened_at=OPENED)
    now = OPENED + dt.timedelta(hours=1)

    first = complaint_deadlines_check(now=now)
    second = complaint_deadlines_check(now=now + dt.timedelta(minutes=5))

    assert (first.escalated, second.escalated) == (1, 0)
    assert list(ComplaintEscalation.objects.values_list("complaint", flat=True)) == [urgent.pk]
    assert Notification.objects.count() == 1


def test_the_deadline_per_severity_is_a_setting(manager, settings):
    settings.RETAIN_COMPLAINT_FIRST_RESPONSE = {"urgent": 10}
    ComplaintFactory(severity="urgent", opened_at=OPENED)

    assert complaint_deadlines_check(now=OPENED + dt.timedelta(minutes=11)).escalated == 1


def test_a_detractor_answer_opens_a_service_task():
    service = UserFactory(username="kefu", role="service")
    customer = CustomerFactory(name="星河制造")
    survey = SurveyFactory(name="NPS 年度调研")

    survey_response_record(
        customer=customer,
        survey=survey,
        sent_at=OPENED,
        answered_at=OPENED,
        nps=3,
        comment="交货太慢",
        now=OPENED,
    )
    survey_response_record(
        customer=customer, survey=survey, sent_at=OPENED, answered_at=OPENED, nps=9, now=OPENED
    )

    task = Task.objects.get()
    assert (task.kind, task.owner, task.due_on) == (TaskKind.SERVICE, service, dt.date(2026, 11, 1))
    assert task.title == "Call back a detractor: 星河制造"
    assert "交货太慢" in task.reason


def test_the_daily_job_follows_up_imported_detractor_answers_once():
    service = UserFactory(username="kefu", role="service")
    customer = CustomerFactory(name="星河制造")
    survey = SurveyFactory(name="NPS 年度调研")
    # written in bulk, as an import does: no service call
    SurveyResponse.objects.bulk_create(
        [
            SurveyResponse(
                customer=customer, survey=survey, sent_at=OPENED, answered_at=OPENED, nps=5
            ),
            SurveyResponse(
                customer=customer, survey=survey, sent_at=OPENED, answered_at=OPENED, nps=10
            ),
            SurveyResponse(
                customer=customer,
                survey=survey,
                sent_at=OPENED,
                answered_at=OPENED - dt.timedelta(days=30),
                nps=0,
            ),
        ]
    )

    written = SurveyResponse.objects.order_by("pk")
    first = answers_follow_up_open_bulk(responses=written, now=OPENED)
    again = answers_follow_up_open_bulk(responses=written, now=OPENED)

    assert (first, again) == (2, 0)  # the two detractors, once each; the promoter none
    task = Task.objects.get(reason__contains="5")
    assert (task.kind, task.owner, task.title) == (
        TaskKind.SERVICE,
        service,
        "Call back a detractor: 星河制造",
    )
