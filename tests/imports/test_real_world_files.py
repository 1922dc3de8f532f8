"""Real-world files that were read wrongly or crashed (issue #12, items 1-5).

Workbooks are written with openpyxl and then edited at the XML level (a stale
<dimension>, a hidden first sheet, a zip bomb), as the files in the wild are.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from typer.testing import CliRunner

from retain.cli import app
from retain.complaints.models import Complaint
from retain.customers.models import Contact, Customer, CustomerSource
from retain.imports import reading
from retain.imports.engine import import_file
from retain.imports.models import ImportJob
from retain.imports.reading import ImportFileError
from tests.factories import CustomerFactory
from tests.imports.conftest import write_csv

pytestmark = pytest.mark.django_db

HEADER = ["客户编号", "客户名称", "客户来源"]


def _book(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _edit(path: Path, member: str, change) -> None:
    """Rewrite one part of the zip (the workbook's XML) with ``change(text) -> text``."""
    with zipfile.ZipFile(path) as old:
        parts = {info.filename: old.read(info.filename) for info in old.infolist()}
    parts[member] = change(parts[member].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts.items():
            new.writestr(name, data)


# --------------------------------------------------------------------------- XLSX


def test_a_stale_dimension_does_not_hide_rows(tmp_path, importer):
    rows = [[f"C{i:03}", f"公司{i}", ""] for i in range(1, 101)]
    path = _book(tmp_path / "dim.xlsx", {"客户信息表": [HEADER, *rows]})
    _edit(path, "xl/worksheets/sheet1.xml", lambda x: x.replace('ref="A1:C101"', 'ref="A1:C2"'))
    with zipfile.ZipFile(path) as z:
        assert '<dimension ref="A1:C2"' in z.read("xl/worksheets/sheet1.xml").decode()

    result = import_file(path=path, kind="customers", actor=importer)

    assert (result.rows, result.created, result.errors) == (100, 100, [])
    assert Customer.objects.filter(code="C100").exists()


def _hidden_first(path: Path) -> Path:
    _book(
        path,
        {
            "lists": [["客户编号", "客户名称"], ["X1", "下拉列表用"]],
            "客户信息表": [["客户编号", "客户名称"], ["C1", "真的客户"]],
        },
    )
    _edit(
        path,
        "xl/workbook.xml",
        lambda x: re.sub(
            r'(<sheet name="lists" sheetId="1") state="visible"', r'\1 state="hidden"', x
        ),
    )
    with zipfile.ZipFile(path) as z:
        assert 'state="hidden"' in z.read("xl/workbook.xml").decode()
    return path


def test_a_hidden_first_sheet_is_skipped_unless_named(tmp_path, importer):
    path = _hidden_first(tmp_path / "hidden.xlsx")

    result = import_file(path=path, kind="customers", actor=importer)
    named = CliRunner().invoke(
        app, ["import", str(path), "--kind", "customers", "--sheet", "lists", "--dry-run"]
    )
    missing = CliRunner().invoke(app, ["import", str(path), "--kind", "customers", "--sheet", "x"])

    assert (result.created, list(Customer.objects.values_list("code", "name"))) == (
        1,
        [("C1", "真的客户")],
    )
    assert named.exit_code == 0, named.output
    assert "1 rows read (xlsx)" in named.output and "1 created" in named.output
    assert "Error: hidden.xlsx has no sheet x; its sheets: lists, 客户信息表." in missing.output


def test_the_wizard_lists_the_sheets_and_reads_the_one_chosen(tmp_path, importer, client, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = _hidden_first(tmp_path / "hidden.xlsx")
    client.force_login(importer)

    client.post(
        reverse("imports"),
        {"file": SimpleUploadedFile("hidden.xlsx", path.read_bytes())},
    )
    job = ImportJob.objects.get()
    page = client.get(reverse("import-mapping", args=[job.pk])).content.decode()
    client.post(reverse("import-mapping", args=[job.pk]), {"sheet": "lists", "kind": "customers"})
    job.refresh_from_db()
    other = client.get(reverse("import-mapping", args=[job.pk])).content.decode()

    assert job.sheet == "lists"
    assert '<option value="客户信息表" selected>客户信息表</option>' in page
    assert '<option value="lists">lists (hidden)</option>' in page
    assert "真的客户" in page and "下拉列表用" not in page
    assert "下拉列表用" in other


def test_a_merged_cell_takes_its_top_left_value(tmp_path, importer):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["C1", "甲公司", "行业展会"])
    sheet.append(["C2", "乙公司", None])
    sheet.append(["C3", "丙公司", None])
    sheet.append(["C4", "丁公司", "客户转介绍"])
    sheet.merge_cells("C2:C4")  # what people do to say "the same source for these three"
    path = tmp_path / "merged.xlsx"
    book.save(path)

    result = import_file(path=path, kind="customers", actor=importer)

    assert (result.created, result.errors) == (4, [])
    assert dict(Customer.objects.values_list("code", "source__name")) == {
        "C1": "行业展会",
        "C2": "行业展会",
        "C3": "行业展会",
        "C4": "客户转介绍",
    }


def test_a_formula_without_a_computed_value_is_a_row_error(tmp_path, importer):
    path = _book(
        tmp_path / "f.xlsx",
        {"客户信息表": [HEADER, ["C1", '="甲"&"公司"', ""], ["C2", "乙公司", ""]]},
    )

    result = import_file(path=path, kind="customers", actor=importer, valid_rows=True)

    assert [str(e) for e in result.errors] == [
        'row 2, 客户名称: the cell holds the formula ="甲"&"公司" but no computed value; open '
        "the file in Excel and save it, or paste the values"
    ]
    assert list(Customer.objects.values_list("code", flat=True)) == ["C2"]


def test_a_formula_with_its_computed_value_imports_the_value(tmp_path, importer):
    path = _book(tmp_path / "f.xlsx", {"客户信息表": [HEADER, ["C1", '="甲"&"公司"', ""]]})
    _edit(
        path,
        "xl/worksheets/sheet1.xml",
        lambda x: x.replace("<v />", "<v>甲公司</v>").replace('<c r="B2">', '<c r="B2" t="str">'),
    )

    result = import_file(path=path, kind="customers", actor=importer)

    assert (result.created, result.errors) == (1, [])
    assert Customer.objects.get().name == "甲公司"


def test_a_zip_bomb_is_refused_before_it_is_read(tmp_path, importer):
    path = _book(tmp_path / "bomb.xlsx", {"客户信息表": [HEADER, ["C1", "甲", ""]]})
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z,
        z.open("xl/media/pad.bin", "w") as fh,
    ):
        chunk = b"\0" * 2**24
        for _ in range(65):  # 1,040 MiB of zeros: about 1 MiB on disk
            fh.write(chunk)
    assert path.stat().st_size < 3 * 2**20

    with pytest.raises(ImportFileError) as refused:
        import_file(path=path, kind="customers", actor=importer)

    assert str(refused.value) == (
        "bomb.xlsx expands to 1,040 MiB when unzipped; retain reads workbooks up to 1,024 MiB "
        "(text up to 256 MiB). Save the data as CSV, or split it."
    )
    assert Customer.objects.count() == 0


def test_too_many_cells_are_refused_before_any_row_is_imported(tmp_path, importer, monkeypatch):
    monkeypatch.setattr(reading, "XLSX_MAX_CELLS", 100)
    rows = [[f"C{i}", f"公司{i}", ""] for i in range(60)]
    path = _book(tmp_path / "big.xlsx", {"客户信息表": [HEADER, *rows]})

    with pytest.raises(ImportFileError) as refused:
        import_file(path=path, kind="customers", actor=importer)

    assert str(refused.value) == (
        "big.xlsx holds more than 100 cells; retain reads workbooks up to that many. "
        "Save the data as CSV, or split it."
    )
    assert Customer.objects.count() == 0


# --------------------------------------------------------------------------- text


def test_a_nul_byte_is_a_row_error_not_a_database_crash(tmp_path, importer):
    path = tmp_path / "nul.csv"
    path.write_bytes("客户编号,客户名称\r\nC1,甲公司\r\nC2,乙\x00公司\r\n".encode())

    result = import_file(path=path, kind="customers", actor=importer, valid_rows=True)

    assert [str(e) for e in result.errors] == [
        "row 3, 客户名称: the cell holds a NUL character (byte 0), which cannot be stored"
    ]
    assert list(Customer.objects.values_list("code", "name")) == [("C1", "甲公司")]


def test_cr_only_line_endings_are_read_by_the_cli_and_the_wizard(
    tmp_path, importer, client, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    content = "客户编号,客户名称\rC1,甲公司\rC2,乙公司\r".encode("gbk")
    path = tmp_path / "mac.csv"
    path.write_bytes(content)

    out = CliRunner().invoke(app, ["import", str(path), "--kind", "customers"])
    client.force_login(importer)
    uploaded = client.post(reverse("imports"), {"file": SimpleUploadedFile("mac.csv", content)})
    page = client.get(uploaded["Location"])

    assert out.exit_code == 0, out.output
    assert "2 rows read (gb18030)" in out.output and "2 created" in out.output
    assert page.status_code == 200
    assert "First 2 rows: 0 new, 0 changed, 2 unchanged, 0 with errors." in page.content.decode()


LATIN1 = (
    "客户编号,客户名称,城市\nC1,Grüße GmbH,Köln\nC2,Müller AG,Düsseldorf\n".replace(
        "客户编号", "Customer code"
    )
    .replace("客户名称", "Customer name")
    .replace("城市", "City")
)


def test_an_encoding_guess_that_is_not_clear_cut_needs_confirming(tmp_path, importer):
    path = tmp_path / "latin.csv"
    path.write_bytes(LATIN1.encode("latin-1"))

    with pytest.raises(ImportFileError) as doubt:
        import_file(path=path, kind="customers", actor=importer)
    guessed = CliRunner().invoke(app, ["import", str(path), "--kind", "customers"])
    told = CliRunner().invoke(
        app, ["import", str(path), "--kind", "customers", "--encoding", "latin-1"]
    )

    assert str(doubt.value) == (
        "latin.csv: the encoding is not clear-cut. Read as GBK, Gr\ufffde; read as Latin-1, "
        "Grüße. Check the preview and confirm the encoding. Choose the encoding in the wizard, "
        "or give --encoding (gbk or latin-1)."
    )
    assert guessed.exit_code == 1
    assert told.exit_code == 0, told.output
    assert dict(Customer.objects.values_list("name", "city")) == {
        "Grüße GmbH": "Köln",
        "Müller AG": "Düsseldorf",
    }


def test_the_wizard_shows_the_doubt_and_imports_only_once_the_encoding_is_chosen(
    tmp_path, importer, client, settings, django_capture_on_commit_callbacks
):
    from huey.contrib.djhuey import HUEY

    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(importer)
    client.post(
        reverse("imports"),
        {"file": SimpleUploadedFile("latin.csv", LATIN1.encode("latin-1")), "kind": "customers"},
    )
    job = ImportJob.objects.get()
    form = {"col-0": "code", "col-1": "name", "col-2": "city", "kind": "customers", "mode": "all"}

    page = client.get(reverse("import-mapping", args=[job.pk])).content.decode()
    refused = client.post(reverse("import-mapping", args=[job.pk]), {**form, "action": "commit"})
    client.post(reverse("import-mapping", args=[job.pk]), {**form, "encoding": "latin-1"})
    confirmed = client.get(reverse("import-mapping", args=[job.pk])).content.decode()
    HUEY.immediate = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("import-mapping", args=[job.pk]), {**form, "action": "commit"})
    finally:
        HUEY.immediate = False

    assert 'id="encoding-doubt"' in page and "read as Latin-1, Grüße" in page
    assert "Choose the encoding above, then import." in refused.content.decode()
    assert "Grüße GmbH" in confirmed and 'id="encoding-doubt"' not in confirmed
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 2)
    assert Customer.objects.get(code="C1").name == "Grüße GmbH"


