"""One follow-up service for every door: the task inbox, the customer page, the REST API and
the admin all log through ``followup_log``, so a next-step date makes exactly one task and a
bad date is refused the same way everywhere."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from retain.accounts.services import user_create
from retain.api.services import api_token_create
from retain.audit.models import AuditEvent
from retain.interactions.models import FollowUp
from retain.interactions.services import followup_log
from retain.tasks.models import Task, TaskKind, TaskStatus
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)
NOW = dt.datetime(2026, 11, 1, 18, 0, tzinfo=TZ)
NEXT = dt.date(2026, 11, 8)


@pytest.fixture(autouse=True)
def _fixed_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def li(db):
    return user_create(username="li", password=PASSWORD, role="sales")


@pytest.fixture
def boss(db):
    return user_create(username="boss", password=PASSWORD, role="admin")


@pytest.fixture
def customer(li):
    return CustomerFactory(code="C1", name="华东精密制造", owner=li)


def _signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _via_task_inbox(client, li, boss, customer, next_step_on):
    task = Task.objects.create(
        customer=customer,
        kind=TaskKind.PLAYBOOK,
        key="action:1",
        owner=li,
        title="每月电话回访",
        due_on=NOW.date(),
        created_at=NOW,
    )
    _signed_in(client, li).post(
        reverse("task-complete", args=[task.pk]),
        {
            "method": "call",
            "occurred_at": "2026-11-01T17:30",
            "content": "电话回访",
            "next_step": "提供分期方案",
            "next_step_on": next_step_on,
        },
    )
    return li


def _via_customer_page(client, li, boss, customer, next_step_on):
    _signed_in(client, li).post(
        reverse("customer-followup", args=[customer.code]),
        {
            "kind": "call",
            "occurred_at": "2026-11-01T17:30",
            "content": "电话回访",
            "next_step": "提供分期方案",
            "next_step_on": next_step_on,
        },
    )
    return li


def _via_api(client, li, boss, customer, next_step_on, path="/api/v1/followups"):
    _, token = api_token_create(user=li, name="tests")
    client.post(
        path,
        {
            "customer": customer.code,
            "kind": "call",
            "occurred_at": "2026-11-01T17:30:00+08:00",
            "content": "电话回访",
            "next_step": "提供分期方案",
            "next_step_on": next_step_on,
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    return li


def _via_api_old_name(client, li, boss, customer, next_step_on):
    """/api/v1/interactions: the deprecated name of /api/v1/followups, kept for scripts."""
    return _via_api(client, li, boss, customer, next_step_on, path="/api/v1/interactions")


def _via_admin(client, li, boss, customer, next_step_on):
    _signed_in(client, boss).post(
        reverse("admin:interactions_followup_add"),
        {
            "customer": customer.pk,
            "kind": "call",
            "occurred_at_0": "2026-11-01",
            "occurred_at_1": "17:30:00",
            "content": "电话回访",
            "next_step": "提供分期方案",
            "next_step_on": next_step_on,
            "owner": li.pk,
        },
    )
    return li


DOORS = [_via_task_inbox, _via_customer_page, _via_api, _via_api_old_name, _via_admin]


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.__name__.removeprefix("_via_"))
def test_a_follow_up_with_a_next_step_makes_exactly_one_task(door, client, li, boss, customer):
    owner = door(client, li, boss, customer, NEXT.isoformat())

    followup = FollowUp.objects.get(customer=customer)
    follow_task = Task.objects.get(kind=TaskKind.FOLLOWUP)
    assert (followup.next_step, followup.next_step_on, followup.owner) == (
        "提供分期方案",
        NEXT,
        owner,
    )
    assert followup.occurred_at == dt.datetime(2026, 11, 1, 17, 30, tzinfo=TZ)
    assert (
        follow_task.customer,
        follow_task.key,
        follow_task.title,
        follow_task.due_on,
        follow_task.owner,
        follow_task.status,
    ) == (
        customer,
        f"followup:{followup.pk}",
        "提供分期方案",
        NEXT,
        owner,
        TaskStatus.OPEN,
    )
    assert follow_task.reason == "Next step agreed in the follow-up of 2026-11-01: 提供分期方案"
    assert AuditEvent.objects.filter(object_type="interactions.followup").count() == 1


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.__name__.removeprefix("_via_"))
def test_a_next_step_before_the_follow_up_is_refused_by_every_door(
    door, client, li, boss, customer
):
    door(client, li, boss, customer, "2026-10-31")

    assert not FollowUp.objects.exists()
    assert not Task.objects.filter(kind=TaskKind.FOLLOWUP).exists()


def test_a_follow_up_without_next_step_date_makes_no_task(li, customer):
    followup_log(
        customer=customer,
        actor=li,
        kind="visit",
        occurred_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=TZ),
        content="拜访",
        next_step="再联系",
    )

    assert FollowUp.objects.count() == 1
    assert not Task.objects.exists()


def test_a_follow_up_in_the_future_is_refused(li, customer):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        followup_log(
            customer=customer,
            actor=li,
            kind="call",
            occurred_at=NOW + dt.timedelta(hours=1),
            content="电话",
            next_step_on=NEXT,
        )

    assert raised.value.message_dict == {"occurred_at": ["The follow-up cannot be in the future."]}
    assert (FollowUp.objects.count(), Task.objects.count()) == (0, 0)


def _log(user, customer, *, day, step, on):
    return followup_log(
        customer=customer,
        actor=user,
        kind="call",
        occurred_at=dt.datetime(2026, 11, day, 9, 0, tzinfo=TZ),
        content="电话回访",
        next_step=step,
        next_step_on=on,
    )


def test_a_second_next_step_moves_the_open_task_instead_of_adding_one(li, boss, customer):
    _log(li, customer, day=1, step="提供分期方案", on=NEXT)
    second = _log(li, customer, day=1, step="寄送合同", on=dt.date(2026, 11, 12))

    follow = Task.objects.get(kind=TaskKind.FOLLOWUP, status=TaskStatus.OPEN)
    assert (follow.key, follow.title, follow.due_on, follow.owner) == (
        f"followup:{second.pk}",
        "寄送合同",
        dt.date(2026, 11, 12),
        li,
    )
    assert follow.reason == "Next step agreed in the follow-up of 2026-11-01: 寄送合同"
    # another owner's next step for the same customer is their own task
    _log(boss, customer, day=1, step="高层拜访", on=NEXT)
    open_tasks = Task.objects.filter(kind=TaskKind.FOLLOWUP, status=TaskStatus.OPEN)
    assert sorted((t.owner.username, t.title) for t in open_tasks) == [
        ("boss", "高层拜访"),
        ("li", "寄送合同"),
    ]


def test_completing_a_next_step_task_with_a_new_next_step_opens_the_next_one(client, li, customer):
    _log(li, customer, day=1, step="提供分期方案", on=NEXT)
    first = Task.objects.get(kind=TaskKind.FOLLOWUP)
    _signed_in(client, li).post(
        reverse("task-complete", args=[first.pk]),
        {
            "method": "call",
            "occurred_at": "2026-11-01T17:30",
            "content": "已发分期方案",
            "next_step": "寄送合同",
            "next_step_on": "2026-11-12",
        },
    )

    first.refresh_from_db()
    assert (first.status, first.title, first.due_on) == (TaskStatus.DONE, "提供分期方案", NEXT)
    follow = Task.objects.get(kind=TaskKind.FOLLOWUP, status=TaskStatus.OPEN)
    assert (follow.title, follow.due_on) == ("寄送合同", dt.date(2026, 11, 12))


def test_two_next_steps_through_the_api_leave_one_open_task(client, li, customer):
    _, token = api_token_create(user=li, name="tests")
    for step, on in (("提供分期方案", "2026-11-08"), ("寄送合同", "2026-11-12")):
        response = client.post(
            "/api/v1/interactions",
            {
                "customer": customer.code,
                "kind": "call",
                "occurred_at": "2026-11-01T17:30:00+08:00",
                "content": "电话回访",
                "next_step": step,
                "next_step_on": on,
            },
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        )
        assert response.status_code == 201

    assert FollowUp.objects.filter(customer=customer).count() == 2
    follow = Task.objects.get(customer=customer, status=TaskStatus.OPEN)
    assert (follow.kind, follow.title, follow.due_on, follow.owner) == (
        TaskKind.FOLLOWUP,
        "寄送合同",
        dt.date(2026, 11, 12),
        li,
    )
