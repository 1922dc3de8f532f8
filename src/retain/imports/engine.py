"""Read, check and write one import file: the pipeline every door (CLI, web, tests) uses.

A file is read as a stream in batches. Each row is parsed field by field (``parsing``),
checked against the database in bulk per batch (customer codes, users) and written in bulk
by the handler of its kind (``kinds/``). The whole file is one transaction: in
all-or-nothing mode a single bad row rolls everything back; in valid-rows mode the bad rows
go to a reject file (``rejects``: the original cells plus an error column) and the rest is
committed. Upserts key on the customer code, the order number, or a natural key per kind, so
importing a file twice changes nothing the second time; every update of an existing row is
audited.

The modules: ``reading`` (files to rows of cells), ``values`` and ``parsing`` (cells to
values), ``checks`` (the mapping and the role, before any row), ``kinds/`` (one module per
kind, registered in ``kinds/base.py``), ``staging`` (SQLite's read-then-apply), ``rejects``
(the reject file), and this module, which runs them in order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import import_may_change
from retain.audit.services import audit_event
from retain.imports.checks import access_check, mapping_check
from retain.imports.kinds import handler_class
from retain.imports.kinds.base import Handler
from retain.imports.parsing import batch_parse, cell_parser
from retain.imports.reading import ImportFileError, open_table
from retain.imports.rejects import ERROR_COLUMN, RejectSink
from retain.imports.rows import ImportResult, Progress, Row, RowError
from retain.imports.schema import ImportKind, field_names, mapping_guess
from retain.imports.staging import STAGE_IN_MEMORY, Staged

__all__ = [
    "ERROR_COLUMN",
    "ImportFileError",
    "ImportResult",
    "RowError",
    "access_check",
    "import_file",
    "mapping_check",
]

BATCH = 5000
#: Row errors kept in the result (the reject file holds them all).
ERRORS_KEPT = 1000


class _Rollback(Exception):
    pass


def import_file(
    *,
    path: Path,
    kind: str,
    mapping: dict[str, str] | None = None,
    valid_rows: bool = False,
    actor: Any = None,
    name: str | None = None,
    reject_path: Path | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> ImportResult:
    """Import one file of ``kind``. Raises ImportFileError when the file as a whole is
    unusable (encoding, empty, header only, columns); row problems end in ``result.errors``
    and, when ``reject_path`` is given, in a reject file.

    ``dry_run`` checks everything against the database and rolls back (the preview).
    """
    import time

    started = time.perf_counter()
    name = name or path.name
    if kind not in ImportKind.values:
        raise ImportFileError(_("%(kind)s is not a kind of import.") % {"kind": kind})
    table = open_table(path, name=name, encoding=encoding, sheet=sheet)
    if table.doubt:
        table.close()
        raise ImportFileError(
            table.doubt
            + " "
            + _("Choose the encoding in the wizard, or give --encoding (gbk or latin-1).")
        )
    rejects = RejectSink(reject_path, table.headers)
    try:
        result = ImportResult(kind=kind, file=name, encoding=table.encoding)
        if mapping is None:
            mapping = mapping_guess(kind, table.headers)
        mapping = {h: t for h, t in mapping.items() if t}
        mapping_check(kind, table.headers, mapping, name=name)
        access_check(kind, mapping, actor=actor, name=name)
        result.mapping = dict(mapping)
        fields = field_names(kind)
        tz = timezone.get_current_timezone()
        columns = [
            (table.headers.index(h), h, fields[t], cell_parser(fields[t], tz))
            for h, t in mapping.items()
        ]
        width = len(table.headers)
        now = timezone.now()

        def make_handler() -> Handler:
            handler = handler_class(kind)(actor=actor, mapped=set(mapping.values()), tz=tz, now=now)
            handler.kind = kind
            handler.may_change = import_may_change(actor, kind)
            handler.headers = {t: h for h, t in mapping.items()}
            return handler

        handler = make_handler()
        seen: dict[tuple[Any, ...], int] = {}
        key_label = ", ".join(handler.label(f) for f in handler.file_key_fields)

        def parsed() -> Iterator[list[Row]]:
            """The file's rows in parsed batches: the cells' own errors and keys twice in
            the file are found here, without the database."""
            batch: list[Row] = []
            for number, cells in table.rows:
                batch.append(Row(number, cells))
                if len(batch) >= BATCH:
                    batch_parse(handler, batch, columns, width, seen, key_label, result)
                    yield batch
                    batch = []
                    if progress:
                        progress(result.rows, table.total_hint)
                if limit is not None and result.rows + len(batch) >= limit:
                    break
            if batch:
                batch_parse(handler, batch, columns, width, seen, key_label, result)
                yield batch
            if result.rows == 0:
                raise ImportFileError(
                    _("%(file)s has a header but no rows to import.") % {"file": name}
                )

        apply = functools.partial(
            _apply,
            result=result,
            rejects=rejects,
            valid_rows=valid_rows,
            dry_run=dry_run,
            actor=actor,
            name=name,
            kind=kind,
        )
        if connection.vendor != "sqlite":
            # PostgreSQL locks rows, not the database: read, check and write as one stream.
            apply(handler, parsed())
        else:
            # SQLite has one writer at a time. 1. Stage: read and parse the whole file with
            # no transaction open (no lock held). 2. Apply: check against the database and
            # write in one transaction that holds the write lock only that long, retried
            # while another writer holds it.
            with Staged(STAGE_IN_MEMORY) as staged:
                for batch in parsed():
                    staged.add(batch)
                for attempt in range(1, LOCK_TRIES + 1):
                    result.created = result.updated = result.unchanged = 0
                    result.matched_by_name = 0
                    result.errors = []
                    rejects.reset()
                    try:
                        apply(make_handler(), staged)
                    except OperationalError as exc:
                        if not _locked(exc):
                            raise
                        if attempt == LOCK_TRIES:
                            raise ImportFileError(
                                _(
                                    "%(file)s: the database stayed busy with another change; "
                                    "nothing was imported. Try again in a minute."
                                )
                                % {"file": name}
                            ) from exc
                        time.sleep(LOCK_PAUSE * attempt)
                    else:
                        break
        if progress:
            progress(result.rows, result.rows)
        if rejects.count and reject_path is not None:
            result.reject_path = reject_path
    except ImportFileError:
        # The file as a whole failed: a half-written reject file would only mislead.
        rejects.close()
        if rejects.count and reject_path is not None:
            reject_path.unlink(missing_ok=True)
        raise
    finally:
        rejects.close()
        table.close()
    result.seconds = time.perf_counter() - started
    return result


#: Tries to take SQLite's write lock for the apply step (each waits the database's busy
#: timeout, 20 s), with a growing pause between them; then the import says the database is busy.
LOCK_TRIES = 3
LOCK_PAUSE = 2.0


def _locked(exc: Exception) -> bool:
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def _apply(
    handler: Handler,
    batches: Iterable[list[Row]],
    *,
    result: ImportResult,
    rejects: RejectSink,
    valid_rows: bool,
    dry_run: bool,
    actor: Any,
    name: str,
    kind: str,
) -> None:
    try:
        with transaction.atomic():
            for batch in batches:
                _batch(handler, batch, result, rejects, valid_rows)
            result.rejected = rejects.count
            if dry_run or (rejects and not valid_rows):
                raise _Rollback
            if result.created or result.updated:
                audit_event(
                    actor=actor,
                    action="import",
                    after={
                        "file": name,
                        "kind": kind,
                        "rows": result.rows,
                        "created": result.created,
                        "updated": result.updated,
                        "rejected": result.rejected,
                        # Who the rules were those of: a user, or nobody (the system).
                        "run_as": actor.get_username() if actor is not None else "system",
                    },
                )
            result.committed = True
    except _Rollback:
        if rejects and not valid_rows:
            # Nothing was written: nothing counts as created or updated.
            result.created = result.updated = result.unchanged = 0
    except IntegrityError as exc:
        # A rule only the database knows; the transaction is rolled back, nothing is kept.
        raise ImportFileError(
            _("%(file)s: the database refused the rows, nothing was imported (%(error)s).")
            % {"file": name, "error": str(exc).splitlines()[0][:200]}
        ) from exc


def _batch(
    handler: Handler,
    batch: list[Row],
    result: ImportResult,
    rejects: RejectSink,
    valid_rows: bool,
) -> None:
    good = [r for r in batch if not r.errors]
    handler.resolve(good)
    good = [r for r in good if not r.errors]
    # After the first bad row an all-or-nothing import only checks: the writes would be
    # rolled back anyway.
    if good and (valid_rows or (not rejects and all(not r.errors for r in batch))):
        handler.write(good, result)
        handler.audit_flush()
    for row in batch:
        if row.errors:
            rejects.add(row)
            if len(result.errors) < ERRORS_KEPT:
                result.errors.extend(row.errors[: ERRORS_KEPT - len(result.errors)])
