"""Open a CSV or XLSX file as a header and a stream of rows.

CSV comes in UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or GBK /
GB18030 (what Excel in China saves as "CSV"); the encoding is detected from the bytes.
Rows are streamed: a million-row file is never held in memory.
"""

from __future__ import annotations

import codecs
import csv
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from retain.imports.values import Uncached as V_uncached

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
    #: Why the encoding guess is not clear-cut ("" when it is): shown in the preview, and
    #: the import needs the encoding confirmed (wizard) or given (``--encoding``).
    doubt: str = ""
    sheets: list[str] = field(default_factory=list)  # of a workbook, visible ones first
    hidden: list[str] = field(default_factory=list)  # its hidden sheets

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


#: Encodings a user may name (wizard or ``--encoding``) -> the codec read with.
ENCODINGS = {
    "utf-8": "utf-8-sig",
    "utf8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "utf-16": "utf-16",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "iso-8859-1": "cp1252",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
}


def encoding_known(name: str) -> str:
    """The codec for an encoding a user named; ImportFileError for one retain does not read."""
    codec = ENCODINGS.get(name.strip().lower())
    if codec is None:
        raise ImportFileError(
            _("%(encoding)s is not an encoding retain reads; use one of: %(known)s")
            % {"encoding": name, "known": "utf-8, gbk, utf-16, latin-1"}
        )
    return codec


def open_table(
    path: Path,
    *,
    name: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
) -> Table:
    """Open ``path`` (CSV or XLSX). Raises ImportFileError for an empty or unreadable file.
    ``encoding`` (of a CSV) overrides the guess."""
    name = name or path.name
    if not path.exists() or path.stat().st_size == 0:
        raise ImportFileError(_("%(file)s is empty.") % {"file": name})
    if is_xlsx(path):
        return _open_xlsx(path, name=name, sheet=sheet)
    return _open_csv(path, name=name, encoding=encoding)


def _gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def encoding_doubt(head: bytes, encoding: str, name: str) -> str:
    """Why text read as GBK might be something else (Latin-1 from a European Excel), or "".

    Real Chinese text is nearly all common characters (GB2312); Latin-1 letters read as
    GBK become rare characters and private-use code points ("Grüße" -> "Gr\ue3eae")."""
    if encoding != "gb18030":
        return ""
    text = head.decode(encoding, errors="ignore")
    wide = [c for c in text if ord(c) > 127]
    rare = [c for c in wide if not _gb2312(c)]
    if not rare or len(rare) <= len(wide) // 20:
        return ""
    word = next(
        w for w in text.replace(",", " ").replace(";", " ").split() if any(c in rare for c in w)
    )
    raw = word.encode(encoding, errors="ignore")
    word = "".join("\ufffd" if unicodedata.category(c) == "Co" else c for c in word)
    return _(
        "%(file)s: the encoding is not clear-cut. Read as GBK, %(word)s; read as Latin-1, "
        "%(latin)s. Check the preview and confirm the encoding."
    ) % {"file": name, "word": word[:40], "latin": raw.decode("cp1252", errors="replace")[:40]}


def _open_csv(path: Path, *, name: str, encoding: str | None = None) -> Table:
    with path.open("rb") as sniff:
        head = sniff.read(SNIFF_BYTES)
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    # A NUL now and then is a bad cell (a row error); many of them are a binary file.
    nuls = head.count(b"\x00")
    if nuls > 1 and nuls > len(head) // 100 and not utf16:
        raise ImportFileError(
            _("%(file)s is not a CSV or XLSX file (it holds binary data).") % {"file": name}
        )
    doubt = ""
    if encoding:
        encoding = encoding_known(encoding)
    else:
        encoding = detect_encoding(head, name)
        doubt = encoding_doubt(head, encoding, name)
    text = head.decode(encoding, errors="ignore")
    first_line = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    # Old Mac Excel ends lines with CR alone: read those with universal newlines.
    cr_only = b"\r" in head and b"\n" not in head
    if encoding == "utf-16" or cr_only:
        fh: Any = path.open("r", encoding=encoding, newline=None if cr_only else "")
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
    newlines = max(head.count(b"\r" if cr_only else b"\n"), 1)
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

    table = Table(
        headers=headers,
        rows=rows(),
        encoding=encoding,
        total_hint=max(total_hint, 0),
        doubt=doubt,
    )
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


