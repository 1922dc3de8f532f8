"""Spreadsheet-safe cells (CSV injection, OWASP): the one rule for every file retain writes, the
engine's own outputs (``retain analyze``) and the app's exports (``retain.core.exports``)."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
