"""Imports apply the domain's own rules through its bulk functions: the same result as the
single-row services (primary contact, order defaults), and the audit written in bulk."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from retain.audit.models import AuditEvent
from retain.audit.services import audit_changes_bulk
from retain.customers.models import Contact
from retain.customers.services import contact_create, contact_update
from retain.imports.engine import import_file
from retain.orders.models import Order
from retain.orders.services import order_create
from tests.factories import ContactFactory, CustomerFactory
from tests.imports.conftest import write_csv

pytestmark = pytest.mark.django_db


def _contacts(customer) -> dict[str, bool]:
    return dict(Contact.objects.filter(customer=customer).values_list("name", "is_primary"))


def test_a_new_primary_contact_demotes_the_old_one_from_the_service_and_both_imports(
    tmp_path, importer
):
    by_service, by_contacts, by_customers = (CustomerFactory(code=f"C{i}") for i in (1, 2, 3))
    for customer in (by_service, by_contacts, by_customers):
        ContactFactory(customer=customer, name="老王", is_primary=True)

    contact_create(customer=by_service, name="小李", is_primary=True, actor=importer)
    contacts = import_file(
        path=write_csv(
            tmp_path / "c.csv", ["客户编号", "联系人", "主要联系人"], [["C2", "小李", "是"]]
        ),
        kind="contacts",
        actor=importer,
    )
    customers = import_file(
        path=write_csv(
            tmp_path / "k.csv", ["客户编号", "客户名称", "联系人"], [["C3", "三号", "小李"]]
        ),
        kind="customers",
        actor=importer,
    )

    assert contacts.committed and customers.committed
    expected = {"老王": False, "小李": True}
    assert _contacts(by_service) == _contacts(by_contacts) == _contacts(by_customers) == expected


def test_making_an_existing_contact_primary_keeps_one_primary_from_service_and_import(
    tmp_path, importer
):
    by_service, by_import = CustomerFactory(code="C1"), CustomerFactory(code="C2")
    for customer in (by_service, by_import):
        ContactFactory(customer=customer, name="老王", is_primary=True)
        ContactFactory(customer=customer, name="小李", is_primary=False)

    contact_update(
        contact=Contact.objects.get(customer=by_service, name="小李"),
        is_primary=True,
        actor=importer,
    )
    result = import_file(
        path=write_csv(
            tmp_path / "c.csv", ["客户编号", "联系人", "主要联系人"], [["C2", "小李", "是"]]
        ),
        kind="contacts",
        actor=importer,
    )

    assert result.committed and result.updated == 1
    assert _contacts(by_service) == _contacts(by_import) == {"老王": False, "小李": True}


def test_a_contact_who_left_is_not_primary_from_service_or_import(tmp_path, importer):
    by_service, by_import = CustomerFactory(code="C1"), CustomerFactory(code="C2")
    for customer in (by_service, by_import):
        ContactFactory(customer=customer, name="老王", is_primary=True)

    contact_create(
        customer=by_service,
        name="小李",
        is_primary=True,
        left_on=dt.date(2024, 5, 1),
        actor=importer,
    )
    result = import_file(
        path=write_csv(
            tmp_path / "c.csv",
            ["客户编号", "联系人", "主要联系人", "离职日期"],
            [["C2", "小李", "是", "2024-05-01"]],
        ),
        kind="contacts",
        actor=importer,
    )

    assert result.committed
    # The one who left does not take the primary place, and the primary keeps it.
    assert _contacts(by_service) == _contacts(by_import) == {"老王": True, "小李": False}


def test_the_customers_import_contact_column_keeps_a_contact_who_left_out_of_primary(
    tmp_path, importer
):
    """Naming a contact who has left in the customers file's 联系人 column does what
    contact_update(is_primary=True) does: nothing; the primary keeps the place."""
    by_service, by_import = CustomerFactory(code="C1"), CustomerFactory(code="C2")
    for customer in (by_service, by_import):
        ContactFactory(customer=customer, name="老王", is_primary=True)
        ContactFactory(
            customer=customer, name="小李", is_primary=False, left_on=dt.date(2024, 5, 1)
        )

    contact_update(
        contact=Contact.objects.get(customer=by_service, name="小李"),
        is_primary=True,
        actor=importer,
    )
    result = import_file(
        path=write_csv(
            tmp_path / "k.csv", ["客户编号", "客户名称", "联系人"], [["C2", "二号", "小李"]]
        ),
        kind="customers",
        actor=importer,
    )

    assert result.committed
    assert _contacts(by_service) == _contacts(by_import) == {"老王": True, "小李": False}


def test_an_order_without_status_currency_or_payment_gets_the_same_defaults_from_every_door(
    tmp_path, importer
):
    customer = CustomerFactory(code="C1")
    when = dt.datetime(2024, 3, 1, 10, 30, tzinfo=timezone.get_current_timezone())
    order_create(
        customer=customer,
        number="BY-SERVICE",
        ordered_at=when,
        amount=Decimal("100"),
        channel="offline",
        currency="usd",
        actor=importer,
    )
    result = import_file(
        path=write_csv(
            tmp_path / "o.csv",
            ["订单编号", "客户编号", "下单时间", "订单金额", "币种"],
            [["BY-IMPORT", "C1", "2024-03-01 10:30", "100", "usd"]],
        ),
        kind="orders",
        actor=importer,
    )

    assert result.committed

    def written(number: str) -> tuple:
        o = Order.objects.get(number=number)
        return (
            o.customer_id,
            o.ordered_at,
            o.amount,
            o.currency,
            o.channel,
            o.payment_method,
            o.status,
        )

    assert (
        written("BY-SERVICE")
        == written("BY-IMPORT")
        == (
            customer.pk,
            when,
            Decimal("100.00"),
            "USD",
            "offline",
            "",
            "paid",
        )
    )


def _audit_inserts(queries: CaptureQueriesContext) -> int:
    table = AuditEvent._meta.db_table
    return sum(
        1
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("INSERT") and table in q["sql"]
    )


def test_an_import_that_changes_many_orders_audits_each_in_a_few_statements(tmp_path, importer):
    n = 1200
    customer = CustomerFactory(code="C1")
    header = ["订单编号", "客户编号", "下单时间", "订单金额", "渠道", "支付方式"]
    rows = [[f"SO{i:05}", "C1", "2024-03-01 10:30", "100", "线上", "支付宝"] for i in range(n)]
    assert import_file(
        path=write_csv(tmp_path / "a.csv", header, rows), kind="orders", actor=importer
    ).committed
    for row in rows:
        row[5] = "微信支付"
    before = AuditEvent.objects.count()

    with CaptureQueriesContext(connection) as queries:
        result = import_file(
            path=write_csv(tmp_path / "b.csv", header, rows), kind="orders", actor=importer
        )

    assert result.committed and result.updated == n
    events = AuditEvent.objects.order_by("pk")[before:]
    updates = [e for e in events if e.action == "update"]
    assert len(updates) == n  # one audit row per changed order ...
    first = next(e for e in updates if e.object_repr == "SO00000")
    assert (first.object_type, first.customer_id, first.actor_id) == (
        "orders.order",
        customer.pk,
        importer.pk,
    )
    assert first.before == {"payment_method": "alipay", "via": "import"}
    assert first.after == {"payment_method": "wechat_pay", "via": "import"}
    # ... in O(batches) INSERT statements (as many rows each as the database binds: about 90
    # on SQLite, 1,000 on PostgreSQL), plus the one summary event of the import.
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    per_statement = min(1000, connection.ops.bulk_batch_size(fields, updates))
    assert _audit_inserts(queries) <= -(-n // per_statement) + 1
    assert _audit_inserts(queries) < n / 50


def test_bulk_audit_writes_what_a_single_audit_event_writes(importer):
    customer = CustomerFactory(code="C1")
    contact = ContactFactory(customer=customer, name="老王")

    with CaptureQueriesContext(connection) as queries:
        written = audit_changes_bulk(
            actor=importer,
            changes=[(contact, customer.pk, {"title": ("", "经理")})] * 3,
            note={"via": "import"},
        )

    assert written == 3 and _audit_inserts(queries) == 1
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.object_type, event.object_id, event.customer_id) == (
        "update",
        "customers.contact",
        str(contact.pk),
        customer.pk,
    )
    assert (event.actor_name, event.before, event.after) == (
        "importer",
        {"title": "", "via": "import"},
        {"title": "经理", "via": "import"},
    )


def test_a_detractor_answer_opens_the_same_service_task_from_the_service_and_the_import(
    tmp_path, importer
):
    from retain.surveys.models import Survey, SurveyResponse
    from retain.surveys.services import survey_response_record
    from retain.tasks.models import Task

    by_service, by_import = CustomerFactory(code="C1"), CustomerFactory(code="C2")
    survey = Survey.objects.create(name="NPS 年度调研")
    tz = timezone.get_current_timezone()
    now = timezone.now()
    answered = dt.datetime(2026, 9, 2, tzinfo=tz)
    survey_response_record(
        customer=by_service,
        survey=survey,
        sent_at=dt.datetime(2026, 9, 1, tzinfo=tz),
        answered_at=answered,
        nps=3,
        comment="太慢",
        now=now,
    )
    header = ["客户编号", "问卷名称", "发送时间", "回答时间", "推荐值", "满意度", "意见建议"]
    rows = [
        ["C2", "NPS 年度调研", "2026-09-01", "2026-09-02", "3", "", "太慢"],
        ["C2", "NPS 年度调研", "2026-10-01", "2026-10-02", "9", "", "很好"],  # a promoter
    ]
    result = import_file(
        path=write_csv(tmp_path / "s.csv", header, rows), kind="surveys", actor=importer
    )
    again = import_file(
        path=write_csv(tmp_path / "s.csv", header, rows), kind="surveys", actor=importer
    )

    assert result.committed and result.created == 2 and again.unchanged == 2

    def tasks(customer) -> list[tuple]:
        answer = SurveyResponse.objects.get(customer=customer, nps=3)
        return [
            (t.key == f"survey:{answer.pk}", t.kind, t.due_on, t.reason, t.status)
            for t in Task.objects.filter(customer=customer)
        ]

    # At import time, without the daily catch-up step, once per answer (not again on re-import).
    assert tasks(by_import) == tasks(by_service)
    assert len(tasks(by_import)) == 1 and tasks(by_import)[0][0]


def test_an_imported_complaint_is_opened_as_the_service_opens_one(tmp_path, importer):
    """complaint_open and the complaints import leave the same complaint, "opened" event,
    create audit and deadlines; the import writes its events in one statement."""
    from retain.complaints.deadlines import complaint_deadline, complaint_resolution_deadline
    from retain.complaints.models import Complaint, ComplaintEvent
    from retain.complaints.services import complaint_open

    by_service, by_import = CustomerFactory(code="C1"), CustomerFactory(code="C2")
    opened = dt.datetime(2026, 9, 1, 9, 30, tzinfo=timezone.get_current_timezone())
    complaint_open(
        customer=by_service,
        actor=importer,
        opened_at=opened,
        category="质量",
        description="包装破损",
        channel="phone",
        severity="high",
    )
    header = ["客户编号", "投诉时间", "投诉类别", "投诉内容", "投诉渠道", "严重程度"]
    rows = [["C2", "2026-09-01 09:30", "质量", "包装破损", "电话", "高"]]
    path = write_csv(tmp_path / "k.csv", header, rows)
    with CaptureQueriesContext(connection) as queries:
        result = import_file(path=path, kind="complaints", actor=importer)
    again = import_file(path=path, kind="complaints", actor=importer)

    assert result.committed and result.created == 1 and again.unchanged == 1
    events = [q["sql"] for q in queries if 'INSERT INTO "complaints_complaintevent"' in q["sql"]]
    assert len(events) == 1

    def opened_as(customer) -> tuple:
        c = Complaint.objects.get(customer=customer)
        event = [
            (e.kind, e.at, e.text, e.actor_id) for e in ComplaintEvent.objects.filter(complaint=c)
        ]
        audit = [
            (a.action, a.actor_id, {k: v for k, v in a.after.items() if k not in ("id", "via")})
            for a in AuditEvent.objects.filter(object_type="complaints.complaint", object_id=c.pk)
        ]
        shape = (c.opened_at, c.category, c.description, c.channel, c.severity, c.status)
        deadlines = (complaint_deadline(c), complaint_resolution_deadline(c))
        return shape, event, audit, deadlines

    service, imported = opened_as(by_service), opened_as(by_import)
    assert service[0] == imported[0] and service[3] == imported[3]
    assert service[1] == imported[1] == [("opened", opened, "包装破损", importer.pk)]
    # the same audit, but for the customer it belongs to (nothing re-audited on re-import)
    assert len(imported[2]) == 1

    def strip(audit: list[tuple]) -> list[tuple]:
        return [(a, u, {k: v for k, v in d.items() if k != "customer"}) for a, u, d in audit]

    assert strip(service[2]) == strip(imported[2])
    assert imported[2][0][2]["customer"] == by_import.pk
