"""A follow-up imported with a next-step date opens the same task as one logged by hand
(``interactions.services.followup_next_step_save``, shared with ``followup_log``)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from retain.accounts.services import user_create
from retain.imports.engine import import_file
from retain.interactions.models import FollowUp
from retain.tasks.models import Task
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory
from tests.imports.conftest import write_csv

pytestmark = pytest.mark.django_db

HEADER = ["客户编号", "跟进时间", "跟进方式", "跟进内容", "下一步计划", "下次跟进时间"]


@time_machine.travel(dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC), tick=False)
def test_a_next_step_date_opens_one_task_for_the_uploader_and_a_re_import_none(tmp_path):
    sales = user_create(username="sales1", password=PASSWORD, role="sales")
    CustomerFactory(code="C1", owner=sales)
    rows = [
        ["C1", "2026-10-08 14:00", "电话", "介绍新品", "发分期方案", "2026-10-25"],
        ["C1", "2026-10-09 10:00", "拜访", "看样品", "", ""],
    ]
    path = write_csv(tmp_path / "f.csv", HEADER, rows)

    first = import_file(path=path, kind="followups", actor=sales)
    again = import_file(path=path, kind="followups", actor=sales)

    assert (first.created, first.errors, again.created, again.unchanged) == (2, [], 0, 2)
    followup = FollowUp.objects.get(content="介绍新品")
    task = Task.objects.get()
    assert (task.customer.code, task.kind, task.key, task.owner, task.title, task.due_on) == (
        "C1",
        "followup",
        f"followup:{followup.pk}",
        sales,
        "发分期方案",
        dt.date(2026, 10, 25),
    )
    assert task.reason == "Next step agreed in the follow-up of 2026-10-08: 发分期方案"


@time_machine.travel(dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC), tick=False)
def test_follow_up_dates_follow_the_same_rules_as_the_pages(tmp_path, importer):
    CustomerFactory(code="C1")
    rows = [
        ["C1", "2026-11-01 09:00", "电话", "未来的跟进", "", ""],
        ["C1", "2026-10-08 09:00", "电话", "倒着的下一步", "再打", "2026-10-01"],
    ]

    result = import_file(
        path=write_csv(tmp_path / "f.csv", HEADER, rows), kind="followups", actor=importer
    )

    assert [str(e) for e in result.errors] == [
        "row 2, 跟进时间: The follow-up cannot be in the future.",
        "row 3, 下次跟进时间: The next step cannot be before the follow-up.",
    ]
    assert (FollowUp.objects.count(), Task.objects.count()) == (0, 0)


@time_machine.travel(dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC), tick=False)
def test_imported_next_steps_move_the_open_task_one_per_customer_and_owner(tmp_path):
    from retain.interactions.services import followup_log

    sales = user_create(username="sales1", password=PASSWORD, role="sales")
    c1 = CustomerFactory(code="C1", owner=sales)
    CustomerFactory(code="C2", owner=sales)
    followup_log(
        customer=c1,
        actor=sales,
        kind="call",
        occurred_at=dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC),
        content="首次电话",
        next_step="报价",
        next_step_on=dt.date(2026, 10, 22),
    )
    rows = [
        ["C1", "2026-10-08 14:00", "电话", "介绍新品", "发分期方案", "2026-10-25"],
        ["C1", "2026-10-09 10:00", "拜访", "看样品", "寄送合同", "2026-10-28"],
        ["C2", "2026-10-09 11:00", "电话", "问候", "回访", "2026-10-30"],
    ]
    result = import_file(
        path=write_csv(tmp_path / "f.csv", HEADER, rows), kind="followups", actor=sales
    )

    assert (result.created, result.errors) == (3, [])
    tasks = Task.objects.filter(status="open").order_by("customer__code")
    assert [(t.customer.code, t.owner, t.title, t.due_on) for t in tasks] == [
        ("C1", sales, "寄送合同", dt.date(2026, 10, 28)),
        ("C2", sales, "回访", dt.date(2026, 10, 30)),
    ]
    assert tasks[0].key == f"followup:{FollowUp.objects.get(content='看样品').pk}"
