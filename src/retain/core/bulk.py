"""Bulk insert of plain rows: COPY on PostgreSQL, ``executemany`` on SQLite.

Used by the demo generator and by imports; both write many rows in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from django.core.management.color import no_style
from django.db import connection, models
from django.db.models.fields import AutoFieldMixin


class BulkWriter:
    """Bulk insert of plain rows into one table: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.postgres = connection.vendor == "postgresql"

    def ts(self, seconds: np.ndarray) -> list[str]:
        """UTC epoch seconds to the text each database parses as a timestamp."""
        text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
        text = np.char.replace(text, "T", " ")
        if self.postgres:
            text = np.char.add(text, "+00")
        return text.tolist()

    def insert(
        self, model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        table = model._meta.db_table
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        count = 0
        with connection.cursor() as cursor:
            if self.postgres:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
            else:
                rows = list(rows)
                marks = ", ".join("?" for _ in columns)
                connection.connection.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})", rows
                )
                count = len(rows)
        return count


def next_id(model: type[models.Model]) -> int:
    last = model._default_manager.aggregate(m=models.Max("id"))["m"]
    return (last or 0) + 1


def reset_sequences(models_: Sequence[type[models.Model]]) -> None:
    """Move PostgreSQL's id sequences past rows inserted with explicit ids."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


#: Fields whose Python value the database driver takes as it is (no conversion by Django).
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.FloatField,
    models.BooleanField,
    models.DateField,  # and DateTimeField (aware datetimes)
    models.ForeignKey,
)


def objects_insert(objs: Sequence[models.Model], *, batch_size: int = 500) -> int:
    """Insert unsaved model instances of one model: COPY on PostgreSQL, ``bulk_create``
    elsewhere. Ids are not set on the instances; no ``pre_save`` (no ``auto_now`` fields).

    On PostgreSQL about ten times faster than ``bulk_create`` for wide rows (one COPY stream
    instead of an INSERT with thousands of parameters per batch)."""
    if not objs:
        return 0
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=batch_size)
        return len(objs)
    # every column but an automatic id (a one-to-one primary key, e.g. the customer, stays)
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)]
    plain = [isinstance(f, _PLAIN_FIELDS) for f in fields]
    names = [f.attname for f in fields]

    def row(obj: models.Model) -> list[Any]:
        return [
            getattr(obj, name) if simple else f.get_db_prep_save(getattr(obj, name), connection)
            for f, name, simple in zip(fields, names, plain, strict=True)
        ]

    columns = [str(f.column) for f in fields]
    return BulkWriter().insert(model, columns, (row(o) for o in objs))


def frame_insert(
    model: type[models.Model], frame: pd.DataFrame, *, batch_size: int = 50_000
) -> int:
    """Insert the rows of ``frame``, whose columns are named as the table's columns, without
    a Python object per row: COPY of CSV text (written by pandas) on PostgreSQL,
    ``executemany`` of column-built tuples on SQLite, ``batch_size`` rows at a time.

    Values as the database takes them: text ("" for empty text), nullable integers
    (``Int64``), floats, dates as ``YYYY-MM-DD`` text, JSON as its text; NaN / NA is NULL.
    """
    if frame.empty:
        return 0
    table = model._meta.db_table
    columns = [str(c) for c in frame.columns]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    by_column = {f.column: f for f in model._meta.concrete_fields}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # an unquoted empty field is NULL in CSV: text columns that may not be NULL read
            # it as "" instead
            text = [
                connection.ops.quote_name(c)
                for c in columns
                if isinstance(by_column[c], models.CharField | models.TextField)
                and not by_column[c].null
            ]
            options = "FORMAT csv" + (f", FORCE_NOT_NULL ({', '.join(text)})" if text else "")
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH ({options})") as copy:
                for at in range(0, len(frame), batch_size):
                    copy.write(frame.iloc[at : at + batch_size].to_csv(index=False, header=False))
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            for at in range(0, len(frame), batch_size):
                part = frame.iloc[at : at + batch_size]
                values = [_plain_values(part[c]) for c in columns]
                connection.connection.executemany(sql, list(zip(*values, strict=True)))
    return len(frame)


def _plain_values(column: pd.Series) -> list[Any]:
    """A column as Python values the sqlite3 driver takes (int, float, str), NA as None."""
    values = column.tolist()  # Python scalars, also for nullable integers
    if column.hasnans:
        mask = column.isna().to_numpy()
        return [None if missing else v for v, missing in zip(values, mask, strict=True)]
    return values


def analyze(*models: type[models.Model]) -> None:
    """Refresh the query planner's statistics of ``models``' tables (all tables when none is
    given) after a bulk write, on PostgreSQL; nothing elsewhere.

    Autovacuum would do it later, or never where it is off. Until then the planner takes a
    table rewritten by a scoring run or a bulk load for its old size: at 100k customers it
    chose plans five times slower for the customer list (204 rows guessed, 64,896 read).
    ANALYZE reads a sample, about a second for the scores of 100k customers."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}".strip())