# --------------------------------------------------------------------------- values


def test_placeholders_are_empty_not_data(tmp_path, importer):
    header = [
        "客户编号",
        "客户名称",
        "联系人",
        "所属行业",
        "客户来源",
        "关键需求",
        "备注",
        "联系电话",
    ]
    rows = [["C1", "甲公司", "无", "N/A", "暂无", "-", "/", "－"]]

    result = import_file(
        path=write_csv(tmp_path / "p.csv", header, rows), kind="customers", actor=importer
    )

    assert (result.created, result.errors) == (1, [])
    customer = Customer.objects.get()
    assert (customer.industry, customer.source, customer.key_needs, customer.notes) == (
        "",
        None,
        "",
        "",
    )
    assert (Contact.objects.count(), CustomerSource.objects.filter(name="暂无").count()) == (0, 0)


def test_codes_with_full_width_or_invisible_characters_match_the_customer(tmp_path, importer):
    CustomerFactory(code="C2024001", name="旧名")
    CustomerFactory(code="C2024002", name="旧名二")
    rows = [["Ｃ２０２４００１", "新名"], ["C2024\u200b002", "新名二"]]

    result = import_file(
        path=write_csv(tmp_path / "c.csv", ["客户编号", "客户名称"], rows),
        kind="customers",
        actor=importer,
    )

    assert (result.created, result.updated, result.errors) == (0, 2, [])
    assert dict(Customer.objects.values_list("code", "name")) == {
        "C2024001": "新名",
        "C2024002": "新名二",
    }


