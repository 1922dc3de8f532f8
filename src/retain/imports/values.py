"""Turn spreadsheet cells into Python values, or say in plain words why not.

Each parser takes the raw cell (text from a CSV, or whatever openpyxl read) and returns
the value or raises ``CellError`` with a translated reason.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

# Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in).
EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serial numbers of 1950-01-01 .. 2100-01-01: anything else in a date column is no date.
EXCEL_SERIAL_RANGE = (18264, 73051)

_DATE_RE = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[ T]+(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2})(?:\.\d+)?)?)?$"
)
_COMPACT_RE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_AMOUNT_STRIP = re.compile(r"[¥￥,\s]|RMB|CNY|元")


class CellError(ValueError):
    """A cell that cannot be read; the message says why, in the user's language."""


#: Cells that mean "nothing here" (compared after NFKC, trimmed, lower case): stored as
#: empty, never as a contact called 无 or a source called N/A. docs/imports.md lists them.
PLACEHOLDERS = frozenset(
    {
        "无",
        "暂无",
        "没有",
        "空",
        "n/a",
        "na",
        "n.a.",
        "#n/a",
        "none",
        "null",
        "nil",
        "-",
        "--",
        "---",
        "—",
        "——",
        "/",
        "\\",
        "?",
        "？",
    }
)
# Zero-width and other invisible format characters (Unicode category Cf) that a copy from
# a web page or a chat leaves in a cell: "C2024\u200b001" is the code C2024001.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# What retain's own CSV exports put before a cell a spreadsheet would run (core.exports).
_SAFETY_PREFIX = re.compile("^'(?=[=+\\-@\t\r])")


class Uncached:
    """A formula cell whose workbook holds no computed value (saved by a tool that does not
    calculate): a row error, never a silent blank."""

    __slots__ = ("formula",)

    def __init__(self, formula: str) -> None:
        self.formula = formula

    def __str__(self) -> str:
        return "=" + self.formula

    def __repr__(self) -> str:
        return f"Uncached({self.formula!r})"


def prepare(raw: Any) -> Any:
    """A raw cell as every parser should see it: a NUL character is an error (PostgreSQL
    cannot store one), the apostrophe retain's reject file put before ``+86…`` or ``=…`` is
    dropped, invisible characters are removed, and a placeholder such as 无 or N/A is empty."""
    if not isinstance(raw, str):
        if isinstance(raw, Uncached):
            raise CellError(
                _(
                    "the cell holds the formula =%(formula)s but no computed value; open the "
                    "file in Excel and save it, or paste the values"
                )
                % {"formula": raw.formula[:60]}
            )
        return raw
    if "\x00" in raw:
        raise CellError(_("the cell holds a NUL character (byte 0), which cannot be stored"))
    text = _SAFETY_PREFIX.sub("", raw) if raw.startswith("'") else raw
    if text.isascii():  # the common case, kept cheap: a million-row file passes here
        key = text.strip().lower() if len(text) <= 8 else ""
    else:
        text = _INVISIBLE.sub("", text)
        key = unicodedata.normalize("NFKC", text).strip().lower() if len(text) <= 8 else ""
    return None if key in PLACEHOLDERS else text


def normalise_code(text: str) -> str:
    """A customer code or order number as it is matched: NFKC (full-width Ｃ２０２４ → C2024),
    invisible characters removed, trimmed."""
    if text.isascii():  # NFKC changes no ASCII, and no invisible character is ASCII
        return text.strip()
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).strip()


