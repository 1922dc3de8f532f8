"""A task inbox a person can finish: a daily list sized to their capacity, ranked by what
is at stake, the rest spread over the following days; snooze, reassign, bulk complete."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from retain.accounts.models import Team
from retain.audit.models import AuditEvent
from retain.customers.services import consent_set
from retain.interactions.models import FollowUp
from retain.playbooks.models import Playbook
from retain.tasks.models import DailyCapacity, Notification, Task, TaskKind, TaskStatus
from retain.tasks.selectors import InboxFilters, daily_list
from retain.tasks.services import (
    capacity_set,
    playbook_tasks_create,
    task_snooze,
    tasks_complete_bulk,
    tasks_reassign,
)
from tests.factories import CustomerFactory, UserFactory

from .conftest import NOW
from .helpers import AS_OF, scored

pytestmark = pytest.mark.django_db


def task(customer, owner, *, key, due=AS_OF, kind=TaskKind.PLAYBOOK, title="回访", channel="phone"):
    return Task.objects.create(
        customer=customer,
        kind=kind,
        key=key,
        owner=owner,
        title=title,
        reason="因为",
        channel=channel,
        due_on=due,
        created_at=NOW,
    )


def test_new_playbook_tasks_fill_today_up_to_the_capacity_most_valuable_first():
    # about capacity, not measurement: the plan keeps no control group here
    Playbook.objects.update(holdout_percent=0)
    li = UserFactory(username="li")
    DailyCapacity.objects.create(user=li, tasks_per_day=5)
    customers = []
    for n in range(12):
        c = CustomerFactory(code=f"C{n:02d}", owner=li)
        scored(c, quadrant="core", predicted_ltv=float(1000 + n))  # C11 is worth most
        consent_set(customer=c, channel="phone", granted=True, source="form", at=NOW)
        customers.append(c)
    # overdue (counts against today) and a call already: C00 gets no second call
    task(customers[0], li, key="old:1", due=AS_OF - dt.timedelta(days=3))

    playbook_tasks_create(as_of=AS_OF, now=NOW)

    calls = Task.objects.filter(title="每月电话回访")
    per_day = sorted(calls.values_list("due_on", flat=True))
    assert [(d - AS_OF).days for d in per_day] == [0] * 4 + [1] * 5 + [2] * 2
    assert list(
        calls.filter(due_on=AS_OF)
        .order_by("customer__code")
        .values_list("customer__code", flat=True)
    ) == ["C08", "C09", "C10", "C11"]


def test_the_daily_list_is_ranked_and_sized_to_the_capacity():
    li = UserFactory(username="li")
    capacity_set(user=li, tasks_per_day=3, actor=li)
    rows = {}
    for code, ltv, risk, due in [
        ("A", 100.0, "low", AS_OF - dt.timedelta(days=1)),  # overdue comes first
        ("B", 900.0, "low", AS_OF),
        ("C", 500.0, "high", AS_OF),
        ("D", 500.0, "low", AS_OF),
        ("E", 9000.0, "high", AS_OF + dt.timedelta(days=2)),  # not due yet
    ]:
        c = CustomerFactory(code=code, owner=li)
        scored(c, predicted_ltv=ltv, churn_risk=risk)
        rows[code] = task(c, li, key=f"k:{code}", due=due)

    daily = daily_list(user=li, today=AS_OF)

    assert [t.customer.code for t in daily.today] == ["A", "B", "C"]
    assert daily.beyond == 1 and daily.capacity == 3
    assert [t.customer.code for t in daily.later] == ["E", "D"]  # later, still ranked
    only_later = daily_list(user=li, today=AS_OF, filters=InboxFilters(due="later"))
    assert [t.customer.code for t in only_later.today] == []


def test_snooze_reassign_and_bulk_complete_go_through_the_services():
    team = Team.objects.create(name="华东")
    lead = UserFactory(username="lead", team=team)
    team.lead = lead
    team.save()
    east = UserFactory(username="east", team=team)
    west = UserFactory(username="west")
    c = CustomerFactory(code="C1", owner=east)
    call, mail, winback = (
        task(c, east, key="a:1"),
        task(c, east, key="a:2", channel="email"),
        task(c, east, key="w:1", kind=TaskKind.WINBACK),
    )
    Notification.objects.create(user=east, text="新任务", task=call, created_at=NOW)

    with pytest.raises(ValidationError):
        task_snooze(task=call, until=AS_OF, actor=east, today=AS_OF)
    task_snooze(task=call, until=AS_OF + dt.timedelta(days=3), actor=east, today=AS_OF)
    with pytest.raises(PermissionDenied):
        tasks_reassign(tasks=[mail], owner=west, actor=east)  # not theirs to hand out
    with pytest.raises(PermissionDenied):
        tasks_reassign(tasks=[mail], owner=west, actor=lead)  # west is not in the team
    moved = tasks_reassign(tasks=[mail], owner=lead, actor=lead)
    with pytest.raises(ValidationError):
        tasks_complete_bulk(tasks=[call, winback], user=east, content="已发短信")
    done = tasks_complete_bulk(tasks=[call], user=east, content="已电话联系", now=NOW)

    call.refresh_from_db()
    mail.refresh_from_db()
    assert call.due_on == AS_OF + dt.timedelta(days=3) and call.status == TaskStatus.DONE
    assert (moved, mail.owner, done) == (1, lead, 1)
    assert FollowUp.objects.get().content == "已电话联系"
    assert Notification.objects.get(task=call).read_at is not None  # done: the bell stops
    assert Notification.objects.filter(user=lead, text__contains="1").exists()
    assert AuditEvent.objects.filter(object_type="tasks.task", action="update").count() == 2


def test_a_customer_never_gets_a_second_open_task_for_the_same_purpose():
    li = UserFactory(username="li")
    c = CustomerFactory(code="C1", owner=li)
    scored(c, quadrant="core")
    consent_set(customer=c, channel="phone", granted=True, source="form", at=NOW)
    task(c, li, key="action:999", title="别的计划的电话")  # another playbook already calls

    playbook_tasks_create(as_of=AS_OF, now=NOW)

    assert set(Task.objects.filter(status="open").values_list("title", flat=True)) == {
        "别的计划的电话",
        "每季度上门拜访",
    }


def test_the_inbox_page_filters_pages_and_sets_the_capacity(client):
    li = UserFactory(username="li")
    for n in range(30):
        c = CustomerFactory(code=f"C{n:02d}", name=f"客户{n:02d}", owner=li)
        scored(c, predicted_ltv=float(n), quadrant="core" if n % 2 else "potential")
        task(c, li, key=f"k:{n}", due=AS_OF + dt.timedelta(days=n // 15))
    client.force_login(li)

    page = client.get(reverse("tasks")).content.decode()
    core = client.get(reverse("tasks"), {"segment": "core"}).content.decode()
    client.post(reverse("task-capacity"), {"tasks_per_day": "4"})

    assert page.count('class="task-card') == 15 + 15  # 15 today, 15 on the first later page
    assert "客户14" in page and "客户00" in page
    assert "客户02" not in core and "客户13" in core
    assert DailyCapacity.objects.get(user=li).tasks_per_day == 4
    assert client.get(reverse("tasks")).content.decode().count('<article id="task-') == 4 + 25
