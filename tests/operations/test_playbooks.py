"""The daily job that turns playbooks into follow-up tasks."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.accounts.models import Team
from retain.customers.services import consent_set
from retain.playbooks.models import OwnerRule, PlanAssignment, Playbook, PlaybookAction
from retain.tasks.models import Task, TaskStatus
from retain.tasks.services import playbook_tasks_create
from tests.factories import CustomerFactory, UserFactory

from .conftest import NOW
from .helpers import AS_OF, scored

pytestmark = pytest.mark.django_db


def open_tasks() -> set[tuple[str, str, str]]:
    return set(
        Task.objects.filter(status=TaskStatus.OPEN).values_list(
            "customer__code", "title", "owner__username"
        )
    )


@pytest.fixture
def core_customer():
    owner = UserFactory(username="li")
    customer = CustomerFactory(code="C1", name="星河制造", owner=owner)
    scored(customer, quadrant="core")
    consent_set(customer=customer, channel="phone", granted=True, source="form", at=NOW)
    return customer


def test_a_core_customer_gets_the_core_playbooks_tasks(core_customer):
    result = playbook_tasks_create(as_of=AS_OF, now=NOW)

    assert open_tasks() == {("C1", "每月电话回访", "li"), ("C1", "每季度上门拜访", "li")}
    assert result.created == 2
    call = Task.objects.get(title="每月电话回访")
    assert call.due_on == AS_OF
    assert (
        call.reason
        == "核心客户维系计划 (segment 核心客户): 致电星河制造，了解近期需求与满意度，介绍专属优惠。"
    )
    assert call.not_before is None
    assert (call.status, call.created_at, call.logged_late, call.outcome) == (
        TaskStatus.OPEN,
        NOW,
        False,
        "",
    )
    assert list(PlanAssignment.objects.values_list("customer__code", "holdout", "entered_at")) == [
        ("C1", False, NOW)
    ]


def test_no_task_on_a_channel_without_consent(core_customer):
    consent_set(customer=core_customer, channel="phone", granted=False, source="call", at=NOW)

    result = playbook_tasks_create(as_of=AS_OF, now=NOW)

    assert open_tasks() == {("C1", "每季度上门拜访", "li")}  # a visit needs no channel consent
    assert result.without_consent == 1


def test_running_twice_never_makes_two_open_tasks(core_customer):
    playbook_tasks_create(as_of=AS_OF, now=NOW)
    ids = set(Task.objects.values_list("id", flat=True))

    again = playbook_tasks_create(as_of=AS_OF, now=NOW)
    later = playbook_tasks_create(
        as_of=AS_OF + dt.timedelta(days=40), now=NOW + dt.timedelta(days=40)
    )

    assert (again.created, later.created) == (0, 0)  # the open tasks are still open
    assert set(Task.objects.values_list("id", flat=True)) == ids


def test_the_cadence_waits_after_a_done_task(core_customer):
    playbook_tasks_create(as_of=AS_OF, now=NOW)
    Task.objects.update(status=TaskStatus.DONE, closed_at=NOW)

    soon = playbook_tasks_create(
        as_of=AS_OF + dt.timedelta(days=29), now=NOW + dt.timedelta(days=29)
    )
    due = playbook_tasks_create(
        as_of=AS_OF + dt.timedelta(days=30), now=NOW + dt.timedelta(days=30)
    )

    assert soon.created == 0
    assert due.created == 1  # the monthly call; the quarterly visit waits
    assert open_tasks() == {("C1", "每月电话回访", "li")}


def test_leaving_the_segment_withdraws_the_tasks(core_customer):
    playbook_tasks_create(as_of=AS_OF, now=NOW)
    core_customer.score.quadrant = "potential"
    core_customer.score.save()
    consent_set(customer=core_customer, channel="email", granted=True, source="form", at=NOW)

    result = playbook_tasks_create(
        as_of=AS_OF + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1)
    )

    assert result.withdrawn == 2
    assert open_tasks() == {("C1", "双周邮件", "li"), ("C1", "月度需求调研", "li")}
    assert Task.objects.filter(status=TaskStatus.WITHDRAWN).count() == 2


def test_a_switched_off_playbook_withdraws_its_tasks(core_customer):
    playbook_tasks_create(as_of=AS_OF, now=NOW)
    Playbook.objects.filter(name="核心客户维系计划").update(active=False)

    result = playbook_tasks_create(as_of=AS_OF, now=NOW)

    assert (result.withdrawn, result.created) == (2, 0)
    assert open_tasks() == set()


def test_tasks_made_in_quiet_hours_wait_until_morning(core_customer):
    night = dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai

    playbook_tasks_create(as_of=AS_OF, now=night)

    call = Task.objects.get(title="每月电话回访")
    visit = Task.objects.get(title="每季度上门拜访")
    assert call.not_before == dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC)  # 08:00 Shanghai
    assert visit.not_before is None


def test_round_robin_within_a_team():
    # about owners, not measurement: the plan keeps no control group here
    Playbook.objects.update(holdout_percent=0)
    team = Team.objects.create(name="华东销售组")
    a = UserFactory(username="a", team=team)
    b = UserFactory(username="b", team=team)
    assert a.pk < b.pk
    for code in ("W1", "W2", "W3"):
        scored(CustomerFactory(code=code), quadrant="watch")
    action = PlaybookAction.objects.get(name="社群触达")
    action.owner_rule = OwnerRule.TEAM_ROUND_ROBIN
    action.team = team
    action.save()

    playbook_tasks_create(as_of=AS_OF, now=NOW)

    assert open_tasks() == {
        ("W1", "社群触达", "a"),
        ("W2", "社群触达", "b"),
        ("W3", "社群触达", "a"),
    }


def test_customers_without_an_owner_go_to_the_plan_owner():
    lead = UserFactory(username="lead")
    Playbook.objects.filter(name="待观察客户低成本触达").update(owner=lead)
    scored(CustomerFactory(code="W9"), quadrant="watch")

    playbook_tasks_create(as_of=AS_OF, now=NOW)

    assert open_tasks() == {("W9", "社群触达", "lead")}
