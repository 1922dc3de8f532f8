"""The seed's 客户信息表 comes in from Excel (GBK CSV, UTF-8 BOM CSV, XLSX) with no mapping."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.audit.models import AuditEvent
from retain.customers.models import Contact, Customer, CustomerSource
from retain.imports.engine import import_file
from tests.imports.conftest import SEED_HEADER, SEED_ROWS, write_csv, write_xlsx

pytestmark = pytest.mark.django_db


def _assert_seed_imported():
    first = Customer.objects.select_related("source").get(code="C2024001")
    second = Customer.objects.select_related("source").get(code="C2024002")
    assert (first.name, first.kind, first.industry, first.status) == (
        "*科技有限公司",
        "company",
        "IT服务",
        "prospect",
    )
    assert first.first_contact_date == dt.date(2024, 1, 15)
    assert (first.key_needs, first.notes) == ("云存储解决方案", "计划Q3采购预算50万")
    assert first.source.name_zh == "行业展会"
    assert (second.name, second.status, second.source.name_zh) == (
        "*制造集团",
        "core",
        "客户转介绍",
    )
    assert second.first_contact_date == dt.date(2023, 11, 20)
    assert list(first.contacts.values_list("name", "is_primary")) == [("张*", True)]
    assert list(second.contacts.values_list("name", "is_primary")) == [("李*", True)]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_the_seed_rows_saved_as_csv_import_with_no_mapping(tmp_path, importer, encoding):
    path = write_csv(tmp_path / "客户信息表.csv", SEED_HEADER, SEED_ROWS, encoding=encoding)

    result = import_file(path=path, kind="customers", actor=importer)

    assert result.committed is True
    assert (result.rows, result.created, result.updated, result.rejected) == (2, 2, 0, 0)
    assert result.errors == []
    _assert_seed_imported()


def test_the_seed_rows_saved_as_xlsx_import_with_no_mapping(tmp_path, importer):
    rows = [list(r) for r in SEED_ROWS]
    rows[0][5] = dt.datetime(2024, 1, 15)  # Excel stores dates as dates
    rows[1][5] = 45250  # ... or a bare serial number (2023-11-20)
    path = write_xlsx(tmp_path / "客户信息表.xlsx", SEED_HEADER, rows)

    result = import_file(path=path, kind="customers", actor=importer)

    assert (result.committed, result.created, result.errors) == (True, 2, [])
    assert result.encoding == "xlsx"
    _assert_seed_imported()


def test_an_existing_source_is_reused_and_a_missing_one_made_once(tmp_path, importer):
    CustomerSource.objects.create(code="trade_show", name="Trade show", name_zh="行业展会")
    path = write_csv(tmp_path / "c.csv", SEED_HEADER, SEED_ROWS, encoding="gbk")

    import_file(path=path, kind="customers", actor=importer)

    assert sorted(CustomerSource.objects.values_list("name_zh", flat=True)) == [
        "客户转介绍",
        "行业展会",
    ]
    assert Customer.objects.get(code="C2024001").source.code == "trade_show"


def test_importing_the_same_file_twice_changes_nothing(tmp_path, importer):
    path = write_csv(tmp_path / "c.csv", SEED_HEADER, SEED_ROWS, encoding="gbk")
    import_file(path=path, kind="customers", actor=importer)
    audit_before = AuditEvent.objects.count()

    again = import_file(path=path, kind="customers", actor=importer)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Customer.objects.count() == 2
    assert Contact.objects.count() == 2
    assert AuditEvent.objects.count() == audit_before


def test_a_changed_row_updates_the_customer_and_is_audited(tmp_path, importer):
    path = write_csv(tmp_path / "c.csv", SEED_HEADER, SEED_ROWS, encoding="gbk")
    import_file(path=path, kind="customers", actor=importer)
    changed = [list(r) for r in SEED_ROWS]
    changed[0][6] = "核心客户"
    changed[0][2] = "王*"
    path2 = write_csv(tmp_path / "c2.csv", SEED_HEADER, changed, encoding="gbk")

    result = import_file(path=path2, kind="customers", actor=importer)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    customer = Customer.objects.get(code="C2024001")
    assert customer.status == "core"
    assert list(customer.contacts.order_by("name").values_list("name", "is_primary")) == [
        ("张*", False),
        ("王*", True),
    ]
    event = AuditEvent.objects.get(action="update", object_type="customers.customer")
    assert (event.actor, event.customer_id) == (importer, customer.pk)
    assert event.before == {"status": "prospect", "via": "import"}
    assert event.after == {"status": "core", "via": "import"}


def test_english_headers_are_recognised(tmp_path, importer):
    header = [
        "Customer code",
        "Customer name",
        "Contact",
        "Industry",
        "Source",
        "First contact date",
        "Current status",
        "Key needs",
        "Notes",
    ]
    rows = [["C9", "Acme Ltd", "Ann", "Retail", "Trade show", "2024/1/15", "core", "", ""]]
    path = write_csv(tmp_path / "c.csv", header, rows)

    result = import_file(path=path, kind="customers", actor=importer)

    assert (result.created, result.errors) == (1, [])
    acme = Customer.objects.get(code="C9")
    assert (acme.name, acme.status, acme.first_contact_date) == (
        "Acme Ltd",
        "core",
        dt.date(2024, 1, 15),
    )


def test_a_row_without_a_code_gets_a_generated_one(tmp_path, importer):
    path = write_csv(tmp_path / "c.csv", ["客户名称"], [["某贸易有限公司"]])

    result = import_file(path=path, kind="customers", actor=importer)

    assert result.created == 1
    assert Customer.objects.get().code.startswith("C")
