"""Cells to values: one parser per column (chosen once, not per cell), a row parsed against
the header, and a batch of rows checked for keys that appear twice in the file. No database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from retain.imports import values as V
from retain.imports.reading import MAX_CELL
from retain.imports.rows import ImportResult, Row
from retain.imports.schema import Field, Parse, choice_key

if TYPE_CHECKING:
    from retain.imports.kinds.base import Handler


def _too_long(raw: Any) -> None:
    if isinstance(raw, str) and len(raw) > MAX_CELL:
        raise V.CellError(
            _("the cell holds %(n)s characters; the most a cell may hold is %(max)s")
            % {"n": f"{len(raw):,}", "max": f"{MAX_CELL:,}"}
        )


#: Fields that identify a row: normalised (NFKC, no invisible characters) before matching.
KEY_FIELDS = frozenset({"code", "customer_code", "number"})


def cell_parser(f: Field, tz: dt.tzinfo) -> Callable[[Any], Any]:
    """A function that reads one cell of field ``f`` (chosen once per column, not per cell:
    the million-row import spends most of its time here). Every cell passes
    ``values.prepare`` first (NUL, reject-file apostrophe, invisible characters,
    placeholders such as 无 or N/A)."""
    parse = _cell_parser(f, tz)
    prepare = V.prepare
    if f.name in KEY_FIELDS:
        normalise = V.normalise_code

        def key(raw: Any) -> Any:
            value = parse(prepare(raw))
            return normalise(value) if isinstance(value, str) else value

        return key

    def prepared(raw: Any) -> Any:
        return parse(prepare(raw))

    return prepared


def _cell_parser(f: Field, tz: dt.tzinfo) -> Callable[[Any], Any]:
    kind = str(f.parse)
    if kind == Parse.TEXT:
        limit = f.max_length

        def text(raw: Any) -> str:
            _too_long(raw)
            value = raw.strip() if isinstance(raw, str) else V.clean_text(raw)
            if limit and len(value) > limit:
                raise V.CellError(
                    _("%(n)s characters is too long; the most is %(max)s")
                    % {"n": f"{len(value):,}", "max": f"{limit:,}"}
                )
            return value

        return text
    if kind == Parse.DATETIME:

        def moment(raw: Any) -> dt.datetime | None:
            _too_long(raw)
            value = V.parse_datetime_parts(raw)
            return None if value is None else value.replace(tzinfo=tz)

        return moment
    if kind == Parse.CHOICE:
        values = set(f.choices.values())
        known: dict[Any, str] = {"": "", None: ""}

        def choice(raw: Any) -> str:
            if raw in known:
                return known[raw]
            _too_long(raw)
            text = V.clean_text(raw)
            key = choice_key(text)
            if key in values or not text:
                found = key
            elif key in f.choices:
                found = f.choices[key]
            else:
                allowed = "、".join(dict.fromkeys([*f.choices, *sorted(values)]))
                raise V.CellError(
                    _("%(value)s is not one of: %(allowed)s")
                    % {"value": text[:40], "allowed": allowed}
                )
            if len(known) < 10_000:
                known[raw] = found
            return found

        return choice
    simple: dict[str, Callable[[Any], Any]] = {
        Parse.DATE: V.parse_date,
        Parse.AMOUNT: V.parse_amount,
        Parse.PHONE: V.parse_phone,
        Parse.EMAIL: V.parse_email,
        Parse.BOOL: V.parse_bool,
        Parse.NPS: lambda raw: V.parse_int(raw, low=0, high=10),
        Parse.SATISFACTION: lambda raw: V.parse_int(raw, low=1, high=5),
        Parse.POINTS: lambda raw: V.parse_int(raw, low=-10_000_000, high=10_000_000),
    }
    parse = simple[kind]

    def checked(raw: Any) -> Any:
        _too_long(raw)
        return parse(raw)

    return checked


Column = tuple[int, str, Field, Callable[[Any], Any]]


def row_parse(row: Row, columns: list[Column], width: int) -> None:
    cells = row.cells
    if len(cells) > width and any(
        c not in (None, "") and not (isinstance(c, str) and not c.strip()) for c in cells[width:]
    ):
        row.fail(
            "",
            _("the row has %(n)s values but the header only %(m)s columns")
            % {"n": len(cells), "m": width},
        )
    values = row.values
    for index, header, f, parse in columns:
        raw = cells[index] if index < len(cells) else None
        try:
            value = parse(raw)
        except V.CellError as exc:
            row.fail(header, str(exc))
            continue
        if f.required and (value is None or value == ""):
            row.fail(header, _("this field is required"))
        values[f.name] = value


def batch_parse(
    handler: Handler,
    batch: list[Row],
    columns: list[Column],
    width: int,
    seen: dict[tuple[Any, ...], int],
    key_label: str,
    result: ImportResult,
) -> None:
    result.rows += len(batch)
    for row in batch:
        row_parse(row, columns, width)
        if row.errors:
            continue
        key = handler.file_key(row)
        if key is not None:
            first = seen.setdefault(key, row.number)
            if first != row.number:
                row.fail(
                    key_label,
                    _("%(value)s appears more than once in this file (first on row %(first)s)")
                    % {"value": " / ".join(str(k) for k in key), "first": first},
                )
