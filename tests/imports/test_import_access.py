"""An import runs as the uploading user (issue #11, item 1; docs/access.md "Imports").

Each kind goes through each door that imports: the wizard (upload, mapping, commit; the
job runs through the Huey task), the Huey job run on its own, and ``retain import --as``.
A sales user may not reach customers of another owner, may not log follow-ups as someone
else, may not handle complaints or import survey answers; new customers become theirs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from typer.testing import CliRunner

from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.cli import app
from retain.complaints.models import Complaint
from retain.customers.models import Contact, Customer
from retain.imports.models import ImportJob, ImportMode, ImportStatus
from retain.interactions.models import FollowUp
from retain.orders.models import Order
from retain.surveys.models import SurveyResponse
from tests.conftest import PASSWORD
from tests.factories import ComplaintFactory, ContactFactory, CustomerFactory, OrderFactory, aware
from tests.imports.conftest import csv_text

pytestmark = pytest.mark.django_db

DOORS = ("wizard", "job", "cli")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def huey_immediate():
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = False


@pytest.fixture
def world(db):
    sales1 = user_create(username="sales1", password=PASSWORD, role="sales")
    sales2 = user_create(username="sales2", password=PASSWORD, role="sales")
    mine = CustomerFactory(code="C1", name="我的公司", owner=sales1)
    theirs = CustomerFactory(code="C2", name="别人的公司", owner=sales2)
    ContactFactory(customer=mine, name="张三", phone="13800000001")
    ContactFactory(customer=theirs, name="李四", phone="13800000002")
    OrderFactory(customer=mine, number="SO1", amount=100)
    OrderFactory(customer=theirs, number="SO2", amount=200)
    complaint = ComplaintFactory(
        customer=theirs,
        opened_at=aware(2026, 9, 1, 9),
        category="物流",
        description="送货晚了",
        status="open",
    )
    return {"sales1": sales1, "sales2": sales2, "complaint": complaint}


def _run(door: str, *, user, kind: str, header, rows, tmp_path: Path, client, capture):
    """Import as ``user`` in valid-rows mode through ``door``; the row errors as text."""
    content = csv_text(header, rows).encode("utf-8")
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(content)
    if door == "cli":
        out = CliRunner().invoke(
            app,
            ["import", str(path), "--kind", kind, "--valid-rows", "--as", user.username],
        )
        return [line.strip() for line in out.output.splitlines() if line.startswith("  row ")]
    if door == "job":
        from retain.imports.tasks import import_job_task

        with path.open("rb") as fh:
            job = ImportJob(kind=kind, original_name=path.name, created_by=user)
            job.mode = ImportMode.VALID_ROWS
            job.file.save(path.name, File(fh), save=True)
        import_job_task.call_local(job.pk)
    else:
        client.force_login(user)
        upload = SimpleUploadedFile(path.name, content, content_type="text/csv")
        client.post(reverse("imports"), {"file": upload, "kind": kind})
        job = ImportJob.objects.latest("pk")
        form = {f"col-{i}": job.mapping.get(h, "") for i, h in enumerate(header)}
        with capture(execute=True):
            client.post(
                reverse("import-mapping", args=[job.pk]),
                {**form, "kind": kind, "mode": "valid", "action": "commit"},
            )
    job = ImportJob.objects.latest("pk")
    assert job.status == ImportStatus.DONE, job.error_summary
    return [f"row {e['row']}, {e['column']}: {e['message']}" for e in job.errors]


@pytest.fixture
def run(tmp_path, client, huey_immediate, django_capture_on_commit_callbacks):
    def go(door, **kw):
        return _run(
            door, tmp_path=tmp_path, client=client, capture=django_capture_on_commit_callbacks, **kw
        )

    return go


@pytest.mark.parametrize("door", DOORS)
def test_customers_of_another_owner_are_not_found_and_new_ones_become_the_uploaders(
    door, world, run
):
    errors = run(
        door,
        user=world["sales1"],
        kind="customers",
        header=["客户编号", "客户名称"],
        rows=[["C2", "改了别人的名字"], ["C1", "我的新名字"], ["C9", "新客户"]],
    )

    assert errors == ["row 2, 客户编号: customer C2: not found or not yours"]
    assert dict(Customer.objects.values_list("code", "name")) == {
        "C1": "我的新名字",
        "C2": "别人的公司",
        "C9": "新客户",
    }
    assert Customer.objects.get(code="C9").owner == world["sales1"]


@pytest.mark.parametrize("door", DOORS)
def test_contacts_of_another_owners_customer_are_not_found(door, world, run):
    errors = run(
        door,
        user=world["sales1"],
        kind="contacts",
        header=["客户编号", "联系人", "联系电话"],
        rows=[["C2", "李四", "13999999999"], ["C1", "张三", "13700000000"]],
    )

    assert errors == ["row 2, 客户编号: customer C2: not found or not yours"]
    assert dict(Contact.objects.values_list("name", "phone")) == {
        "张三": "13700000000",
        "李四": "13800000002",
    }


@pytest.mark.parametrize("door", DOORS)
def test_orders_of_another_owner_cannot_be_moved_or_added(door, world, run):
    errors = run(
        door,
        user=world["sales1"],
        kind="orders",
        header=["订单编号", "客户编号", "下单时间", "订单金额"],
        rows=[
            ["SO2", "C1", "2026-10-01", "1"],  # their order onto my customer
            ["SO3", "C2", "2026-10-01", "5"],  # a new order on their customer
            ["SO1", "C1", "2026-10-01", "150"],  # my own order: allowed
        ],
    )

    assert errors == [
        "row 2, 订单编号: order SO2: not found or not yours",
        "row 3, 客户编号: customer C2: not found or not yours",
    ]
    assert sorted(Order.objects.values_list("number", "customer__code", "amount")) == [
        ("SO1", "C1", 150),
        ("SO2", "C2", 200),
    ]


@pytest.mark.parametrize("door", DOORS)
def test_follow_ups_are_the_uploaders_and_only_on_their_customers(door, world, run):
    errors = run(
        door,
        user=world["sales1"],
        kind="followups",
        header=["客户编号", "跟进时间", "跟进方式", "跟进内容", "跟进人"],
        rows=[
            ["C2", "2026-10-08 10:00", "电话", "别人的客户", ""],
            ["C1", "2026-10-08 11:00", "电话", "冒名", "sales2"],
            ["C1", "2026-10-08 12:00", "电话", "我自己的", ""],
            ["C1", "2026-10-08 13:00", "拜访", "写明是我", "sales1"],
        ],
    )

    assert errors == [
        "row 2, 客户编号: customer C2: not found or not yours",
        "row 3, 跟进人: you may log follow-ups only as yourself, not as sales2",
    ]
    assert sorted(FollowUp.objects.values_list("content", "owner__username")) == [
        ("写明是我", "sales1"),
        ("我自己的", "sales1"),
    ]


@pytest.mark.parametrize("door", DOORS)
def test_complaints_only_on_own_customers(door, world, run):
    errors = run(
        door,
        user=world["sales1"],
        kind="complaints",
        header=["客户编号", "投诉时间", "投诉类别", "投诉内容"],
        rows=[
            ["C2", "2026-09-01 09:00", "物流", "改掉别人的投诉"],
            ["C1", "2026-10-01 09:00", "质量", "我的客户投诉"],
        ],
    )

    assert errors == ["row 2, 客户编号: customer C2: not found or not yours"]
    assert sorted(Complaint.objects.values_list("customer__code", "description", "status")) == [
        ("C1", "我的客户投诉", "open"),
        ("C2", "送货晚了", "open"),
    ]


def _refused(door, *, user, kind, header, rows, tmp_path, client):
    content = csv_text(header, rows).encode("utf-8")
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(content)
    if door == "cli":
        out = CliRunner().invoke(app, ["import", str(path), "--kind", kind, "--as", user.username])
        assert out.exit_code == 1
        return out.output
    if door == "job":
        from retain.imports.tasks import import_job_task

        with path.open("rb") as fh:
            job = ImportJob(kind=kind, original_name=path.name, created_by=user)
            job.file.save(path.name, File(fh), save=True)
        import_job_task.call_local(job.pk)
        job.refresh_from_db()
        assert job.status == ImportStatus.FAILED
        return job.error_summary
    client.force_login(user)
    upload = SimpleUploadedFile(path.name, content, content_type="text/csv")
    client.post(reverse("imports"), {"file": upload, "kind": kind})
    job = ImportJob.objects.latest("pk")
    form = {f"col-{i}": job.mapping.get(h, "") for i, h in enumerate(header)}
    page = client.post(
        reverse("import-mapping", args=[job.pk]),
        {**form, "kind": kind, "mode": "all", "action": "commit"},
    )
    job.refresh_from_db()
    assert page.status_code == 200
    assert job.status == ImportStatus.UPLOADED  # never queued
    return page.content.decode()


@pytest.mark.parametrize("door", DOORS)
def test_handling_complaints_is_refused_for_the_whole_file(door, world, tmp_path, client):
    output = _refused(
        door,
        user=world["sales1"],
        kind="complaints",
        header=["客户编号", "投诉时间", "投诉类别", "投诉内容", "处理状态", "处理结果"],
        rows=[["C1", "2026-10-01 09:00", "质量", "坏了", "已解决", "已换货"]],
        tmp_path=tmp_path,
        client=client,
    )

    assert (
        "complaints.csv: your role may not write the column(s) 处理状态, 处理结果; "
        "leave them out or unmapped. Nothing was imported."
    ) in output.replace("\n", " ").replace("  ", " ")
    assert Complaint.objects.filter(customer__code="C1").count() == 0


@pytest.mark.parametrize("door", DOORS)
def test_survey_answers_are_refused_for_sales(door, world, tmp_path, client):
    output = _refused(
        door,
        user=world["sales1"],
        kind="surveys",
        header=["客户编号", "问卷名称", "发送时间", "推荐值"],
        rows=[["C1", "NPS", "2026-09-01", "9"]],
        tmp_path=tmp_path,
        client=client,
    )

    assert "surveys.csv: your role may not import survey answers. Nothing was imported." in (
        output.replace("\n", " ").replace("  ", " ")
    )
    assert SurveyResponse.objects.count() == 0


def test_a_manager_may_record_follow_ups_for_others_and_sees_every_customer(world, tmp_path):
    from retain.imports.engine import import_file
    from tests.imports.conftest import write_csv

    manager = user_create(username="boss", password=PASSWORD, role="manager")
    path = write_csv(
        tmp_path / "f.csv",
        ["客户编号", "跟进时间", "跟进方式", "跟进内容", "跟进人"],
        [["C2", "2026-10-08 10:00", "电话", "替销售记录", "sales2"]],
    )

    result = import_file(path=path, kind="followups", actor=manager)

    assert (result.created, result.errors) == (1, [])
    assert FollowUp.objects.get().owner == world["sales2"]


def test_a_sales_user_may_not_create_a_customer_source(world, tmp_path):
    from retain.imports.engine import import_file
    from tests.imports.conftest import write_csv

    path = write_csv(tmp_path / "c.csv", ["客户名称", "客户来源"], [["新客户", "没听过的来源"]])

    result = import_file(path=path, kind="customers", actor=world["sales1"])

    assert [str(e) for e in result.errors] == [
        "row 2, 客户来源: no customer source is called 没听过的来源; an admin can add it"
    ]
    assert not Customer.objects.filter(name="新客户").exists()


def test_the_cli_without_as_is_a_system_import_and_says_so(world, tmp_path):
    from tests.imports.conftest import write_csv

    path = write_csv(tmp_path / "c.csv", ["客户编号", "客户名称"], [["C2", "系统改名"]])

    out = CliRunner().invoke(app, ["import", str(path), "--kind", "customers"])

    assert out.exit_code == 0, out.output
    assert "System import (no --as USER)" in out.output
    assert Customer.objects.get(code="C2").name == "系统改名"
    event = AuditEvent.objects.get(action="import")
    assert (event.actor, event.after["run_as"]) == (None, "system")


def test_the_import_event_names_the_user_it_ran_as(world, tmp_path):
    from tests.imports.conftest import write_csv

    path = write_csv(tmp_path / "c.csv", ["客户编号", "客户名称"], [["C1", "改名"]])

    out = CliRunner().invoke(app, ["import", str(path), "--kind", "customers", "--as", "sales1"])

    assert out.exit_code == 0, out.output
    event = AuditEvent.objects.get(action="import")
    assert (event.actor, event.after["run_as"]) == (world["sales1"], "sales1")


def test_a_job_whose_uploader_is_gone_does_not_run_as_the_system(world, tmp_path):
    from retain.imports.services import import_job_run

    path = tmp_path / "c.csv"
    path.write_bytes(csv_text(["客户编号", "客户名称"], [["C2", "无主改名"]]).encode())
    with path.open("rb") as fh:
        job = ImportJob(kind="customers", original_name="c.csv", created_by=None)
        job.file.save("c.csv", File(fh), save=True)

    job = import_job_run(job=job)

    assert (job.status, job.error_summary) == (
        ImportStatus.FAILED,
        "The user who uploaded this file no longer exists; upload it again.",
    )
    assert Customer.objects.get(code="C2").name == "别人的公司"
