"""``retain import``, ``retain duplicates`` and ``retain quality``: thin doors to the services.

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
        Path, typer.Argument(help="CSV (UTF-8 or GBK) or XLSX file.", exists=True, dir_okay=False)
    ],
    kind: Annotated[
        str,
        typer.Option(help="customers, contacts, orders, followups, complaints or surveys."),
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
    user: Annotated[
        str | None, typer.Option(help="Username the changes are audited under.")
    ] = None,
) -> None:
    """Import customers, contacts, orders, follow-ups, complaints or survey answers."""
    _setup()
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
        if actor is None:
            typer.echo(f"Error: no user {user!r}", err=True)
            raise typer.Exit(2)
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
    if result.reject_path is not None:
        typer.echo(f"Rejected rows with the reason: {result.reject_path}")
    if dry_run:
        typer.echo("Dry run: nothing was written.")
    elif not result.committed:
        typer.echo(
            "Nothing was imported. Fix the rows in the reject file and import it again, "
            "or use --valid-rows.",
            err=True,
        )
        raise typer.Exit(1)