def clean_text(raw: Any) -> str:
    """Text of a cell: NFKC (full-width digits and letters to ASCII), trimmed."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return unicodedata.normalize("NFKC", str(raw)).strip()


def parse_date(raw: Any) -> dt.date | None:
    value = parse_datetime_parts(raw)
    return None if value is None else value.date()


def parse_datetime_parts(raw: Any) -> dt.datetime | None:
    """A naive datetime from 2024-01-15, 2024/1/15, 2024年1月15日, 20240115, an Excel
    serial number (45306) or a date/datetime openpyxl read; None for an empty cell."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.replace(tzinfo=None)
    if isinstance(raw, dt.date):
        return dt.datetime.combine(raw, dt.time.min)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return _from_serial(float(raw), raw)
    text = clean_text(raw)
    if not text:
        return None
    match = _DATE_RE.match(text) or _COMPACT_RE.match(text)
    if match:
        parts = match.groupdict()
        try:
            return dt.datetime(
                int(parts["y"]),
                int(parts["m"]),
                int(parts["d"]),
                int(parts.get("H") or 0),
                int(parts.get("M") or 0),
                int(parts.get("S") or 0),
            )
        except ValueError as exc:
            raise CellError(_("%(value)s is not a real date") % {"value": text}) from exc
    try:
        return _from_serial(float(text), text)
    except ValueError:
        pass
    raise CellError(
        _("%(value)s is not a date; use a form like 2024-01-15, 2024/1/15 or 2024年1月15日")
        % {"value": text[:40]}
    )


def _from_serial(serial: float, raw: Any) -> dt.datetime:
    low, high = EXCEL_SERIAL_RANGE
    if not low <= serial <= high:
        raise CellError(_("%(value)s is not a date") % {"value": raw})
    moment = dt.datetime.combine(EXCEL_EPOCH, dt.time.min) + dt.timedelta(days=serial)
    return moment.replace(microsecond=0)


def parse_amount(raw: Any) -> Decimal | None:
    """¥12,345.60, ￥１２３４５, 12345 元 → Decimal('12345.60'); None when empty."""
    if raw is None:
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return Decimal(str(raw)).quantize(Decimal("0.01"))
    text = clean_text(raw)
    if not text:
        return None
    stripped = _AMOUNT_STRIP.sub("", text.upper().replace("¥", "¥"))
    try:
        value = Decimal(stripped)
    except InvalidOperation as exc:
        raise CellError(_("%(value)s is not an amount") % {"value": text[:40]}) from exc
    if not value.is_finite():
        raise CellError(_("%(value)s is not an amount") % {"value": text[:40]})
    if value < 0:
        raise CellError(_("an amount cannot be negative (%(value)s)") % {"value": text[:40]})
    if abs(value) >= Decimal(10) ** 12:
        raise CellError(_("%(value)s is too large for an amount") % {"value": text[:40]})
    return value.quantize(Decimal("0.01"))


def parse_int(raw: Any, *, low: int, high: int) -> int | None:
    text = clean_text(raw)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError as exc:
        raise CellError(_("%(value)s is not a number") % {"value": text[:40]}) from exc
    if not number.is_integer() or not low <= number <= high:
        raise CellError(
            _("%(value)s must be a whole number from %(low)s to %(high)s")
            % {"value": text[:40], "low": low, "high": high}
        )
    return int(number)


def normalise_phone(raw: Any) -> str:
    """Digits only, with the +86 / 0086 country code dropped: "+86 138-0013-8000" →
    "13800138000". Empty for an empty cell."""
    digits = re.sub(r"\D", "", clean_text(raw))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def parse_phone(raw: Any) -> str:
    text = clean_text(raw)
    if not text:
        return ""
    if re.search(r"[^\d\s+\-()（）]", text):
        raise CellError(_("%(value)s is not a phone number") % {"value": text[:40]})
    digits = normalise_phone(text)
    mobile = len(digits) == 11 and digits.startswith("1")
    landline = digits.startswith("0") and 10 <= len(digits) <= 12
    if not (mobile or landline or 7 <= len(digits) <= 8):
        raise CellError(
            _("%(value)s is not a phone number (a mobile has 11 digits starting with 1)")
            % {"value": text[:40]}
        )
    return digits if mobile else text


def parse_email(raw: Any) -> str:
    text = clean_text(raw)
    if not text:
        return ""
    if not _EMAIL_RE.match(text) or len(text) > 254:
        raise CellError(_("%(value)s is not an email address") % {"value": text[:60]})
    local, _at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_bool(raw: Any) -> bool | None:
    text = clean_text(raw).lower()
    if not text:
        return None
    if text in {"是", "y", "yes", "true", "1", "主要", "√", "✓"}:
        return True
    if text in {"否", "n", "no", "false", "0"}:
        return False
    raise CellError(_("%(value)s is not yes or no (是/否)") % {"value": text[:40]})