#: Limits checked before a workbook is read (docs/imports.md, "Formats"): an XLSX is a zip,
#: and a 1 MB file can expand to gigabytes (a zip bomb).
XLSX_MAX_UNCOMPRESSED = 1 * 2**30  # all parts together, as the zip declares them
XLSX_MAX_SHARED_STRINGS = 256 * 2**20  # openpyxl holds this part in memory
XLSX_MAX_CELLS = 30_000_000  # cells of the sheet read, counted before any row is imported

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _xlsx_guard(path: Path, name: str) -> None:
    """Refuse a workbook whose parts expand past the limits, before anything is parsed.
    (Python's zipfile never inflates a part past the size it declares.)"""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(
            _("%(file)s is not a readable XLSX workbook (%(error)s).")
            % {"file": name, "error": exc.__class__.__name__}
        ) from exc
    total = sum(i.file_size for i in infos)
    strings = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
    if total > XLSX_MAX_UNCOMPRESSED or strings > XLSX_MAX_SHARED_STRINGS:
        raise ImportFileError(
            _(
                "%(file)s expands to %(size)s MiB when unzipped; retain reads workbooks up to "
                "%(max)s MiB (text up to %(strings)s MiB). Save the data as CSV, or split it."
            )
            % {
                "file": name,
                "size": f"{total / 2**20:,.0f}",
                "max": f"{XLSX_MAX_UNCOMPRESSED // 2**20:,}",
                "strings": f"{XLSX_MAX_SHARED_STRINGS // 2**20:,}",
            }
        )


@dataclass
class SheetScan:
    """What the sheet's XML says beyond the values openpyxl reads (one streaming pass)."""

    cells: int = 0
    last_row: int = 0
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2
    uncached: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col): formula


def _sheet_scan(source: Any, name: str) -> SheetScan:
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

    scan = SheetScan()
    cell_tag, row_tag, merge_tag = f"{_NS}c", f"{_NS}row", f"{_NS}mergeCell"
    f_tag, v_tag = f"{_NS}f", f"{_NS}v"
    for _event, element in iterparse(source, events=("end",)):
        tag = element.tag
        if tag == cell_tag:
            scan.cells += 1
            formula = element.find(f_tag)
            if formula is not None:
                value = element.find(v_tag)
                if value is None or not (value.text or "").strip():
                    ref = element.get("r")
                    if ref:
                        scan.uncached[coordinate_to_tuple(ref)] = formula.text or ""
        elif tag == row_tag:
            scan.last_row = int(element.get("r") or scan.last_row + 1)
            element.clear()
            if scan.cells > XLSX_MAX_CELLS:
                raise ImportFileError(
                    _(
                        "%(file)s holds more than %(max)s cells; retain reads workbooks up to "
                        "that many. Save the data as CSV, or split it."
                    )
                    % {"file": name, "max": f"{XLSX_MAX_CELLS:,}"}
                )
        elif tag == merge_tag and element.get("ref"):
            c1, r1, c2, r2 = range_boundaries(element.get("ref"))
            scan.merged.append((r1, c1, r2, c2))
    return scan


