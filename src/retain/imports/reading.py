"""Open a CSV or XLSX file as a header and a stream of rows.

CSV comes in UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or GBK /
GB18030 (what Excel in China saves as "CSV"); the encoding is detected from the bytes.
Rows are streamed: a million-row file is never held in memory.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

SNIFF_BYTES = 256 * 1024
#: The longest cell read; longer ones are an error on that row, not a crash.
MAX_CELL = 10_000
# Python's csv module refuses fields over 128 KiB by default; allow a bit more than
# MAX_CELL so a long cell reaches validation and gets a row-and-column message.
csv.field_size_limit(1_000_000)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message names the file and why."""


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]  # (row number as the user sees it, cells)
    encoding: str  # "xlsx" for workbooks
    total_hint: int | None  # rows to expect (for progress), when cheap to know
    sheet: str = ""

    def close(self) -> None:
        closer = getattr(self, "_close", None)
        if closer:
            closer()


def is_xlsx(path: Path) -> bool:
    return zipfile.is_zipfile(path)


def detect_encoding(head: bytes, name: str) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportFileError(
        _(
            "%(file)s: cannot read the text: it is neither UTF-8 nor GBK/GB18030. "
            "Save it from Excel as “CSV UTF-8” or as an .xlsx workbook."
        )
        % {"file": name}
    )


def open_table(path: Path, *, name: str | None = None, sheet: str | None = None) -> Table:
    """Open ``path`` (CSV or XLSX). Raises ImportFileError for an empty or unreadable file."""
    name = name or path.name
    if not path.exists() or path.stat().st_size == 0:
        raise ImportFileError(_("%(file)s is empty.") % {"file": name})
    if is_xlsx(path):
        return _open_xlsx(path, name=name, sheet=sheet)
    return _open_csv(path, name=name)


def _open_csv(path: Path, *, name: str) -> Table:
    with path.open("rb") as sniff:
        head = sniff.read(SNIFF_BYTES)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            _("%(file)s is not a CSV or XLSX file (it holds binary data).") % {"file": name}
        )
    encoding = detect_encoding(head, name)
    text = head.decode(encoding, errors="ignore")
    first_line = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    if encoding == "utf-16":
        fh: Any = path.open("r", encoding=encoding, newline="", errors="strict")
        lines: Iterator[str] = fh
    else:
        # Decoded line by line, so a bad byte is reported on the row it is on.
        fh = path.open("rb")
        lines = _decoded_lines(fh, encoding, name)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        fh.close()
        raise ImportFileError(_("%(file)s is empty.") % {"file": name}) from None
    except UnicodeDecodeError as exc:
        fh.close()
        raise ImportFileError(_bad_text(name, 1, encoding)) from exc
    headers = [h.strip() for h in headers]
    if not any(headers):
        fh.close()
        raise ImportFileError(_("%(file)s has no header row.") % {"file": name})
    # Each line is about the same length: estimate the row count for progress bars.
    size = path.stat().st_size
    newlines = max(head.count(b"\n"), 1)
    total_hint = round(size / (len(head) / newlines)) - 1 if size > len(head) else newlines - 1

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 1
        try:
            for cells in reader:
                number = reader.line_num
                if not "".join(cells).strip():
                    continue
                yield number, cells
        except UnicodeDecodeError as exc:
            raise ImportFileError(_bad_text(name, number + 1, encoding)) from exc
        except csv.Error as exc:
            raise ImportFileError(
                _("%(file)s, row %(row)s: the CSV is malformed (%(error)s).")
                % {"file": name, "row": number + 1, "error": exc}
            ) from exc
        finally:
            fh.close()

    table = Table(headers=headers, rows=rows(), encoding=encoding, total_hint=max(total_hint, 0))
    table._close = fh.close  # type: ignore[attr-defined]
    return table


def _decoded_lines(fh: Any, encoding: str, name: str) -> Iterator[str]:
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    for number, raw in enumerate(fh, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise ImportFileError(_bad_text(name, number, codec)) from exc


def _bad_text(name: str, row: int, encoding: str) -> str:
    return _(
        "%(file)s, row %(row)s: the text is not valid %(encoding)s. Save the whole file in "
        "one encoding (“CSV UTF-8” in Excel)."
    ) % {"file": name, "row": row, "encoding": encoding}


def _open_xlsx(path: Path, *, name: str, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken zip or XML
        raise ImportFileError(
            _("%(file)s is not a readable XLSX workbook (%(error)s).")
            % {"file": name, "error": exc.__class__.__name__}
        ) from exc
    ws = book[sheet] if sheet and sheet in book.sheetnames else book.worksheets[0]
    iterator = ws.iter_rows(values_only=True)
    headers: list[str] | None = None
    for raw in iterator:
        if raw and any(v not in (None, "") for v in raw):
            headers = ["" if v is None else str(v).strip() for v in raw]
            break
    if headers is None:
        book.close()
        raise ImportFileError(_("%(file)s is empty.") % {"file": name})
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)
    total_hint = (ws.max_row - 1) if ws.max_row else None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 1
        try:
            for raw in iterator:
                number += 1
                if not raw or all(v is None or (isinstance(v, str) and not v.strip()) for v in raw):
                    continue
                yield number, list(raw[:width]) + list(raw[width:])
        finally:
            book.close()

    table = Table(
        headers=headers, rows=rows(), encoding="xlsx", total_hint=total_hint, sheet=ws.title
    )
    table._close = book.close  # type: ignore[attr-defined]
    return table


def sample(
    path: Path, *, name: str, limit: int = 20
) -> tuple[list[str], list[tuple[int, list[Any]]], str]:
    """The header and the first ``limit`` rows, for the wizard's preview."""
    table = open_table(path, name=name)
    taken: list[tuple[int, list[Any]]] = []
    try:
        for item in table.rows:
            taken.append(item)
            if len(taken) >= limit:
                break
    finally:
        table.close()
    return table.headers, taken, table.encoding


__all__ = ["MAX_CELL", "ImportFileError", "Table", "open_table", "sample"]
