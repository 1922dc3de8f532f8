"""Orders, contacts, follow-ups, complaints and survey answers; reject files; the CLI."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from retain.audit.models import AuditEvent
from retain.cli import app
from retain.complaints.models import Complaint
from retain.customers.models import Contact, Customer
from retain.imports.engine import import_file
from retain.interactions.models import FollowUp
from retain.orders.models import Order
from retain.surveys.models import Survey, SurveyResponse
from tests.factories import ContactFactory, CustomerFactory
from tests.imports.conftest import SEED_HEADER, SEED_ROWS, write_csv, write_xlsx

pytestmark = pytest.mark.django_db

ORDER_HEADER = ["订单编号", "客户编号", "下单时间", "订单金额", "渠道", "支付方式", "订单状态"]


def _tz():
    return timezone.get_current_timezone()


def test_orders_upsert_by_number_and_audit_the_change(tmp_path, importer):
    customer = CustomerFactory(code="C1")
    rows = [
        ["SO1", "C1", "2024-03-01 10:30", "￥1,000.00", "线上", "支付宝", "已支付"],
        ["SO2", "C1", "2024-03-02", "200", "offline", "cash", "paid"],
    ]
    first = import_file(
        path=write_csv(tmp_path / "o.csv", ORDER_HEADER, rows, "gbk"), kind="orders", actor=importer
    )
    rows[1][6] = "已退款"
    again = import_file(
        path=write_csv(tmp_path / "o2.csv", ORDER_HEADER, rows, "gbk"),
        kind="orders",
        actor=importer,
    )

    assert (first.created, first.updated) == (2, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    so1 = Order.objects.get(number="SO1")
    assert (so1.customer, so1.amount, so1.channel, so1.payment_method, so1.status) == (
        customer,
        Decimal("1000.00"),
        "online",
        "alipay",
        "paid",
    )
    assert so1.ordered_at == dt.datetime(2024, 3, 1, 10, 30, tzinfo=_tz())
    assert Order.objects.get(number="SO2").status == "refunded"
    event = AuditEvent.objects.get(action="update", object_type="orders.order")
    assert (event.before, event.after, event.customer_id) == (
        {"status": "paid", "via": "import"},
        {"status": "refunded", "via": "import"},
        customer.pk,
    )


def test_a_messy_file_gives_a_reject_file_that_imports_once_fixed(tmp_path, importer):
    rows = [list(r) for r in SEED_ROWS] + [
        ["C2024003", "", "王*", "零售业", "线上渠道", "2024-02-30", "潜在客户", "", ""],
        ["C2024004", "某贸易公司", "赵*", "零售业", "线上渠道", "2024-02-03", "大客户", "", ""],
    ]
    path = write_csv(tmp_path / "messy.csv", SEED_HEADER, rows, "gbk")
    reject = tmp_path / "messy.rejects.csv"

    result = import_file(
        path=path, kind="customers", actor=importer, valid_rows=True, reject_path=reject
    )

    assert (result.committed, result.created, result.rejected) == (True, 2, 2)
    with reject.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    assert [line[0] for line in lines[1:]] == ["C2024003", "C2024004"]
    assert lines[1][-1] == (
        "row 4: 客户名称: this field is required; 首次接触时间: 2024-02-30 is not a real date"
    )
    # The user fixes the cells in the reject file and imports it as it is (error column and all).
    lines[1][1], lines[1][5] = "某零售公司", "2024-02-28"
    lines[2][6] = "核心客户"
    with reject.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(lines)

    fixed = import_file(path=reject, kind="customers", actor=importer)

    assert (fixed.committed, fixed.created, fixed.errors) == (True, 2, [])
    assert Customer.objects.count() == 4
    assert Customer.objects.get(code="C2024004").status == "core"


def test_contacts_upsert_by_customer_and_name(tmp_path, importer):
    customer = CustomerFactory(code="C1")
    ContactFactory(customer=customer, name="张三", is_primary=True, phone="13800000000")
    header = ["客户编号", "联系人", "职务", "联系电话", "邮箱", "主要联系人", "离职日期"]
    rows = [
        ["C1", "张三", "采购经理", "13900000000", "", "否", "2026-10-01"],
        ["C1", "李四", "总经理", "", "li@example.com", "是", ""],
    ]

    result = import_file(
        path=write_csv(tmp_path / "c.csv", header, rows), kind="contacts", actor=importer
    )

    assert (result.created, result.updated, result.errors) == (1, 1, [])
    assert list(
        Contact.objects.order_by("name").values_list("name", "phone", "is_primary", "left_on")
    ) == [
        ("张三", "13900000000", False, dt.date(2026, 10, 1)),
        ("李四", "", True, None),
    ]


def test_the_follow_up_sheet_imports_and_is_idempotent(tmp_path, importer):
    customer = CustomerFactory(code="C1")
    header = [
        "客户编号",
        "客户名称",
        "联系人",
        "跟进时间",
        "跟进方式",
        "跟进内容",
        "客户反馈",
        "跟进结果",
        "下一步计划",
        "下次跟进时间",
        "跟进人",
    ]
    rows = [
        [
            "C1",
            "某公司",
            "张*",
            "2026/10/8 14:00",
            "电话沟通",
            "介绍新品",
            "对价格有顾虑",
            "待跟进",
            "下周提供分期方案",
            "2026-10-15",
            "importer",
        ]
    ]
    path = write_xlsx(tmp_path / "跟进记录表.xlsx", header, rows)

    first = import_file(path=path, kind="followups", actor=importer)
    again = import_file(path=path, kind="followups", actor=importer)

    assert (first.created, first.errors) == (1, [])
    assert (again.created, again.unchanged) == (0, 1)
    followup = FollowUp.objects.get()
    assert (followup.customer, followup.kind, followup.feedback, followup.next_step) == (
        customer,
        "call",
        "对价格有顾虑",
        "下周提供分期方案",
    )
    assert (followup.next_step_on, followup.owner, followup.contact.name) == (
        dt.date(2026, 10, 15),
        importer,
        "张*",
    )
    assert followup.occurred_at == dt.datetime(2026, 10, 8, 14, tzinfo=_tz())


def test_an_unknown_follow_up_owner_is_a_row_error(tmp_path, importer):
    CustomerFactory(code="C1")
    header = ["客户编号", "跟进时间", "跟进方式", "跟进内容", "跟进人"]

    result = import_file(
        path=write_csv(tmp_path / "f.csv", header, [["C1", "2026-10-08", "拜访", "x", "nobody"]]),
        kind="followups",
        actor=importer,
    )

    assert [str(e) for e in result.errors] == ["row 2, 跟进人: no user is called nobody"]
    assert FollowUp.objects.count() == 0


def test_complaints_and_survey_answers_import(tmp_path, importer):
    CustomerFactory(code="C1")
    complaints = write_csv(
        tmp_path / "c.csv",
        ["客户编号", "投诉时间", "投诉类别", "投诉内容", "投诉渠道", "严重程度", "处理状态"],
        [["C1", "2026-10-01 09:00", "物流", "送货晚了三天", "电话", "高", "处理中"]],
    )
    surveys = write_csv(
        tmp_path / "s.csv",
        ["客户编号", "问卷名称", "发送时间", "回答时间", "推荐值", "满意度", "意见建议"],
        [
            ["C1", "NPS 年度调研", "2026-09-01", "2026-09-02", "９", "5", "很好"],
            ["C1", "NPS 年度调研", "2026-10-01", "", "11", "", ""],
        ],
    )

    c = import_file(path=complaints, kind="complaints", actor=importer)
    s = import_file(path=surveys, kind="surveys", actor=importer, valid_rows=True)

    assert (c.created, c.errors) == (1, [])
    complaint = Complaint.objects.get()
    assert (complaint.category, complaint.channel, complaint.severity, complaint.status) == (
        "物流",
        "phone",
        "high",
        "in_progress",
    )
    assert [str(e) for e in s.errors] == ["row 3, 推荐值: 11 must be a whole number from 0 to 10"]
    answer = SurveyResponse.objects.get()
    assert (answer.survey, answer.nps, answer.satisfaction, answer.comment) == (
        Survey.objects.get(name="NPS 年度调研"),
        9,
        5,
        "很好",
    )


def test_an_explicit_mapping_overrides_the_guess(tmp_path, importer):
    path = write_csv(tmp_path / "m.csv", ["编号", "公司"], [["X1", "某公司"]])

    result = import_file(
        path=path, kind="customers", actor=importer, mapping={"编号": "code", "公司": "name"}
    )

    assert result.created == 1
    assert Customer.objects.get().code == "X1"


def test_the_cli_imports_a_file_and_fails_cleanly_on_a_bad_one(tmp_path, importer):
    good = write_csv(tmp_path / "good.csv", SEED_HEADER, SEED_ROWS, "gbk")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    runner = CliRunner()

    ok = runner.invoke(app, ["import", str(good), "--kind", "customers", "--user", "importer"])
    refused = runner.invoke(app, ["import", str(bad), "--kind", "customers"])

    assert ok.exit_code == 0, ok.output
    assert "2 rows read (gb18030)" in ok.output
    assert "2 created, 0 updated, 0 unchanged, 0 rejected." in ok.output
    assert refused.exit_code == 1
    assert "Error: bad.csv is empty." in refused.output
    assert Customer.objects.count() == 2


def test_two_primary_contacts_for_one_customer_in_one_file_are_refused(tmp_path, importer):
    CustomerFactory(code="C1")
    header = ["客户编号", "联系人", "主要联系人"]
    rows = [["C1", "甲", "是"], ["C1", "乙", "是"]]

    result = import_file(
        path=write_csv(tmp_path / "c.csv", header, rows), kind="contacts", actor=importer
    )

    assert [str(e) for e in result.errors] == [
        "row 3, 主要联系人: C1 has a primary contact on row 2 already; a customer has one"
    ]
    assert Contact.objects.count() == 0