def test_the_reject_file_imports_again_as_it_is_once_fixed(tmp_path, importer):
    header = ["客户编号", "客户名称", "客户类型", "联系电话", "备注"]
    rows = [["C1", "张三", "外星人", "+86 138 0013 8000", "=危险"], ["C2", "", "个人", "", ""]]
    reject = tmp_path / "r.rejects.csv"
    import_file(
        path=write_csv(tmp_path / "r.csv", header, rows),
        kind="customers",
        actor=importer,
        reject_path=reject,
    )
    text = reject.read_text("utf-8-sig")
    assert "C1,张三,外星人,'+86 138 0013 8000,'=危险," in text
    reject.write_text(text.replace("外星人", "个人").replace("C2,,", "C2,李四,"), "utf-8-sig")

    again = import_file(path=reject, kind="customers", actor=importer)

    assert (again.created, again.errors) == (2, [])
    assert Customer.objects.get(code="C1").phone == "13800138000"
    assert Customer.objects.get(code="C1").notes == "=危险"


def test_the_same_complaint_twice_in_one_file_is_a_row_error(tmp_path, importer):
    CustomerFactory(code="C1")
    header = ["客户编号", "投诉时间", "投诉类别", "投诉内容"]
    rows = [
        ["C1", "2026-10-01 09:00", "物流", "第一次写的"],
        ["C1", "2026-10-01 09:00", "物流", "第二次写的"],
    ]

    result = import_file(
        path=write_csv(tmp_path / "c.csv", header, rows), kind="complaints", actor=importer
    )

    assert [str(e) for e in result.errors] == [
        "row 3, 客户编号, 投诉时间, 投诉类别: C1 / 2026-10-01 09:00:00+08:00 / 物流 appears more "
        "than once in this file (first on row 2)"
    ]
    assert Complaint.objects.count() == 0


