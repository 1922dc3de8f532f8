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


def duplicates(
    threshold: Annotated[
        float, typer.Option(help="Smallest match probability to list (0-1).")
    ] = 0.5,
    limit: Annotated[int, typer.Option(help="How many pairs to show.")] = 50,
) -> None:
    """Find possible duplicate customers (Splink) and list them with score and evidence."""
    _setup()
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from retain.dedup.selectors import duplicate_pairs_open
    from retain.dedup.services import duplicates_refresh

    found = duplicates_refresh(threshold=threshold)
    table = Table(title=f"{found} possible duplicate pair(s)")
    for column in ("score", "customer", "possible duplicate", "evidence"):
        table.add_column(column)
    for pair in duplicate_pairs_open()[:limit]:
        table.add_row(
            f"{pair.score:.2f}",
            # names are data, not markup: "[/bold]" in a name must print as it is
            escape(f"{pair.left.code} {pair.left.name}"),
            escape(f"{pair.right.code} {pair.right.name}"),
            escape("; ".join(pair.evidence_lines())),
        )
    Console().print(table)
    typer.echo("Merge them on the Duplicates page of the web app (Imports → Duplicates).")


def quality(
    stale_months: Annotated[
        int, typer.Option(help="Records not updated for this many months are stale.")
    ] = 12,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write invalid values to this CSV.")
    ] = None,
) -> None:
    """Data-quality report: completeness, stale records, contacts who left, consent, bad values."""
    _setup()
    from django.utils import timezone
    from rich.console import Console
    from rich.table import Table

    from retain.core.exports import csv_write
    from retain.dedup.selectors import data_quality

    report = data_quality(as_of=timezone.localdate(), stale_months=stale_months)
    console = Console()
    table = Table(title=f"Completeness of {report.customers:,} customers")
    table.add_column("field")
    table.add_column("filled", justify="right")
    table.add_column("of", justify="right")
    table.add_column("%", justify="right")
    for row in report.completeness:
        table.add_row(row.label, f"{row.filled:,}", f"{row.total:,}", f"{row.percent:.1f}")
    console.print(table)
    console.print(
        f"Stale (not updated and no follow-up for {stale_months} months): {report.stale:,}\n"
        f"Contacts who left: {report.contacts_left:,}; companies without an active contact: "
        f"{report.customers_without_active_contact:,}\n"
        f"Customers without any recorded consent: {report.missing_consent:,}\n"
        f"Invalid phones: {report.invalid_phones:,}; invalid emails: {report.invalid_emails:,}"
    )
    if csv_file is not None:
        csv_write(
            csv_file,
            ["customer code", "where", "field", "value", "reason"],
            ([b.customer_code, b.where, b.field, b.value, b.reason] for b in report.invalid),
        )
        typer.echo(f"Invalid values written to {csv_file}")
