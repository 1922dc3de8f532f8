"""The reject file: the rows an import refused, as the user sent them, with the reasons."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from retain.core.exports import safe_row
from retain.imports import values as V
from retain.imports.rows import Row

ERROR_COLUMN = "错误原因 / Errors"


class RejectSink:
    """Rejected rows go straight to the reject file as they are found, so a file of a
    million bad rows is never held in memory: the cells as the user sent them plus a
    column that says what is wrong, UTF-8 CSV with a BOM, cells neutralised against CSV
    injection."""

    def __init__(self, path: Path | None, headers: list[str]) -> None:
        self.path = path
        self.headers = headers
        self.count = 0
        self._fh: Any = None
        self._writer: Any = None

    def __bool__(self) -> bool:
        return self.count > 0

    def reset(self) -> None:
        """Start again (the apply step is retried when the database was locked)."""
        self.close()
        self._writer = None
        self.count = 0

    def add(self, row: Row) -> None:
        self.count += 1
        if self.path is None:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(safe_row([*self.headers, ERROR_COLUMN]))
        width = len(self.headers)
        cells = ["" if c is None else _cell_text(c) for c in row.cells[:width]]
        cells += [""] * (width - len(cells))
        errors = "; ".join(
            (f"{e.column}: {e.message}" if e.column else e.message) for e in row.errors
        )
        line = _("row %(row)s") % {"row": row.number} + ": " + errors
        self._writer.writerow(safe_row([*cells, line]))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _cell_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(" ") if value.time() != dt.time.min else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, V.Uncached):
        return str(value)
    return value
