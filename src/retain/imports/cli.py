"""``retain import``: a thin door to the import services (``retain duplicates`` and
``retain quality`` are in ``retain.dedup.cli``).

Registered on the main Typer app by ``retain.cli``; Django is set up lazily per command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _setup() -> None:
    from retain.cli import _django

    _django()


def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (UTF-8 or GBK) or XLSX file; for --kind scores a .csv or .parquet file "
            "or a folder of Parquet parts written by retain analyze.",
            exists=True,
        ),
    ],
    kind: Annotated[
        str,
        typer.Option(
            help="customers, contacts, orders, followups, complaints, surveys, or scores "
            "(a scores file of retain analyze, loaded as a scoring run)."
        ),
    ],
    mapping: Annotated[
        str | None,
        typer.Option(help='Column mapping as JSON: {"header in the file": "field", ...}.'),
    ] = None,
    valid_rows: Annotated[
        bool,
        typer.Option(
            "--valid-rows",
            help="Import the valid rows and write the others to a reject file "
            "(default: all or nothing).",
        ),
    ] = False,
    reject_file: Annotated[
        Path | None,
        typer.Option(help="Where to write rejected rows with an error column."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check everything, write nothing.")
    ] = False,
    sheet: Annotated[
        str | None,
        typer.Option(help="Sheet of a workbook to read (default: the first visible one)."),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Encoding of a CSV when the guess is not clear-cut: gbk, utf-8, latin-1."
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--as",
            "--user",
            help="Run the import as this user: their role and visible customers apply, "
            "and the changes are audited under them. Without it: a system import.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="--kind scores: the day the scores are as of (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Import customers, contacts, orders, follow-ups, complaints or survey answers."""
    _setup()
    if kind == "scores":
        _scores_import(file, user, as_of)
        return
    if file.is_dir():
        typer.echo(f"Error: {file} is a folder; give a CSV or XLSX file", err=True)
        raise typer.Exit(2)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from retain.accounts.models import User
    from retain.imports.engine import import_file
    from retain.imports.reading import ImportFileError
    from retain.imports.schema import ImportKind

    if kind not in ImportKind.values:
        typer.echo(
            f"Error: --kind must be one of {', '.join(ImportKind.values)}, not {kind!r}", err=True
        )
        raise typer.Exit(2)
    parsed: dict[str, str] | None = None
    if mapping:
        try:
            parsed = json.loads(mapping)
        except ValueError as exc:
            typer.echo(f"Error: --mapping is not valid JSON: {exc}", err=True)
            raise typer.Exit(2) from exc
        if not isinstance(parsed, dict):
            typer.echo('Error: --mapping must be a JSON object like {"客户编号": "code"}', err=True)
            raise typer.Exit(2)
    actor = None
    if user:
        actor = User.objects.filter(username=user).first()
        if actor is None or not actor.is_active:
            typer.echo(f"Error: no active user {user!r}", err=True)
            raise typer.Exit(2)
    if actor is None and not dry_run:
        typer.echo(
            "System import (no --as USER): no role or visibility rule applies; audited as such."
        )
    if reject_file is None:
        reject_file = file.with_name(f"{file.stem}.rejects.csv")
    bar = Progress(
        TextColumn(f"[bold]{file.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    task = bar.add_task("rows", total=None)

    def progress(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=max(total or 0, done) or None)

    try:
        with bar:
            result = import_file(
                path=file,
                kind=kind,
                mapping=parsed,
                valid_rows=valid_rows,
                actor=actor,
                reject_path=reject_file,
                progress=progress,
                dry_run=dry_run,
                sheet=sheet,
                encoding=encoding,
            )
    except ImportFileError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for error in result.errors[:20]:
        typer.echo(f"  {error}", err=True)
    if len(result.errors) > 20 or result.rejected > len(result.errors):
        typer.echo(f"  ... {result.rejected:,} rejected rows in all", err=True)
    typer.echo(
        f"{result.rows:,} rows read ({result.encoding}) in {result.seconds:.1f} s: "
        f"{result.created:,} created, {result.updated:,} updated, "
        f"{result.unchanged:,} unchanged, {result.rejected:,} rejected."
    )
    if result.matched_by_name:
        typer.echo(
            f"{result.matched_by_name:,} row(s) without a customer code matched an existing "
            "customer by name and phone or email."
        )
    if result.reject_path is not None:
        typer.echo(f"Rejected rows with the reason: {result.reject_path}")
    if not dry_run:
        from retain.imports.services import duplicates_after_import

        found = duplicates_after_import(result)
        if found:
            typer.echo(f"{found} possible duplicate pair(s) found: see `retain duplicates`.")
    if dry_run:
        typer.echo("Dry run: nothing was written.")
    elif not result.committed:
        # The reject file holds only the bad rows: importing it alone would drop the good ones.
        typer.echo(
            "Nothing was imported (all or nothing). Fix the rows listed in the reject file "
            "in the original file and import the whole file again, or use --valid-rows.",
            err=True,
        )
        raise typer.Exit(1)


def _scores_import(file: Path, user: str | None, as_of: str | None) -> None:
    """``retain import --kind scores``: a scores file of ``retain analyze`` as a scoring run."""
    import datetime as dt

    from django.core.exceptions import PermissionDenied

    from retain.accounts.models import User
    from retain.scoring.lake import ScoresFileError, scores_import
    from retain.scoring.services import ScoringBusyError, ScoringOrderError

    if as_of is None:
        typer.echo("Error: --kind scores needs --as-of, the day retain analyze scored", err=True)
        raise typer.Exit(2)
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError as exc:
        typer.echo(f"Error: --as-of {as_of!r}: not a date (use YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from exc
    actor = None
    if user:
        actor = User.objects.filter(username=user, is_active=True).first()
        if actor is None:
            typer.echo(f"Error: no active user {user!r}", err=True)
            raise typer.Exit(2)
    try:
        run = scores_import(actor=actor, path=file, as_of=day)
    except PermissionDenied as exc:
        typer.echo(f"Error: {user} may not load scores (it needs the scoring permission)", err=True)
        raise typer.Exit(1) from exc
    except (ScoresFileError, ScoringBusyError, ScoringOrderError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Loaded scores of {run.customers:,} customers as of {day} (scoring run {run.pk}).")
