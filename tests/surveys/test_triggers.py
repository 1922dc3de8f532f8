"""Surveys that go out by themselves: after an order paid (through the API, its bulk door
and an import), a complaint closed and a task done (through their pages), and on a schedule.
Each event produces exactly one invitation, whichever door caused it and however often the
job runs; the sending rule (consent, quiet hours, 30-day cap) is survey_send's."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from retain.accounts.services import user_create
from retain.api.services import api_token_create
from retain.complaints.models import ComplaintStatus
from retain.customers.services import consent_set
from retain.imports.engine import import_file
from retain.playbooks.models import Segment
from retain.surveys.automation import trigger_save, triggers_run
from retain.surveys.models import SurveyInvitation
from retain.surveys.templates_library import survey_from_template
from retain.tasks.models import Task, TaskStatus
from tests.conftest import PASSWORD
from tests.factories import ComplaintFactory, ContactFactory, CustomerFactory
from tests.imports.conftest import write_csv

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
ORDER_HEADER = ["订单编号", "客户编号", "下单时间", "订单金额", "渠道", "支付方式", "订单状态"]


@pytest.fixture
def marketer(db):
    return user_create(username="mk", password=PASSWORD, role="marketing")


def _customer(code: str):
    customer = CustomerFactory(code=code, name=f"客户{code}")
    ContactFactory(
        customer=customer, name="王芳", email=f"{code.lower()}@example.com", is_primary=True
    )
    consent_set(customer=customer, channel="email", granted=True, source="form", at=T0)
    return customer


def _keys(survey) -> list[tuple[str, str]]:
    return sorted(
        SurveyInvitation.objects.filter(survey=survey).values_list("customer__code", "event_key")
    )


def test_an_order_from_every_door_invites_exactly_once(client, marketer, tmp_path):
    manager = user_create(username="boss2", password=PASSWORD, role="manager")
    survey = survey_from_template(key="after_purchase", actor=marketer)
    with time_machine.travel(T0, tick=False):
        trigger_save(survey=survey, actor=marketer, event="order_paid", delay_days=1)
    for code in ("API", "BLK", "IMP", "TWO"):
        _customer(code)
    old = _customer("OLD")
    token = api_token_create(user=manager, name="tests")[1]
    auth = {"Authorization": f"Bearer {token}"}
    placed = T0 + dt.timedelta(hours=1)

    with time_machine.travel(placed, tick=False):
        one = client.post(
            "/api/v1/orders",
            {
                "customer": "API",
                "number": "A-1",
                "ordered_at": placed.isoformat(),
                "amount": "100.00",
                "channel": "online",
            },
            content_type="application/json",
            headers=auth,
        )
        bulk = client.post(
            "/api/v1/orders/bulk",
            {
                "orders": [
                    {
                        "customer": "BLK",
                        "number": "B-1",
                        "ordered_at": placed.isoformat(),
                        "amount": "80.00",
                        "channel": "offline",
                    },
                    {
                        "customer": "TWO",
                        "number": "B-2",
                        "ordered_at": placed.isoformat(),
                        "amount": "10.00",
                        "channel": "offline",
                    },
                    {
                        "customer": "TWO",
                        "number": "B-3",
                        "ordered_at": placed.isoformat(),
                        "amount": "20.00",
                        "channel": "offline",
                    },
                ]
            },
            content_type="application/json",
            headers=auth,
        )
        imported = import_file(
            path=write_csv(
                tmp_path / "o.csv",
                ORDER_HEADER,
                [
                    ["I-1", "IMP", "2026-11-02 11:00", "50", "线上", "支付宝", "已支付"],
                    ["I-OLD", "OLD", "2025-03-01 10:00", "50", "线上", "支付宝", "已支付"],
                    ["I-REF", "OLD", "2026-11-02 11:00", "50", "线上", "支付宝", "已退款"],
                ],
            ),
            kind="orders",
            actor=manager,
        )
    assert (one.status_code, bulk.status_code, imported.errors) == (201, 201, [])

    # not yet due (one day after the order): nothing
    with time_machine.travel(placed + dt.timedelta(hours=12), tick=False):
        assert triggers_run(now=placed + dt.timedelta(hours=12)).invited == 0
    due = placed + dt.timedelta(days=1, hours=2)
    with time_machine.travel(due, tick=False):
        first = triggers_run(now=due)
        again = triggers_run(now=due + dt.timedelta(hours=1))

    from retain.orders.models import Order

    number = dict(Order.objects.values_list("number", "pk"))
    assert _keys(survey) == [
        ("API", f"order:{number['A-1']}"),
        ("BLK", f"order:{number['B-1']}"),
        ("IMP", f"order:{number['I-1']}"),
        ("TWO", f"order:{number['B-3']}"),  # two orders, one invitation (the latest)
    ]
    assert (first.invited, again.invited) == (4, 0)
    assert SurveyInvitation.objects.filter(customer=old).count() == 0  # history, a refund


def test_complaint_closed_and_task_done_through_their_pages(client, marketer):
    service = user_create(username="svc", password=PASSWORD, role="service")
    csat = survey_from_template(key="complaint_closed", actor=marketer)
    after_task = survey_from_template(key="after_purchase", actor=marketer, name="after task")
    with time_machine.travel(T0, tick=False):
        trigger_save(survey=csat, actor=marketer, event="complaint_closed", delay_days=0)
        trigger_save(survey=after_task, actor=marketer, event="task_done", delay_days=2)
    unhappy, called = _customer("CMP"), _customer("TSK")
    complaint = ComplaintFactory(customer=unhappy, status=ComplaintStatus.RESOLVED)
    task = Task.objects.create(
        customer=called,
        owner=service,
        title="回访",
        due_on=T0.date(),
        created_at=T0,
        key="test:1",
        kind="followup",
    )
    client.force_login(service)
    later = T0 + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        closed = client.post(f"/service/complaints/{complaint.pk}/close/")
        done = client.post(
            f"/tasks/{task.pk}/complete/",
            {"method": "call", "occurred_at": "2026-11-02 10:30", "content": "已回访"},
        )
    assert closed.status_code == 302 and done.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE

    soon = later + dt.timedelta(hours=1)
    with time_machine.travel(soon, tick=False):
        assert triggers_run(now=soon).invited == 1  # the complaint (no delay), not the task yet
    two_days = later + dt.timedelta(days=2, hours=1)
    with time_machine.travel(two_days, tick=False):
        assert triggers_run(now=two_days).invited == 1  # the task, two days after
    assert _keys(csat) == [("CMP", f"complaint:{complaint.pk}")]
    assert _keys(after_task) == [("TSK", f"task:{task.pk}")]


def test_quarterly_schedule_to_a_segment(marketer):
    survey = survey_from_template(key="relationship_nps", actor=marketer)
    segment = Segment.objects.create(name="all", conditions={"all": []})
    _customer("Q1")
    _customer("Q2")
    with time_machine.travel(T0, tick=False):
        trigger = trigger_save(
            survey=survey, actor=marketer, event="schedule", every_months=3, segment=segment
        )
        assert triggers_run(now=T0).invited == 2
        assert triggers_run(now=T0 + dt.timedelta(hours=5)).invited == 0
    trigger.refresh_from_db()
    assert trigger.next_run_on == dt.date(2027, 2, 2)
    night = dt.datetime(2027, 2, 2, 15, 0, tzinfo=dt.UTC)  # 23:00: quiet hours
    with time_machine.travel(night, tick=False):
        assert triggers_run(now=night).invited == 2
    late = SurveyInvitation.objects.filter(
        event_key__startswith=f"schedule:{trigger.pk}:2027-02-02:"
    )
    assert late.count() == 2 and all(i.send_after > night for i in late)