def test_after_an_all_or_nothing_refusal_the_cli_does_not_offer_the_reject_file_alone(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["客户编号", "客户名称"], [["C1", "甲"], ["C2", ""]])

    out = CliRunner().invoke(app, ["import", str(path), "--kind", "customers"])

    assert out.exit_code == 1
    assert (
        "Nothing was imported (all or nothing). Fix the rows listed in the reject file in the "
        "original file and import the whole file again, or use --valid-rows."
    ) in out.output
    assert "import it again" not in out.output


SEED_WORDS = {
    "潜在客户": "prospect",
    "意向客户": "prospect",
    "新客户": "prospect",
    "Prospect": "prospect",
    "Lead": "prospect",
    "活跃客户": "active",
    "老客户": "active",
    "一般客户": "active",
    "基础客户": "active",
    "Basic": "active",
    "Active": "active",
    "核心客户": "core",
    "重要客户": "core",
    "高价值客户": "core",
    "VIP": "core",
    "Core": "core",
    "Key account": "core",
    "潜力客户": "silent",
    "待观察客户": "silent",
    "沉睡客户": "silent",
    "Potential": "silent",
    "Watch": "silent",
    "Dormant": "silent",
    "流失客户": "churned",
    "Churned": "churned",
    "Lost": "churned",
}


def test_every_status_word_of_the_seed_imports_to_its_status(tmp_path, importer):
    rows = [[f"C{i}", f"公司{i}", word] for i, word in enumerate(SEED_WORDS)]

    result = import_file(
        path=write_csv(tmp_path / "s.csv", ["客户编号", "客户名称", "当前状态"], rows),
        kind="customers",
        actor=importer,
    )

    assert (result.created, result.errors) == (len(SEED_WORDS), [])
    got = dict(Customer.objects.values_list("code", "status"))
    assert {word: got[f"C{i}"] for i, word in enumerate(SEED_WORDS)} == SEED_WORDS


def test_without_codes_a_re_import_matches_by_name_and_phone_and_the_preview_says_so(
    tmp_path, importer, client, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    header = ["客户名称", "联系人", "联系电话", "邮箱"]
    rows = [
        ["深圳市某科技有限公司", "张三", "13800138000", ""],
        ["某贸易公司", "李四", "", "li@example.com"],
        ["没有电话的公司", "王五", "", ""],
    ]
    path = write_csv(tmp_path / "nocode.csv", header, rows)
    first = import_file(path=path, kind="customers", actor=importer)
    renamed = write_csv(
        tmp_path / "again.csv",
        header,
        [["某科技有限公司", "张三", "138 0013 8000", ""], *rows[1:]],
    )

    again = import_file(path=renamed, kind="customers", actor=importer)
    out = CliRunner().invoke(app, ["import", str(path), "--kind", "customers", "--dry-run"])
    client.force_login(importer)
    client.post(reverse("imports"), {"file": SimpleUploadedFile("again.csv", renamed.read_bytes())})
    page = client.get(reverse("import-mapping", args=[ImportJob.objects.get().pk])).content.decode()

    assert (first.created, again.created, again.matched_by_name) == (3, 1, 2)
    assert Customer.objects.count() == 4  # only the one without phone or email came again
    assert "2 row(s) without a customer code matched an existing customer" in out.output
    assert (
        "2 rows have no customer code and were matched to existing customers by their name "
        "and phone or email."
    ) in page