def _open_xlsx(path: Path, *, name: str, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    _xlsx_guard(path, name)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken zip or XML
        raise ImportFileError(
            _("%(file)s is not a readable XLSX workbook (%(error)s).")
            % {"file": name, "error": exc.__class__.__name__}
        ) from exc
    visible = [ws.title for ws in book.worksheets if ws.sheet_state == "visible"]
    hidden = [ws.title for ws in book.worksheets if ws.sheet_state != "visible"]
    if sheet:
        if sheet not in book.sheetnames:
            book.close()
            raise ImportFileError(
                _("%(file)s has no sheet %(sheet)s; its sheets: %(sheets)s.")
                % {"file": name, "sheet": sheet, "sheets": ", ".join(book.sheetnames)}
            )
        ws = book[sheet]
    elif visible:
        ws = book[visible[0]]  # a hidden first sheet is a helper sheet, not the data
    else:
        ws = book.worksheets[0]
    try:
        with book._archive.open(ws._worksheet_path) as source:  # type: ignore[union-attr]
            scan = _sheet_scan(source, name)
    except ImportFileError:
        book.close()
        raise
    except Exception as exc:
        book.close()
        raise ImportFileError(
            _("%(file)s is not a readable XLSX workbook (%(error)s).")
            % {"file": name, "error": exc.__class__.__name__}
        ) from exc
    # The declared <dimension> may be stale (1 row of 100): read every row there is.
    ws.reset_dimensions()  # type: ignore[union-attr]
    merged = sorted(scan.merged)

    def filled(number: int, raw: tuple[Any, ...]) -> list[Any]:
        cells = list(raw)
        for r1, c1, r2, c2 in merged:
            if not r1 <= number <= r2:
                continue
            top = tops.get((r1, c1))
            if number == r1:
                top = tops[(r1, c1)] = cells[c1 - 1] if c1 <= len(cells) else None
            if len(cells) < c2:
                cells += [None] * (c2 - len(cells))
            for col in range(c1, c2 + 1):
                if (number, col) != (r1, c1):
                    cells[col - 1] = top  # a merged cell takes its top-left value
        for col, formula in uncached.get(number, {}).items():
            if len(cells) < col:
                cells += [None] * (col - len(cells))
            cells[col - 1] = V_uncached(formula)
        return cells

    tops: dict[tuple[int, int], Any] = {}
    uncached: dict[int, dict[int, str]] = {}
    for (row, col), formula in scan.uncached.items():
        uncached.setdefault(row, {})[col] = formula
    iterator = enumerate(ws.iter_rows(values_only=True), start=1)
    headers: list[str] | None = None
    for number, raw in iterator:
        cells = filled(number, raw)
        if cells and any(v not in (None, "") for v in cells):
            headers = ["" if v is None else str(v).strip() for v in cells]
            break
    if headers is None:
        book.close()
        raise ImportFileError(_("%(file)s is empty.") % {"file": name})
    while headers and not headers[-1]:
        headers.pop()
    header_row = number

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, raw in iterator:
                cells = filled(number, raw) if merged or uncached else list(raw)
                if not cells or all(
                    v is None or (isinstance(v, str) and not v.strip()) for v in cells
                ):
                    continue
                yield number, cells
        finally:
            book.close()

    table = Table(
        headers=headers,
        rows=rows(),
        encoding="xlsx",
        total_hint=max(scan.last_row - header_row, 0),
        sheet=ws.title,
        sheets=[*visible, *hidden],
        hidden=hidden,
    )
    table._close = book.close  # type: ignore[attr-defined]
    return table


@dataclass
class Sample:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    encoding: str
    doubt: str
    sheets: list[str]
    sheet: str
    hidden: list[str]


def sample(
    path: Path,
    *,
    name: str,
    limit: int = 20,
    encoding: str | None = None,
    sheet: str | None = None,
) -> Sample:
    """The header and the first ``limit`` rows, for the wizard's preview."""
    table = open_table(path, name=name, encoding=encoding, sheet=sheet)
    taken: list[tuple[int, list[Any]]] = []
    try:
        for item in table.rows:
            taken.append(item)
            if len(taken) >= limit:
                break
    finally:
        table.close()
    return Sample(
        table.headers, taken, table.encoding, table.doubt, table.sheets, table.sheet, table.hidden
    )


__all__ = ["MAX_CELL", "ImportFileError", "Table", "open_table", "sample"]
