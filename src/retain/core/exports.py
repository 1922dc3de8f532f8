"""Write CSV and XLSX files that are safe to open in Excel.

Every cell that starts with ``= + - @`` (or a tab or carriage return) is prefixed with
an apostrophe, so a spreadsheet shows it as text instead of running it as a formula
(CSV injection, OWASP). Every export retain writes goes through ``safe_cell``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from retain.analytics._cells import FORMULA_STARTS, safe_cell

__all__ = ["FORMULA_STARTS", "csv_bytes", "csv_write", "safe_cell", "safe_row", "xlsx_bytes"]


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


def csv_write(
    path_or_buffer: Path | io.TextIOBase,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """CSV in UTF-8 with a BOM (so Excel in China opens it right), cells neutralised."""
    if isinstance(path_or_buffer, Path):
        with path_or_buffer.open("w", encoding="utf-8-sig", newline="") as fh:
            _csv_rows(fh, header, rows)
    else:
        _csv_rows(path_or_buffer, header, rows)


def _csv_rows(fh: Any, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(fh)
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row("" if v is None else v for v in row))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    _csv_rows(buffer, header, rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str) -> bytes:
    """One-sheet XLSX (openpyxl write-only), cells neutralised like the CSV."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(safe_row(header))
    for row in rows:
        sheet.append(safe_row(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
