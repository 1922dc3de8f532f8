"""The rows of an import as the pipeline carries them, and what an import returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

Progress = Callable[[int, int | None], None]  # (rows read, rows expected)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = _("row %(row)s") % {"row": self.row}
        if self.column:
            where += f", {self.column}"
        return f"{where}: {self.message}"


@dataclass
class ImportResult:
    kind: str
    file: str
    encoding: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    committed: bool = False
    #: Rows without a customer code matched to a customer by name and phone or email.
    matched_by_name: int = 0
    errors: list[RowError] = field(default_factory=list)
    reject_path: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.committed


@dataclass
class Row:
    number: int
    cells: list[Any]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))
