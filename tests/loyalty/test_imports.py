"""Loyalty imports: opening balances, points adjustments and coupon redemptions through the
import engine (CLI, the upload page), written by the loyalty services: idempotent, all or
nothing, audited, refused rows named by file, row and column."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from typer.testing import CliRunner

from retain.accounts.models import Role
from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.cli import app
from retain.imports.engine import import_file
from retain.imports.models import ImportJob, ImportStatus
from retain.imports.reading import ImportFileError
from retain.loyalty.coupons import coupon_create, coupon_issue
from retain.loyalty.ledger import points_balance
from retain.loyalty.models import (
    CouponIssue,
    CouponKind,
    CouponRedemption,
    EntryKind,
    IssueVia,
    PointsEntry,
)
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory
from tests.imports.conftest import csv_text, write_csv

pytestmark = pytest.mark.django_db

D = dt.date
OPENING = ["客户编号", "期初积分", "日期"]
ADJUST = ["客户编号", "调整积分", "调整原因", "日期"]
REDEEM = ["客户编号", "优惠券编码", "订单编号", "使用日期"]


@pytest.fixture
def manager(db):
    return user_create(username="boss", password=PASSWORD, role=Role.MANAGER)


def test_opening_balances_import_once_and_a_different_figure_is_refused(tmp_path, manager):
    a, b = CustomerFactory(code="C1"), CustomerFactory(code="C2")
    path = write_csv(
        tmp_path / "期初积分表.csv", OPENING, [["C1", 500, "2026-01-01"], ["C2", 80, ""]]
    )

    first = import_file(path=path, kind="points_opening", actor=manager)
    again = import_file(path=path, kind="points_opening", actor=manager)

    assert (first.created, first.committed) == (2, True)
    assert (again.created, again.unchanged, again.committed) == (0, 2, True)
    assert points_balance(a) == 500 and points_balance(b) == 80
    lot = PointsEntry.objects.get(customer=a)
    assert (lot.kind, lot.on, lot.created_by) == (EntryKind.OPENING, D(2026, 1, 1), manager)
    assert AuditEvent.objects.filter(object_type="loyalty.pointsentry").count() == 2
    assert AuditEvent.objects.filter(action="import").count() == 1  # the re-run wrote nothing

    other = write_csv(tmp_path / "second.csv", OPENING, [["C1", 700, "2026-01-01"]])
    refused = import_file(path=other, kind="points_opening", actor=manager)
    assert not refused.committed
    assert [str(e) for e in refused.errors] == [
        "row 2, 期初积分: the customer has an opening balance of 500 points already; "
        "adjust the points instead"
    ]
    assert points_balance(a) == 500


def test_adjustments_are_all_or_nothing_and_never_take_the_balance_below_zero(tmp_path, manager):
    c = CustomerFactory(code="C1")
    CustomerFactory(code="C2")
    rows = [
        ["C1", 300, "迁移补发", "2026-02-01"],
        ["C1", -100, "重复积分扣回", "2026-02-02"],
        ["C2", -50, "扣减", "2026-02-02"],  # C2 holds no points
        ["C1", 20, "", "2026-02-03"],  # no reason
        ["C9", 10, "未知客户", ""],
    ]
    path = write_csv(tmp_path / "积分调整表.csv", ADJUST, rows)

    result = import_file(path=path, kind="points_adjustments", actor=manager)

    # all or nothing: after the first bad rows the file is only checked
    assert not result.committed
    assert [str(e) for e in result.errors] == [
        "row 5, 调整原因: this field is required",
        "row 6, 客户编号: customer C9: not found or not yours",
    ]
    # the refusal of the service (the balance) rolls back the rows written before it
    overdraw = write_csv(tmp_path / "overdraw.csv", ADJUST, rows[:3])
    result = import_file(path=overdraw, kind="points_adjustments", actor=manager)
    assert not result.committed
    assert [str(e) for e in result.errors] == ["row 4, 调整积分: Only 0 points are available."]
    assert PointsEntry.objects.count() == 0  # nothing kept from an all-or-nothing import

    kept = import_file(path=path, kind="points_adjustments", actor=manager, valid_rows=True)
    again = import_file(path=path, kind="points_adjustments", actor=manager, valid_rows=True)

    assert (kept.created, kept.rejected) == (2, 3)
    assert (again.created, again.unchanged) == (0, 2)
    assert points_balance(c) == 200
    assert sorted(PointsEntry.objects.values_list("points", "reason")) == [
        (-100, "重复积分扣回"),
        (300, "迁移补发"),
    ]


def test_sales_may_not_import_points_and_the_whole_file_is_refused(tmp_path):
    sales = user_create(username="s1", password=PASSWORD, role=Role.SALES)
    CustomerFactory(code="C1", owner=sales)
    path = write_csv(tmp_path / "a.csv", ADJUST, [["C1", 10, "why", ""]])

    with pytest.raises(ImportFileError, match="your role may not import points adjustments"):
        import_file(path=path, kind="points_adjustments", actor=sales)
    assert PointsEntry.objects.count() == 0


def _spring(customer):
    made = coupon_create(
        code="spring-50",
        name="满300减50",
        kind=CouponKind.AMOUNT,
        value=Decimal(50),
        min_spend=Decimal(300),
        valid_from=D(2026, 2, 1),
        valid_until=D(2026, 3, 31),
        per_customer_limit=1,
    )
    coupon_issue(coupon=made, customer_ids=[customer.pk], via=IssueVia.MANUAL, on=D(2026, 2, 1))
    return made


def test_coupon_redemptions_import_from_the_cli_once(tmp_path, manager):
    c = CustomerFactory(code="C1")
    _spring(c)
    big = OrderFactory(customer=c, number="SO-1", amount=Decimal(400))
    OrderFactory(customer=c, number="SO-2", amount=Decimal(100))
    OrderFactory(number="SO-3", amount=Decimal(900))  # another customer's
    good = write_csv(tmp_path / "优惠券核销表.csv", REDEEM, [["C1", "spring-50", "SO-1", ""]])
    bad = write_csv(
        tmp_path / "bad.csv",
        REDEEM,
        [["C1", "spring-50", "SO-2", "2026-03-01"], ["C1", "spring-50", "SO-3", "2026-03-01"]],
    )
    runner = CliRunner()

    ok = runner.invoke(app, ["import", str(good), "--kind", "coupon_redemptions", "--as", "boss"])
    rerun = runner.invoke(
        app, ["import", str(good), "--kind", "coupon_redemptions", "--as", "boss"]
    )
    refused = runner.invoke(
        app,
        ["import", str(bad), "--kind", "coupon_redemptions", "--as", "boss", "--valid-rows"],
    )

    assert ok.exit_code == 0, ok.output
    assert "1 created, 0 updated, 0 unchanged, 0 rejected." in ok.output
    assert "0 created, 0 updated, 1 unchanged, 0 rejected." in rerun.output
    assert "0 created, 0 updated, 0 unchanged, 2 rejected." in refused.output
    assert "row 2, 优惠券编码: The order is below the minimum spend of 300.00." in refused.output
    assert "row 3, 订单编号: order SO-3: not found for customer C1" in refused.output
    redemption = CouponRedemption.objects.get()
    assert (redemption.order, redemption.discount, redemption.on) == (
        big,
        Decimal(50),
        D(2026, 3, 1),
    )
    assert CouponIssue.objects.get().uses == 1


def test_points_adjustments_upload_through_the_import_page(
    client, manager, settings, tmp_path, django_capture_on_commit_callbacks
):
    from huey.contrib.djhuey import HUEY

    settings.MEDIA_ROOT = tmp_path / "media"
    c = CustomerFactory(code="C1")
    client.force_login(manager)
    content = csv_text(ADJUST, [["C1", 120, "老系统积分", "2026-02-01"]]).encode("gbk")
    HUEY.immediate = True
    try:
        client.post(
            reverse("imports"),
            {"file": SimpleUploadedFile("积分调整表.csv", content, content_type="text/csv")},
        )
        job = ImportJob.objects.get()
        assert job.kind == "points_adjustments"
        form = {f"col-{i}": job.mapping[h] for i, h in enumerate(ADJUST)}
        for _round in range(2):  # the same file twice: points once
            with django_capture_on_commit_callbacks(execute=True):
                client.post(
                    reverse("import-mapping", args=[job.pk]),
                    {**form, "kind": "points_adjustments", "mode": "all", "action": "commit"},
                )
    finally:
        HUEY.immediate = False

    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert points_balance(c) == 120
    assert PointsEntry.objects.get().created_by == manager
