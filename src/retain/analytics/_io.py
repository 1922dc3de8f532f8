"""Read an analyst's order file (csv / txt / parquet / xlsx) with errors that say what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from retain.analytics._settings import OrderColumns

__all__ = ["InputError", "OrderFile", "id_sorted", "read_orders"]

SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx")


class InputError(ValueError):
    """The order file cannot be analysed; the message names the file, column and row."""


@dataclass(frozen=True, slots=True)
class OrderFile:
    """Orders read from a file: a DuckDB-backed Ibis table with the standard column names."""

    table: ir.Table
    frame: pd.DataFrame
    columns: OrderColumns
    rows: int
    skipped_rows: int


def _read_frame(path: Path, delimiter: str | None, sheet: str | None) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{path.name}: unsupported file type {suffix!r}; use one of {SUFFIXES}")
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".xlsx":
            return pd.read_excel(path, sheet_name=sheet or 0, dtype=str, engine="openpyxl")
        sep = delimiter
        if sep is None:
            sep = {".csv": ",", ".tsv": "\t", ".txt": r"\s+"}[suffix]
        elif sep == "whitespace":
            sep = r"\s+"
        return pd.read_csv(path, sep=sep, dtype=str, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found") from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path.name}: the file is empty (no header, no orders)") from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"{path.name}: cannot read the file: {exc}") from exc


def _row_hint(path: Path, index: int) -> str:
    # data rows are numbered from 1; in text files the header is line 1
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return f"row {index + 1} (line {index + 2})"
    if path.suffix.lower() == ".xlsx":
        return f"row {index + 1} (spreadsheet row {index + 2})"
    return f"row {index + 1}"


def _parse_dates(values: pd.Series, fmt: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("string").str.strip()
    if fmt is None and text.dropna().str.fullmatch(r"\d{8}").all():
        fmt = "%Y%m%d"  # 19970101: a common export format (and CDNOW's)
    if fmt is None:
        return pd.to_datetime(text, errors="coerce", format="mixed")
    return pd.to_datetime(text, errors="coerce", format=fmt)


def _parse_amounts(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(np.float64)
    text = values.astype("string").str.strip().str.replace(r"[,\s]", "", regex=True)
    text = text.str.replace(r"^[$€£¥]|^(CNY|RMB|USD|EUR)", "", regex=True)
    return pd.to_numeric(text, errors="coerce")


def read_orders(
    path: str | Path,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    status_col: str | None = None,
    channel_col: str | None = None,
    category_col: str | None = None,
    date_format: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> OrderFile:
    """Read orders from csv / tsv / txt (whitespace-separated) / parquet / xlsx.

    Customer ids are kept exactly as read: text files and spreadsheets give text ids (``0001``
    stays ``0001``), a parquet file keeps its column's type. Every row needs a customer id, a parseable date and a numeric amount; otherwise
    :class:`InputError` names the file, the column and the first bad row. Negative amounts are
    refunds; zero amounts free orders. Dates given as 8 digits (19970101) are read as YYYYMMDD.
    The optional channel and category columns are read as text (blank = null) and named
    ``channel`` and ``category`` in the table and in :attr:`OrderFile.columns`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "o.csv"
    >>> _ = p.write_text("cust,day,value\\nA,2024-01-02,10\\nB,2024-01-03,-2.5\\n")
    >>> read_orders(p, customer_col="cust", date_col="day", amount_col="value").rows
    2
    """
    path = Path(path)
    frame = _read_frame(path, delimiter, sheet)
    frame.columns = [str(c).strip() for c in frame.columns]
    wanted = {
        "--customer-col": customer_col,
        "--date-col": date_col,
        "--amount-col": amount_col,
    }
    for option, name in (
        ("--status-col", status_col),
        ("--channel-col", channel_col),
        ("--category-col", category_col),
    ):
        if name is not None:
            wanted[option] = name
    for option, name in wanted.items():
        if name not in frame.columns:
            raise InputError(
                f"{path.name}: no column {name!r} (given by {option}); "
                f"the columns are: {', '.join(frame.columns)}"
            )
    if frame.empty:
        raise InputError(f"{path.name}: no orders (the file has a header but no rows)")

    customer = frame[customer_col]
    missing_id = customer.isna() | (customer.astype("string").str.strip() == "")
    dates = _parse_dates(frame[date_col], date_format)
    bad_date = dates.isna() & frame[date_col].notna()
    amounts = _parse_amounts(frame[amount_col])
    bad_amount = amounts.isna() & frame[amount_col].notna()
    for mask, column, what in (
        (bad_date, date_col, "cannot parse the date"),
        (bad_amount, amount_col, "cannot read the amount"),
    ):
        if mask.any():
            first = int(np.flatnonzero(mask.to_numpy())[0])
            hint = " (try --date-format, e.g. %d/%m/%Y)" if column == date_col else ""
            raise InputError(
                f"{path.name}: {what} {frame[column].iloc[first]!r} in column {column!r} at "
                f"{_row_hint(path, first)}; {int(mask.sum())} such row(s){hint}"
            )
    # rows without a customer, date or amount cannot be placed: skipped and counted
    usable = ~missing_id & dates.notna() & amounts.notna()
    out = pd.DataFrame(
        {
            "customer_id": customer.astype("string").str.strip()[usable].astype(str),
            "timestamp": dates[usable].astype("datetime64[us]"),
            "amount": amounts[usable].astype(np.float64),
        }
    )
    if status_col is not None:
        out["status"] = frame.loc[usable, status_col].astype("string").fillna("").astype(str)
    for target, name in (("channel", channel_col), ("category", category_col)):
        if name is not None:
            text = frame.loc[usable, name].astype("string").str.strip()
            out[target] = text.mask(text == "")
    if out.empty:
        raise InputError(f"{path.name}: no usable orders (every row lacks a customer id)")
    # ids stay text as read ("0001" stays "0001"): never re-typed (see id_sorted for order)
    out = out.reset_index(drop=True)
    con = ibis.duckdb.connect()
    table = con.create_table("orders", out)
    columns = OrderColumns(
        status="status" if status_col is not None else None,
        channel="channel" if channel_col is not None else None,
        category="category" if category_col is not None else None,
    )
    return OrderFile(table, out, columns, len(out), int((~usable).sum()))


def id_sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by ``customer_id``: numerically when every id is a whole number.

    Text ids such as ``"0001"`` and ``"10"`` keep their text; only the order is numeric, so
    ``"2"`` comes before ``"10"`` and ``"0001"`` before ``"2"``.

    Examples
    --------
    >>> id_sorted(pd.DataFrame({"customer_id": ["10", "0001", "2"]}))["customer_id"].tolist()
    ['0001', '2', '10']
    """
    ids = frame["customer_id"]
    if ids.dtype == object or pd.api.types.is_string_dtype(ids):
        text = ids.astype("string")
        if bool(text.str.fullmatch(r"-?\d{1,18}").fillna(False).all()):
            numbers = text.astype("int64").to_numpy()
            order = np.lexsort((text.to_numpy(dtype=object).astype(str), numbers))
            return frame.iloc[order].reset_index(drop=True)
    return frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
