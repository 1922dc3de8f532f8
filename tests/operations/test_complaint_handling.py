"""The service desk's services: a complaint from opening to close (each step audited and
on the customer's timeline), the deadlines, satisfaction asked after close, reopening, an
inquiry recorded the same way, and survey answers entered by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.complaints.models import ComplaintEvent, ComplaintStatus
from retain.complaints.selectors import complaint_deadlines, complaint_inbox
from retain.complaints.services import (
    complaint_assign,
    complaint_close,
    complaint_note,
    complaint_open,
    complaint_reopen,
    complaint_resolve,
    complaint_respond,
)
from retain.customers.selectors import customer_timeline
from retain.surveys.models import SurveyResponse
from retain.surveys.services import survey_answer_enter
from retain.tasks.models import Task, TaskKind
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


def minutes(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


@pytest.fixture
def people():
    return {
        name: user_create(username=name, password=PASSWORD, role=role)
        for name, role in [("wang", "service"), ("zhao", "service"), ("li", "sales")]
    }


def test_a_complaint_from_open_to_close_is_audited_timed_and_on_the_timeline(people):
    wang, zhao = people["wang"], people["zhao"]
    customer = CustomerFactory(code="C1", name="华东制造")

    complaint = complaint_open(
        customer=customer,
        actor=wang,
        now=T0,
        channel="phone",
        category="交货延迟",
        severity="urgent",
        description="订单晚到三天",
    )
    fresh = complaint_deadlines(complaint, now=minutes(10))
    assert (fresh.first_response_due, fresh.minutes_left) == (minutes(30), 20)
    assert fresh.resolution_due == T0 + dt.timedelta(hours=24)

    complaint = complaint_assign(complaint=complaint, owner=zhao, actor=wang, now=minutes(5))
    complaint = complaint_respond(
        complaint=complaint, text="已联系物流，今天送达", actor=zhao, now=minutes(12)
    )
    complaint = complaint_note(
        complaint=complaint, text="物流商已确认", actor=zhao, now=minutes(20)
    )
    complaint = complaint_resolve(
        complaint=complaint, resolution="已送达并补偿运费", actor=zhao, now=minutes(300)
    )
    complaint = complaint_close(complaint=complaint, actor=zhao, now=minutes(301))

    answered = complaint_deadlines(complaint, now=minutes(400))
    assert (answered.first_response_late, answered.resolution_late, answered.running) == (
        False,
        False,
        None,
    )
    assert (complaint.status, complaint.first_response_at, complaint.closed_at) == (
        ComplaintStatus.CLOSED,
        minutes(12),
        minutes(301),
    )
    assert list(ComplaintEvent.objects.values_list("kind", flat=True)) == [
        "opened",
        "assigned",
        "responded",
        "note",
        "resolved",
        "closed",
        "satisfaction_asked",
    ]
    audit = AuditEvent.objects.filter(object_type="complaints.complaint")
    assert (
        list(audit.values_list("action", flat=True).order_by("id")) == ["create"] + ["update"] * 5
    )
    asked = SurveyResponse.objects.get(customer=customer)
    assert (asked.survey.name, asked.sent_at, asked.answered_at) == (
        "投诉处理满意度",
        minutes(301),
        None,
    )
    titles = [e.title for e in customer_timeline(customer=customer) if e.kind == "complaint"]
    assert titles[0] == "Complaint: 交货延迟 · Satisfaction asked"
    assert titles[-1] == "Complaint: 交货延迟 · Opened"
    assert len(titles) == 7


def test_reopen_needs_a_reason_and_restarts_the_clock(people):
    wang = people["wang"]
    complaint = complaint_open(
        customer=CustomerFactory(),
        actor=wang,
        now=T0,
        channel="email",
        category="质量",
        description="有划痕",
    )
    with pytest.raises(ValidationError):
        complaint_close(complaint=complaint, actor=wang, now=minutes(1))  # not resolved yet
    complaint = complaint_resolve(
        complaint=complaint, resolution="换货", actor=wang, now=minutes(60)
    )
    with pytest.raises(ValidationError):
        complaint_reopen(complaint=complaint, reason=" ", actor=wang, now=minutes(70))

    complaint = complaint_reopen(
        complaint=complaint, reason="新货也有划痕", actor=wang, now=minutes(70)
    )

    assert (complaint.status, complaint.resolved_at) == (ComplaintStatus.IN_PROGRESS, None)
    # a fresh resolution deadline (normal: 72 h) counted from the reopening
    assert complaint_deadlines(complaint, now=minutes(70)).running == minutes(70) + dt.timedelta(
        hours=72
    )


def test_an_inquiry_is_recorded_the_same_way_and_the_inbox_views(people):
    wang = people["wang"]
    inquiry = complaint_open(
        customer=CustomerFactory(),
        actor=wang,
        now=T0,
        kind="inquiry",
        channel="chat",
        category="发票",
        description="如何开专票",
        owner=wang,
    )
    late = complaint_open(
        customer=CustomerFactory(),
        actor=wang,
        now=T0,
        channel="phone",
        category="质量",
        severity="urgent",
        description="漏水",
    )

    assert inquiry.get_kind_display() == "Inquiry"
    assert list(complaint_inbox(user=wang, view="mine", now=minutes(40))) == [inquiry]
    assert list(complaint_inbox(user=wang, view="unassigned", now=minutes(40))) == [late]
    assert list(complaint_inbox(user=wang, view="overdue", now=minutes(40))) == [late]


def test_sales_cannot_change_a_complaint_and_a_sales_user_is_no_handler(people):
    customer = CustomerFactory(owner=people["li"])
    complaint = complaint_open(
        customer=customer,
        actor=people["li"],
        now=T0,
        channel="phone",
        category="质量",
        description="x",
    )

    with pytest.raises(PermissionDenied):
        complaint_respond(complaint=complaint, text="好的", actor=people["li"], now=minutes(1))
    with pytest.raises(ValidationError):
        complaint_assign(complaint=complaint, owner=people["li"], actor=people["wang"])


def test_a_detractor_answer_entered_by_hand_opens_a_service_task_and_fills_the_question(
    people,
):
    wang = people["wang"]
    customer = CustomerFactory(name="星河")
    survey = SurveyFactory(name="季度电话回访")
    SurveyResponse.objects.create(customer=customer, survey=survey, sent_at=T0)

    answer = survey_answer_enter(
        customer=customer, survey=survey, actor=wang, nps=4, comment="交货慢", now=minutes(5)
    )

    assert SurveyResponse.objects.get() == answer  # the open question, answered
    assert (answer.nps, answer.answered_at) == (4, minutes(5))
    task = Task.objects.get(key=f"survey:{answer.pk}")
    assert (task.kind, task.title) == (TaskKind.SERVICE, "Call back a detractor: 星河")
    assert AuditEvent.objects.filter(object_type="surveys.surveyresponse").count() == 1
    with pytest.raises(ValidationError):
        survey_answer_enter(customer=customer, survey=survey, actor=wang, nps=11)
    with pytest.raises(PermissionDenied):
        survey_answer_enter(customer=customer, survey=survey, actor=people["li"], nps=9)


def test_a_complaint_not_resolved_in_time_is_escalated_once(people):
    from retain.complaints.deadlines import complaint_deadlines_check
    from retain.tasks.models import Notification

    boss = user_create(username="boss", password=PASSWORD, role="manager")
    complaint = complaint_open(
        customer=CustomerFactory(name="远东机械"),
        actor=people["wang"],
        now=T0,
        channel="phone",
        category="质量",
        severity="high",
        description="设备故障",
    )
    complaint_respond(
        complaint=complaint, text="已安排工程师", actor=people["wang"], now=minutes(30)
    )

    early = complaint_deadlines_check(now=T0 + dt.timedelta(hours=47))
    late = complaint_deadlines_check(now=T0 + dt.timedelta(hours=49))
    again = complaint_deadlines_check(now=T0 + dt.timedelta(hours=50))

    assert (early.resolution_escalated, late.resolution_escalated, again.resolution_escalated) == (
        0,
        1,
        0,
    )
    assert late.escalated == 0  # answered in time: no first-response escalation
    note = Notification.objects.get(user=boss)
    assert note.text == "Complaint of 远东机械 (High) is not resolved by its deadline"
    complaint.refresh_from_db()
    assert complaint_deadlines(complaint, now=T0 + dt.timedelta(hours=50)).resolution_escalated
    assert ComplaintEvent.objects.filter(complaint=complaint, kind="escalated").count() == 1


def _late_escalated_then_closed(people):
    """A high complaint escalated for lateness at T0+49 h, then resolved and closed."""
    from retain.complaints.deadlines import complaint_deadlines_check

    wang = people["wang"]
    complaint = complaint_open(
        customer=CustomerFactory(name="远东机械"),
        actor=wang,
        now=T0,
        channel="phone",
        category="质量",
        severity="high",
        description="设备故障",
    )
    complaint_respond(complaint=complaint, text="已安排工程师", actor=wang, now=minutes(30))
    assert complaint_deadlines_check(now=T0 + dt.timedelta(hours=49)).resolution_escalated == 1
    complaint = complaint_resolve(
        complaint=complaint, resolution="已修好", actor=wang, now=T0 + dt.timedelta(hours=50)
    )
    return complaint_close(complaint=complaint, actor=wang, now=T0 + dt.timedelta(hours=51))


def test_a_reopened_complaint_gets_a_fresh_resolution_deadline_and_escalates_again(people):
    from retain.complaints.deadlines import complaint_deadlines_check

    complaint = _late_escalated_then_closed(people)
    reopened_at = T0 + dt.timedelta(hours=60)

    complaint = complaint_reopen(
        complaint=complaint, reason="又坏了", actor=people["wang"], now=reopened_at
    )

    deadlines = complaint_deadlines(complaint, now=reopened_at)
    assert (deadlines.resolution_due, deadlines.resolution_escalated, deadlines.running) == (
        reopened_at + dt.timedelta(hours=48),
        False,
        reopened_at + dt.timedelta(hours=48),
    )
    audit = AuditEvent.objects.filter(action="update").order_by("-id").first()
    assert audit is not None
    assert audit.before["resolution_escalated_at"] is not None
    assert (audit.after["resolution_escalated_at"], audit.after["status"]) == (None, "in_progress")
    check = complaint_deadlines_check
    assert check(now=reopened_at + dt.timedelta(hours=47)).resolution_escalated == 0
    assert check(now=reopened_at + dt.timedelta(hours=49)).resolution_escalated == 1
    assert check(now=reopened_at + dt.timedelta(hours=50)).resolution_escalated == 0
    assert ComplaintEvent.objects.filter(complaint=complaint, kind="escalated").count() == 2


def test_reopening_on_the_page_resets_the_resolution_escalation(people, client, time_machine):
    from django.urls import reverse

    complaint = _late_escalated_then_closed(people)
    reopened_at = T0 + dt.timedelta(hours=60)
    time_machine.move_to(reopened_at, tick=False)
    client.force_login(people["wang"])

    response = client.post(
        reverse("complaint-action", args=[complaint.pk, "reopen"]), {"text": "又坏了"}
    )

    assert response.status_code == 302
    complaint.refresh_from_db()
    assert (complaint.status, complaint.reopened_at, complaint.resolution_escalated_at) == (
        ComplaintStatus.IN_PROGRESS,
        reopened_at,
        None,
    )
    page = client.get(reverse("complaint-detail", args=[complaint.pk]))
    assert b'id="resolution-escalated"' not in page.content
