"""Every CSV/XLSX retain writes neutralises cells a spreadsheet would run as formulas."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from retain.core.exports import csv_bytes, safe_cell, xlsx_bytes


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        (12, 12),
        (None, None),
    ],
)
def test_safe_cell(value, written):
    assert safe_cell(value) == written


def test_csv_and_xlsx_exports_neutralise_header_and_cells():
    rows = [["=cmd|' /C calc'!A0", "ok"]]

    text = csv_bytes(["@h", "b"], rows).decode("utf-8")
    book = load_workbook(io.BytesIO(xlsx_bytes(["@h", "b"], rows, title="t")))

    assert text.startswith("\ufeff'@h,b\r\n")
    assert text.splitlines()[1] == "'=cmd|' /C calc'!A0,ok"
    assert book.active.cell(2, 1).value == "'=cmd|' /C calc'!A0"
    assert book.active.cell(1, 1).value == "'@h"
