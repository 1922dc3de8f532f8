"""Hostile files: each gets a clear message and leaves the database as it was."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from retain.customers.models import Contact, Customer, CustomerSource
from retain.imports.engine import ERROR_COLUMN, import_file
from retain.imports.reading import ImportFileError
from retain.orders.models import Order
from tests.factories import CustomerFactory
from tests.imports.conftest import SEED_HEADER, SEED_ROWS, write_csv

pytestmark = pytest.mark.django_db


def _nothing_written():
    assert Customer.objects.count() == 0
    assert Contact.objects.count() == 0
    assert CustomerSource.objects.count() == 0


def test_a_file_in_an_unknown_encoding_is_refused_by_name(tmp_path, importer):
    path = tmp_path / "latin.csv"
    path.write_bytes("客户编号,客户名称\n".encode() + "C1,Café Müller\n".encode("latin-1"))

    with pytest.raises(ImportFileError) as caught:
        import_file(path=path, kind="customers", actor=importer)

    assert str(caught.value) == (
        "latin.csv: cannot read the text: it is neither UTF-8 nor GBK/GB18030. "
        "Save it from Excel as “CSV UTF-8” or as an .xlsx workbook."
    )
    _nothing_written()


def test_a_bad_byte_far_down_a_utf8_file_names_its_row(tmp_path, importer):
    rows = [[f"C{i}", f"公司{i}"] for i in range(20_000)]
    path = write_csv(tmp_path / "late.csv", ["客户编号", "客户名称"], rows)
    path.write_bytes(path.read_bytes() + "C9,Müller\r\n".encode("latin-1"))

    with pytest.raises(
        ImportFileError, match=r"^late\.csv, row 20002: the text is not valid utf-8"
    ):
        import_file(path=path, kind="customers", actor=importer)

    _nothing_written()


def test_utf16_text_is_read(tmp_path, importer):
    path = tmp_path / "unicode.txt"
    path.write_bytes("客户编号\t客户名称\r\nC1\t某公司\r\n".encode("utf-16"))

    result = import_file(path=path, kind="customers", actor=importer)

    assert result.created == 1


def test_binary_garbage_is_refused(tmp_path, importer):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    with pytest.raises(ImportFileError, match=r"x\.csv is not a CSV or XLSX file"):
        import_file(path=path, kind="customers", actor=importer)


def test_an_empty_file_is_refused(tmp_path, importer):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(ImportFileError, match=r"^empty\.csv is empty\.$"):
        import_file(path=path, kind="customers", actor=importer)
    _nothing_written()


def test_a_header_only_file_is_refused(tmp_path, importer):
    path = write_csv(tmp_path / "h.csv", SEED_HEADER, [], encoding="gbk")

    with pytest.raises(ImportFileError, match=r"^h\.csv has a header but no rows to import\.$"):
        import_file(path=path, kind="customers", actor=importer)
    _nothing_written()


def test_a_missing_required_column_is_named(tmp_path, importer):
    path = write_csv(tmp_path / "m.csv", ["客户编号", "联系人"], [["C1", "张三"]])

    with pytest.raises(ImportFileError) as caught:
        import_file(path=path, kind="customers", actor=importer)

    assert str(caught.value) == (
        "m.csv has no column for the required field(s): 客户名称 / Customer name. "
        "Found columns: 客户编号, 联系人."
    )
    _nothing_written()


def test_extra_columns_are_ignored_and_extra_cells_are_an_error(tmp_path, importer):
    header = [*SEED_HEADER, "微信群"]
    rows = [[*SEED_ROWS[0], "群1"], [*SEED_ROWS[1], "群2", "多出来的"]]
    path = write_csv(tmp_path / "x.csv", header, rows)

    result = import_file(path=path, kind="customers", actor=importer)

    assert result.committed is False
    assert [str(e) for e in result.errors] == [
        "row 3: the row has 11 values but the header only 10 columns"
    ]
    _nothing_written()


def test_one_bad_row_rolls_back_the_whole_file(tmp_path, importer):
    rows = [list(r) for r in SEED_ROWS]
    rows[1][5] = "去年"
    path = write_csv(tmp_path / "bad.csv", SEED_HEADER, rows, encoding="gbk")

    result = import_file(path=path, kind="customers", actor=importer)

    assert (result.committed, result.created, result.rejected) == (False, 0, 1)
    assert [str(e) for e in result.errors] == [
        "row 3, 首次接触时间: 去年 is not a date; use a form like 2024-01-15, 2024/1/15 or 2024年1月15日"
    ]
    _nothing_written()


def test_duplicate_codes_inside_one_file_are_rejected(tmp_path, importer):
    rows = [SEED_ROWS[0], SEED_ROWS[1], [*SEED_ROWS[1][:1], "另一个名字", *SEED_ROWS[1][2:]]]
    path = write_csv(tmp_path / "d.csv", SEED_HEADER, rows)

    result = import_file(path=path, kind="customers", actor=importer)

    assert [str(e) for e in result.errors] == [
        "row 4, 客户编号: C2024002 appears more than once in this file (first on row 3)"
    ]
    _nothing_written()


def test_a_ten_thousand_character_cell_is_a_row_error(tmp_path, importer):
    rows = [list(r) for r in SEED_ROWS]
    rows[0][8] = "长" * 10_001
    rows[1][8] = "长" * 6000
    path = write_csv(tmp_path / "long.csv", SEED_HEADER, rows)

    result = import_file(path=path, kind="customers", actor=importer)

    assert [str(e) for e in result.errors] == [
        "row 2, 备注: the cell holds 10,001 characters; the most a cell may hold is 10,000",
        "row 3, 备注: 6,000 characters is too long; the most is 5,000",
    ]
    _nothing_written()


def test_mixed_date_formats_in_one_column_all_read(tmp_path, importer):
    header = ["客户编号", "客户名称", "首次接触时间"]
    forms = [
        "2024-01-15",
        "2024/1/15",
        "2024年1月15日",
        "45306",
        "20240115",
        "２０２４－０１－１５",
    ]
    rows = [[f"C{i}", f"公司{i}", form] for i, form in enumerate(forms)]
    path = write_csv(tmp_path / "dates.csv", header, rows)

    result = import_file(path=path, kind="customers", actor=importer)

    assert result.errors == []
    assert set(Customer.objects.values_list("first_contact_date", flat=True)) == {
        dt.date(2024, 1, 15)
    }


def test_formula_cells_are_kept_as_text_and_neutralised_in_the_reject_file(tmp_path, importer):
    header = ["客户编号", "客户名称", "首次接触时间"]
    rows = [["C1", '=HYPERLINK("http://x")', "2024-01-15"], ["C2", "@SUM(A1)", "someday"]]
    path = write_csv(tmp_path / "f.csv", header, rows)
    reject = tmp_path / "rejects.csv"

    result = import_file(
        path=path, kind="customers", actor=importer, valid_rows=True, reject_path=reject
    )

    assert result.committed is True
    assert Customer.objects.get(code="C1").name == '=HYPERLINK("http://x")'
    with reject.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == [*header, ERROR_COLUMN]
    assert lines[1][:3] == ["C2", "'@SUM(A1)", "someday"]


def test_phone_and_email_formats_are_checked(tmp_path, importer):
    header = ["客户编号", "客户名称", "联系人", "联系电话", "邮箱"]
    rows = [
        ["C1", "甲公司", "张三", "+86 138-0013-8000", "Zhang@Example.COM"],
        ["C2", "乙公司", "李四", "12345", "not-an-email"],
    ]
    path = write_csv(tmp_path / "p.csv", header, rows)

    result = import_file(path=path, kind="customers", actor=importer, valid_rows=True)

    assert [str(e) for e in result.errors] == [
        "row 3, 联系电话: 12345 is not a phone number (a mobile has 11 digits starting with 1)",
        "row 3, 邮箱: not-an-email is not an email address",
    ]
    contact = Contact.objects.get()
    assert (contact.phone, contact.email) == ("13800138000", "Zhang@example.com")


def test_an_unknown_status_lists_the_allowed_values(tmp_path, importer):
    path = write_csv(
        tmp_path / "s.csv", ["客户编号", "客户名称", "当前状态"], [["C1", "甲", "大客户"]]
    )

    result = import_file(path=path, kind="customers", actor=importer)

    assert len(result.errors) == 1
    assert result.errors[0].column == "当前状态"
    assert result.errors[0].message.startswith("大客户 is not one of: 潜在客户、意向客户")
    _nothing_written()


def test_orders_for_an_unknown_customer_are_rejected_and_nothing_is_written(tmp_path, importer):
    CustomerFactory(code="C1")
    header = ["订单编号", "客户编号", "下单时间", "订单金额", "渠道"]
    rows = [
        ["SO1", "C1", "2024-03-01 10:30", "¥1,234.50", "线上"],
        ["SO2", "C404", "2024-03-02", "99", "线下"],
    ]
    path = write_csv(tmp_path / "o.csv", header, rows)

    result = import_file(path=path, kind="orders", actor=importer)

    assert [str(e) for e in result.errors] == [
        "row 3, 客户编号: customer C404: not found or not yours"
    ]
    assert Order.objects.count() == 0


def test_amounts_with_yuan_sign_separators_and_full_width_digits(tmp_path, importer):
    CustomerFactory(code="C1")
    header = ["订单编号", "客户编号", "下单时间", "订单金额"]
    rows = [
        ["SO1", "C1", "2024-03-01", "¥1,234.50"],
        ["SO2", "C1", "2024/3/2", "１２３４５"],
        ["SO3", "C1", "45352", "12 345 元"],
    ]
    path = write_csv(tmp_path / "o.csv", header, rows)

    result = import_file(path=path, kind="orders", actor=importer)

    assert result.errors == []
    assert dict(Order.objects.values_list("number", "amount")) == {
        "SO1": Decimal("1234.50"),
        "SO2": Decimal("12345.00"),
        "SO3": Decimal("12345.00"),
    }
    assert timezone.localtime(Order.objects.get(number="SO3").ordered_at) == dt.datetime(
        2024, 3, 1, tzinfo=timezone.get_current_timezone()
    )


def test_row_errors_are_given_in_chinese_for_chinese_users(tmp_path, importer):
    from django.utils import translation

    rows = [list(SEED_ROWS[0])]
    rows[0][5] = "去年"
    path = write_csv(tmp_path / "bad.csv", SEED_HEADER, rows, encoding="gbk")

    with translation.override("zh-hans"):
        result = import_file(path=path, kind="customers", actor=importer)
        message = str(result.errors[0])

    assert message == (
        "第 2 行, 首次接触时间: 去年 不是日期;请使用 2024-01-15、2024/1/15 或 2024年1月15日 这样的格式"
    )
    _nothing_written()


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path, importer):
    import zipfile

    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")

    with pytest.raises(ImportFileError) as caught:
        import_file(path=path, kind="customers", actor=importer)

    assert str(caught.value).startswith("fake.xlsx is not a readable XLSX workbook (")
    _nothing_written()
