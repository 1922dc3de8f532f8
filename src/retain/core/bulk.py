"""Bulk insert of plain rows: COPY on PostgreSQL, ``executemany`` on SQLite.

Used by the demo generator and by imports; both write many rows in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.core.management.color import no_style
from django.db import connection, models


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
