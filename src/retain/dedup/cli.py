"""``retain duplicates`` and ``retain quality``: thin doors to the dedup services.

Registered on the main Typer app by ``retain.cli``; Django is set up lazily per command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _setup() -> None:
    from retain.cli import _django

    _django()


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
