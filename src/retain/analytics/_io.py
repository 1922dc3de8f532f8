"""Read an analyst's order file (csv / txt / parquet / xlsx) with errors that say what is wrong."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from retain.analytics._settings import OrderColumns

__all__ = ["InputError", "OrderFile", "expand_paths", "id_sorted", "read_orders"]

SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx")
_GLOB_CHARS = frozenset("*?[")


class InputError(ValueError):
    """The order file cannot be analysed; the message names the file, column and row."""


@dataclass(frozen=True, slots=True)
class OrderFile:
    """Orders read from a file: an Ibis table with the standard column names.

    ``frame`` holds the orders in the driver's memory when they were read there (DuckDB and
    other in-process backends); on Spark the executors read the files and ``frame`` is None.
    ``first_day`` and ``last_day`` are the dates of the first and last usable order.
    """

    table: ir.Table
    frame: pd.DataFrame | None
    columns: OrderColumns
    rows: int
    skipped_rows: int
    first_day: dt.date
    last_day: dt.date


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


def expand_paths(path: str | Path) -> list[Path]:
    """The order files named by ``path``: a file, a folder of parts, or a glob.

    A folder gives its files with a supported suffix, a glob such as ``orders/*.parquet`` its
    matches; hidden files and Spark's ``_SUCCESS`` markers are skipped in both. Sorted by name,
    so the rows come in the same order on every run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for n in ("b.csv", "a.csv", "_SUCCESS", ".x.csv"): _ = (d / n).write_text("")
    >>> [p.name for p in expand_paths(d)], [p.name for p in expand_paths(d / "*.csv")]
    (['a.csv', 'b.csv'], ['a.csv', 'b.csv'])
    """
    path = Path(path)
    if _GLOB_CHARS & set(str(path)):
        anchor = Path(path.anchor) if path.is_absolute() else Path()
        pattern = str(path.relative_to(anchor)) if path.is_absolute() else str(path)
        found = sorted(
            p for p in anchor.glob(pattern) if p.is_file() and not p.name.startswith((".", "_"))
        )
        if not found:
            raise InputError(f"{path}: no file matches this pattern")
        return found
    if path.is_dir():
        found = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith((".", "_")) and p.suffix.lower() in SUFFIXES
        )
        if not found:
            raise InputError(f"{path}: the folder has no {', '.join(SUFFIXES)} file")
        return found
    if not path.exists():
        raise InputError(f"{path}: file not found")
    return [path]


def _row_hint(path: Path, index: int) -> str:
    # data rows are numbered from 1; in text files the header is line 1
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return f"row {index + 1} (line {index + 2})"
    if path.suffix.lower() == ".xlsx":
        return f"row {index + 1} (spreadsheet row {index + 2})"
    return f"row {index + 1}"


def _parse_dates(values: pd.Series, fmt: str | None) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):  # e.g. Parquet from PostgreSQL: UTC times
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
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
    backend: ibis.BaseBackend | None = None,
) -> OrderFile:
    """Read orders from csv / tsv / txt (whitespace-separated) / parquet / xlsx.

    ``path`` may also be a folder of parts or a glob (see :func:`expand_paths`); every part is
    checked on its own, so an error names the part and its row. The table is put in ``backend``
    (a view on Spark) or, by default, in a new in-memory DuckDB.

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
    paths = expand_paths(path)
    if backend is not None and backend.name == "pyspark" and _spark_reads(paths, delimiter):
        return _read_on_spark(
            Path(path),
            paths,
            backend,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            status_col=status_col,
            channel_col=channel_col,
            category_col=category_col,
            date_format=date_format,
            delimiter=delimiter,
        )
    parts: list[pd.DataFrame] = []
    skipped = 0
    for part in paths:
        cleaned, dropped = _clean(
            part,
            _read_frame(part, delimiter, sheet),
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            status_col=status_col,
            channel_col=channel_col,
            category_col=category_col,
            date_format=date_format,
        )
        parts.append(cleaned)
        skipped += dropped
    out = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if out.empty:
        raise InputError(f"{Path(path).name}: no usable orders (every row lacks a customer id)")
    # ids stay text as read ("0001" stays "0001"): never re-typed (see id_sorted for order)
    out = out.reset_index(drop=True)
    if backend is None:
        table = ibis.duckdb.connect().create_table("orders", out)
    elif backend.name == "pyspark":
        # text columns as plain objects with None: Spark cannot take pandas' NA (it would
        # arrive as an unpickled object instead of a null)
        plain = out.astype({c: object for c in out.columns if out[c].dtype == "string"})
        plain = plain.where(out.notna(), None)
        table = backend.create_view("retain_orders", ibis.memtable(plain), overwrite=True)  # type: ignore[attr-defined]
    else:
        table = backend.create_table("retain_orders", out, overwrite=True)  # type: ignore[attr-defined]
    columns = _order_columns(status_col, channel_col, category_col)
    days = out["timestamp"]
    return OrderFile(table, out, columns, len(out), skipped, days.min().date(), days.max().date())


def _order_columns(
    status_col: str | None, channel_col: str | None, category_col: str | None
) -> OrderColumns:
    return OrderColumns(
        status="status" if status_col is not None else None,
        channel="channel" if channel_col is not None else None,
        category="category" if category_col is not None else None,
    )


# -- Spark: the executors read the files ---------------------------------------------------------
#: strptime directives and the Spark datetime pattern letters they stand for
_JAVA_PATTERN = {"Y": "yyyy", "y": "yy", "m": "MM", "d": "dd", "H": "HH", "I": "hh", "M": "mm",
                 "S": "ss", "f": "SSSSSS", "p": "a", "b": "MMM", "B": "MMMM", "z": "Z", "%": "%"}  # fmt: skip


def java_pattern(fmt: str) -> str:
    """A strptime format (``--date-format``) as a Spark datetime pattern.

    Examples
    --------
    >>> java_pattern("%d/%m/%Y %H:%M")
    'dd/MM/yyyy HH:mm'
    """
    out: list[str] = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%" and i + 1 < len(fmt):
            directive = fmt[i + 1]
            if directive not in _JAVA_PATTERN:
                raise InputError(f"--date-format {fmt!r}: %{directive} is not supported on Spark")
            out.append(_JAVA_PATTERN[directive])
            i += 2
            continue
        # literal text: letters are quoted, as Spark's patterns reserve them
        out.append(f"'{char}'" if char.isalpha() else char)
        i += 1
    return "".join(out)


def _spark_reads(paths: list[Path], delimiter: str | None) -> bool:
    """Whether Spark's own readers take these files: Parquet, or CSV / TSV with a one-character
    separator. Spreadsheets and whitespace-separated text are read on the driver as before
    (they are small by nature: no data lake keeps its orders in .xlsx)."""
    suffixes = {p.suffix.lower() for p in paths}
    if suffixes == {".parquet"}:
        return True
    if not suffixes <= {".csv", ".tsv", ".txt"}:
        return False
    sep = _text_separator(suffixes.pop() if len(suffixes) == 1 else ".csv", delimiter)
    return sep is not None


def _text_separator(suffix: str, delimiter: str | None) -> str | None:
    if delimiter is None:
        return {".csv": ",", ".tsv": "\t"}.get(suffix)
    if delimiter == "whitespace" or len(delimiter) != 1:
        return None
    return delimiter


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _read_on_spark(
    source: Path,
    paths: list[Path],
    backend: ibis.BaseBackend,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    status_col: str | None,
    channel_col: str | None,
    category_col: str | None,
    date_format: str | None,
    delimiter: str | None,
) -> OrderFile:
    """The orders as a Spark view read by the executors: no order passes through the driver.

    The same rules as the driver's reader: text ids kept as text, dates parsed (8 digits as
    YYYYMMDD), amounts with thousands separators and currency signs read, rows without a
    customer id, date or amount skipped and counted; a bad date or amount is an
    :class:`InputError` naming the part, the column, the value and the count of such rows.
    """
    from pyspark.sql import functions as F

    session: Any = backend._session  # type: ignore[attr-defined]
    names = [str(p) for p in paths]
    suffixes = {p.suffix.lower() for p in paths}
    if len(suffixes) > 1:
        raise InputError(f"{source}: mixes {', '.join(sorted(suffixes))} files; use one type")
    try:
        if suffixes == {".parquet"}:
            raw = session.read.parquet(*names)
        else:
            sep = _text_separator(suffixes.pop(), delimiter)
            raw = session.read.csv(
                names, header=True, sep=sep, inferSchema=False, ignoreLeadingWhiteSpace=True
            )
    except Exception as exc:  # Spark's AnalysisException and friends: say which files
        raise InputError(f"{source}: Spark cannot read the files: {exc}") from exc
    raw = raw.toDF(*[str(c).strip() for c in raw.columns]).withColumn(
        "_retain_part", F.input_file_name()
    )
    wanted = {"--customer-col": customer_col, "--date-col": date_col, "--amount-col": amount_col}
    for option, name in (
        ("--status-col", status_col),
        ("--channel-col", channel_col),
        ("--category-col", category_col),
    ):
        if name is not None:
            wanted[option] = name
    columns = [c for c in raw.columns if c != "_retain_part"]
    for option, name in wanted.items():
        if name not in columns:
            raise InputError(
                f"{source.name}: no column {name!r} (given by {option}); "
                f"the columns are: {', '.join(columns)}"
            )
    types = dict(raw.dtypes)
    customer = F.trim(F.col(_quoted(customer_col)).cast("string"))
    date_raw = F.col(_quoted(date_col))
    if types[date_col] in ("timestamp", "timestamp_ntz", "date"):
        parsed = date_raw.cast("timestamp")
    else:
        text = F.trim(date_raw.cast("string"))
        if date_format is not None:
            parsed = F.try_to_timestamp(text, F.lit(java_pattern(date_format)))
        else:
            parsed = F.when(
                text.rlike(r"^\d{8}$"), F.try_to_timestamp(text, F.lit("yyyyMMdd"))
            ).otherwise(F.expr(f"try_cast(trim({_quoted(date_col)}) AS timestamp)"))
    amount_raw = F.col(_quoted(amount_col))
    if types[amount_col] in ("string", "binary"):
        amount_text = F.regexp_replace(F.trim(amount_raw), r"[,\s]", "")
        amount_text = F.regexp_replace(amount_text, r"^[$€£¥]|^(CNY|RMB|USD|EUR)", "")
        amount = F.expr("try_cast(_retain_amount_text AS double)")
        staged = raw.withColumn("_retain_amount_text", amount_text)
    else:
        amount = amount_raw.cast("double")
        staged = raw
    extras = []
    if status_col is not None:
        extras.append(
            F.coalesce(F.col(_quoted(status_col)).cast("string"), F.lit("")).alias("status")
        )
    for target, name in (("channel", channel_col), ("category", category_col)):
        if name is not None:
            trimmed = F.trim(F.col(_quoted(name)).cast("string"))
            extras.append(F.when(trimmed != "", trimmed).alias(target))
    staged = staged.select(
        "_retain_part",
        customer.alias("customer_id"),
        parsed.alias("timestamp"),
        amount.alias("amount"),
        date_raw.cast("string").alias("_retain_date_raw"),
        amount_raw.cast("string").alias("_retain_amount_raw"),
        *extras,
    )
    bad_date = F.col("timestamp").isNull() & F.col("_retain_date_raw").isNotNull()
    bad_amount = F.col("amount").isNull() & F.col("_retain_amount_raw").isNotNull()
    usable = (
        F.col("customer_id").isNotNull()
        & (F.col("customer_id") != "")
        & F.col("timestamp").isNotNull()
        & F.col("amount").isNotNull()
    )
    # one pass over the files for every check and the date range
    stats = staged.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum(bad_date.cast("long")).alias("bad_date"),
        F.sum(bad_amount.cast("long")).alias("bad_amount"),
        F.sum(usable.cast("long")).alias("usable"),
        F.min(F.when(usable, F.col("timestamp"))).alias("first"),
        F.max(F.when(usable, F.col("timestamp"))).alias("last"),
    ).first()
    if not stats["rows"]:
        raise InputError(f"{source.name}: no orders (the files have a header but no rows)")
    for count, mask, column, raw_name, what in (
        (stats["bad_date"], bad_date, date_col, "_retain_date_raw", "cannot parse the date"),
        (stats["bad_amount"], bad_amount, amount_col, "_retain_amount_raw", "cannot read the amount"),
    ):  # fmt: skip
        if count:
            first = staged.where(mask).select("_retain_part", raw_name).first()
            part = Path(re.sub(r"^file:(//)?", "", first["_retain_part"])).name
            hint = " (try --date-format, e.g. %d/%m/%Y)" if column == date_col else ""
            raise InputError(
                f"{part}: {what} {first[raw_name]!r} in column {column!r}; "
                f"{int(count)} such row(s) in {source.name}{hint}"
            )
    if not stats["usable"]:
        raise InputError(f"{source.name}: no usable orders (every row lacks a customer id)")
    keep = ["customer_id", "timestamp", "amount"] + [
        c for c in ("status", "channel", "category") if c in staged.columns
    ]
    # kept by the executors (memory, then their disks) for the engine's several passes
    orders = staged.where(usable).select(*keep).persist()
    orders.createOrReplaceTempView("retain_orders")
    table = backend.table("retain_orders")
    return OrderFile(
        table,
        None,
        _order_columns(status_col, channel_col, category_col),
        int(stats["usable"]),
        int(stats["rows"]) - int(stats["usable"]),
        stats["first"].date(),
        stats["last"].date(),
    )


def _clean(
    path: Path,
    frame: pd.DataFrame,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    status_col: str | None,
    channel_col: str | None,
    category_col: str | None,
    date_format: str | None,
) -> tuple[pd.DataFrame, int]:
    """One file's orders with the standard column names, and the count of rows skipped."""
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
    return out, int((~usable).sum())


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
