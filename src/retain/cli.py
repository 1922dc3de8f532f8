"""The ``retain`` command line. Thin: each command calls a service, the engine or Django."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="retain: keep the customers you have won.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _django() -> None:
    """Configure Django once; commands import it lazily so `retain --help` stays quick."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


@app.command()
def migrate() -> None:
    """Create or update the database tables."""
    _django()
    _migrate(verbosity=1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    threads: Annotated[int, typer.Option(help="Threads per worker process.")] = 8,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (gunicorn); 2 x cores + 1 by default. 1, or no gunicorn: "
            "waitress in one process.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the web app (gunicorn with several processes, or waitress; static by WhiteNoise)."""
    _django()
    from retain.web.server import default_workers, gunicorn_available, gunicorn_serve

    workers = default_workers() if workers is None else workers
    if workers < 1:
        typer.echo(f"Error: --workers must be 1 or more, not {workers}", err=True)
        raise typer.Exit(2)
    if workers > 1 and gunicorn_available():
        typer.echo(
            f"retain is serving on http://{host}:{port}/ with {workers} worker processes "
            "(Ctrl+C stops it; SIGHUP restarts the workers gracefully)"
        )
        from django.db import connections

        connections.close_all()  # no connection crosses the fork
        gunicorn_serve(host=host, port=port, workers=workers, threads=threads)
        return
    from waitress import serve as waitress_serve

    from retain.wsgi import application

    typer.echo(f"retain is serving on http://{host}:{port}/ (Ctrl+C stops it)")
    # Forwarded headers reach Django, whose TrustedProxyMiddleware believes them only from
    # RETAIN_TRUSTED_PROXIES (waitress would drop X-Forwarded-Proto: an endless redirect).
    waitress_serve(
        application,
        host=host,
        port=port,
        threads=threads,
        ident="retain",
        clear_untrusted_proxy_headers=False,
    )


@app.command()
def createuser(
    username: str,
    role: Annotated[
        str, typer.Option(help="admin, manager, sales, marketing, service or analyst.")
    ] = "sales",
    email: Annotated[str, typer.Option(help="Email address.")] = "",
    password: Annotated[
        str | None, typer.Option(help="Password; asked for when not given.", show_default=False)
    ] = None,
) -> None:
    """Create a user with a role."""
    _django()
    from django.core.exceptions import ValidationError

    from retain.accounts.models import Role
    from retain.accounts.services import user_create

    try:
        Role(role)
    except ValueError:
        typer.echo(f"Error: role must be one of {', '.join(Role.values)}, not {role!r}", err=True)
        raise typer.Exit(2) from None
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = user_create(username=username, password=password, role=role, email=email)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            typer.echo(f"Error: {field}: {' '.join(messages)}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"Created {user.username} ({user.role}).")


@app.command("demo-data")
def demo_data(
    customers: Annotated[int, typer.Option(help="How many customers to make.")] = 2000,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed makes the same company.")
    ] = 42,
    password: Annotated[
        str | None,
        typer.Option(help="Password of the demo users; random when not given.", show_default=False),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Last day of the history (YYYY-MM-DD); today by default.")
    ] = None,
) -> None:
    """Fill the database with a believable demo company."""
    import datetime as dt

    _django()
    _migrate()
    from retain.demo.generate import DemoSpec, demo_company_create

    spec = DemoSpec(
        customers=customers,
        seed=seed,
        as_of=dt.date.fromisoformat(as_of) if as_of else None,
    )
    result = demo_company_create(spec=spec, password=password, progress=True)
    typer.echo(
        f"Made {result.customers:,} customers, {result.contacts:,} contacts, "
        f"{result.orders:,} orders, {result.followups:,} follow-ups, "
        f"{result.complaints:,} complaints and {result.survey_responses:,} survey answers "
        f"in {result.seconds:.1f} s."
    )
    if result.password:
        typer.echo(f"Demo users {', '.join(result.usernames)} have the password: {result.password}")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    customers: Annotated[int, typer.Option(help="Size of the demo company.")] = 2000,
) -> None:
    """Set up RETAIN_HOME with the demo company (once) and serve it."""
    _django()
    from django.conf import settings

    from retain.demo.generate import demo_login_ensure

    home: Path = settings.RETAIN_HOME
    home.mkdir(parents=True, exist_ok=True)
    typer.echo(f"retain home: {home}")
    _migrate()
    login = demo_login_ensure(customers=customers, progress=True)
    _demo_scores_ensure()
    typer.echo("")
    typer.echo(f"  Open http://127.0.0.1:{port}/ and log in as:")
    typer.echo(f"    user: {login.username}   password: {login.password}")
    typer.echo(f"  Other demo users ({', '.join(login.others)}) use the same password.")
    typer.echo("")
    # The job worker (imports, e-mails, the schedule) as a child process this command owns.
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-m", "retain.cli", "worker", "--workers", "1"])
    typer.echo(f"  The job worker runs too (process {child.pid}); Ctrl+C stops both.")
    try:
        serve(port=port)
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def _demo_scores_ensure() -> None:
    """Score the demo company, run the day's jobs and compute the board, once."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from retain.kpis.services import first_run_ensure

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True
    ) as bar:
        job = bar.add_task("scoring", total=None)
        run = first_run_ensure(progress=lambda label: bar.update(job, description=label))
    if run is not None:
        typer.echo(f"Scored {run.customers:,} customers as of {run.as_of}.")


@app.command()
def worker(
    workers: Annotated[int, typer.Option(help="Worker threads.")] = 2,
) -> None:
    """Run the background job worker (Huey consumer) with its periodic jobs."""
    _django()
    from django.core.management import call_command

    from retain.imports.services import import_jobs_reap
    from retain.pipeline.heartbeat import worker_beating
    from retain.pipeline.queue import lost_jobs_reap

    import_jobs_reap()  # jobs a dead worker left "running" show as failed, ready to retry
    with worker_beating():
        lost_jobs_reap()  # jobs a dead worker took off the queue: queued again, or failed
        call_command("run_huey", workers=workers, worker_type="thread")


@app.command()
def check(
    strict: Annotated[bool, typer.Option(help="Fail on warnings too.")] = False,
) -> None:
    """Run Django's system checks, with the deploy checks unless RETAIN_DEBUG is on."""
    _django()
    from django.conf import settings
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        call_command(
            "check",
            deploy=strict or not settings.DEBUG,
            fail_level="WARNING" if strict else "ERROR",
        )
    except SystemCheckError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    if strict and settings.DEBUG:
        # Debug pages show settings and code to anyone: never in production.
        typer.echo("Error: RETAIN_DEBUG is on; turn it off in production.", err=True)
        raise typer.Exit(1)


def _as_of_option(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of must be a date like 2026-11-01, not {value!r}") from exc


def _steps_failed(result: object) -> bool:
    """Print each failed step of a nightly run; True when any failed."""
    failed = getattr(result, "failed", [])
    for step in failed:
        typer.echo(f"Error: step {step.name.value} failed: {step.error}", err=True)
    if failed:
        typer.echo("Details: Admin → Nightly run → Nightly steps.", err=True)
    return bool(failed)


@app.command()
def score(
    as_of: Annotated[
        str | None, typer.Option(help="Score as of this day (YYYY-MM-DD); today by default.")
    ] = None,
    tables: Annotated[
        str,
        typer.Option(
            help="Where the engine runs: auto, database (in PostgreSQL / SQLite), copy "
            "(DuckDB over a copy of the tables) or memory (through the ORM)."
        ),
    ] = "auto",
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Take over a scoring run still marked running (after a crash)."
        ),
    ] = False,
) -> None:
    """Score every customer (quadrant, RFM, lifecycle, P(alive), value, risk) and tag them."""
    _django()
    from retain.scoring.tables import TableSource

    if tables not in set(TableSource):
        known = ", ".join(TableSource)
        typer.echo(f"Error: --tables must be one of {known}, not {tables!r}", err=True)
        raise typer.Exit(2)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from retain.pipeline.models import StepName
    from retain.pipeline.services import SCORING_STEPS, pipeline_now, pipeline_run

    day, now = pipeline_now(_as_of_option(as_of))
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True
    ) as bar:
        job = bar.add_task("scoring", total=None)
        result = pipeline_run(
            as_of=day,
            now=now,
            steps=SCORING_STEPS,
            source=TableSource(tables),
            force=force,
            progress=lambda label: bar.update(job, description=label),
        )
    run = result.result(StepName.SCORES)
    if run is not None:
        typer.echo(
            f"Scored {run.customers:,} customers as of {run.as_of}: "
            f"{run.changes:,} segment changes, "
            f"{run.tags_added:,} automatic tags added, {run.tags_removed:,} removed."
        )
    if _steps_failed(result):
        raise typer.Exit(1)


@app.command()
def daily(
    as_of: Annotated[
        str | None,
        typer.Option(help="Run the day's jobs for this day (YYYY-MM-DD); today by default."),
    ] = None,
) -> None:
    """Run the daily jobs: playbook tasks, churn alerts, care messages, complaints, loyalty
    (points, expiry, referrals, tiers)."""
    _django()
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from retain.pipeline.models import StepName
    from retain.pipeline.services import DAILY_STEPS, pipeline_now, pipeline_run

    day, now = pipeline_now(_as_of_option(as_of))
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True
    ) as bar:
        job = bar.add_task("daily", total=None)
        result = pipeline_run(
            as_of=day,
            now=now,
            steps=DAILY_STEPS,
            progress=lambda label: bar.update(job, description=label),
        )
    parts = []
    p = result.result(StepName.TASKS)
    if p is not None:
        parts.append(
            f"{p.created:,} playbook tasks created, {p.withdrawn:,} withdrawn "
            f"({p.without_consent:,} skipped without consent, {p.without_owner:,} without owner)"
        )
    if (churn := result.result(StepName.ALERTS)) is not None:
        parts.append(f"{churn.created:,} win-back tasks")
    if (care := result.result(StepName.CARE)) is not None:
        parts.append(f"{care.prepared:,} care messages queued")
        for broken in care.broken:
            typer.echo(f"Skipped broken care template {broken}", err=True)
    if (complaints := result.result(StepName.COMPLAINTS)) is not None:
        parts.append(f"{complaints.escalated:,} complaints escalated")
    if (loyalty := result.result(StepName.LOYALTY)) is not None:
        parts.append(
            f"{loyalty.earned:,} points earned, {loyalty.expired:,} expired, "
            f"{loyalty.upgraded:,} tier upgrades, {loyalty.downgraded:,} downgrades"
        )
    typer.echo(f"{day}: " + "; ".join(parts) + ".")
    if _steps_failed(result):
        raise typer.Exit(1)


@app.command("export-customers")
def export_customers(
    user: Annotated[str, typer.Option("--as", help="Export as this user, with their permissions.")],
    out: Annotated[
        Path, typer.Option(help="File to write: .xlsx for a workbook, else CSV.", dir_okay=False)
    ],
    search: Annotated[str, typer.Option(help="Only customers matching this search.")] = "",
) -> None:
    """Export the customers a user may see to CSV (masked as for that user; audited)."""
    _django()
    from django.core.exceptions import PermissionDenied

    from retain.accounts.access import SearchLimited, customers_visible_to
    from retain.accounts.models import User
    from retain.core.exports import csv_write
    from retain.customers.bulk import customers_export_rows
    from retain.customers.selectors import customer_list

    actor = User.objects.filter(username=user, is_active=True).first()
    if actor is None:
        typer.echo(f"Error: no active user {user!r}", err=True)
        raise typer.Exit(2)
    try:
        customers = customers_visible_to(actor, customer_list(search=search, user=actor))
    except SearchLimited as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        rows = iter(customers_export_rows(queryset=customers, actor=actor, description=search))
    except PermissionDenied as exc:
        typer.echo(f"Error: {user} ({actor.role}) may not export customers", err=True)
        raise typer.Exit(1) from exc
    header = next(rows)
    if out.suffix.lower() == ".xlsx":
        from retain.core.exports import xlsx_bytes

        out.write_bytes(xlsx_bytes(header, rows, title="customers"))
    else:
        csv_write(out, header, rows)
    typer.echo(f"Exported {customers.count():,} customers to {out}")


@app.command("export")
def export(
    user: Annotated[str, typer.Option("--as", help="Export as this user, with their permissions.")],
    parquet: Annotated[
        Path,
        typer.Option(
            "--parquet",
            help="Folder to write: one folder of Parquet parts per table, for retain analyze.",
            file_okay=False,
        ),
    ],
) -> None:
    """Export the engine's inputs (orders, customers, ... ids only) as Parquet; audited."""
    _django()
    from django.core.exceptions import PermissionDenied

    from retain.accounts.models import User
    from retain.scoring.lake import ANALYZE_OPTIONS, lake_export

    actor = User.objects.filter(username=user, is_active=True).first()
    if actor is None:
        typer.echo(f"Error: no active user {user!r}", err=True)
        raise typer.Exit(2)
    try:
        done = lake_export(actor=actor, folder=parquet)
    except PermissionDenied as exc:
        typer.echo(f"Error: {user} ({actor.role}) may not export the company's data", err=True)
        raise typer.Exit(1) from exc
    for name, count in done.rows.items():
        typer.echo(f"{parquet / name}: {count:,} rows")
    typer.echo(f"Next: retain analyze {parquet / 'orders'} {ANALYZE_OPTIONS} --out scores.parquet")


@app.command()
def backup(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Archive to write; retain-backup-YYYYMMDD-HHMMSS.tar.gz here by default.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Back up the database and RETAIN_HOME's files (key, uploads) to one 0600 archive."""
    _django()
    from django.conf import settings
    from django.db import connections

    from retain.core.backup import BackupError, backup_create

    if out is None:
        out = Path(f"retain-backup-{dt.datetime.now():%Y%m%d-%H%M%S}.tar.gz")
    connections.close_all()
    try:
        result = backup_create(
            database=settings.DATABASES["default"], home=settings.RETAIN_HOME, out=out
        )
    except BackupError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"Backed up the {result.engine} database and {result.files:,} files "
        f"to {result.path} ({result.size:,} bytes)."
    )


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="Archive made by `retain backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds tables.")
    ] = False,
) -> None:
    """Restore a backup into RETAIN_DATABASE_URL and RETAIN_HOME (stop the server first)."""
    _django()
    from django.conf import settings
    from django.db import connection, connections

    from retain.core.backup import BackupError, backup_restore

    tables = connection.introspection.table_names()
    connections.close_all()
    try:
        result = backup_restore(
            archive=archive,
            database=settings.DATABASES["default"],
            home=settings.RETAIN_HOME,
            tables=tables,
            force=force,
        )
    except BackupError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"Restored the {result.engine} database and {result.files:,} files "
        f"from the backup made at {result.made_at}."
    )


def _register_engine_commands() -> None:
    """`retain analyze`: the engine's own command (retain.analytics.cli, no Django)."""
    from retain.analytics.cli import analyze

    app.command("analyze")(analyze)


_register_engine_commands()


def _register_data_commands() -> None:
    """Data in (retain.imports) and clean: duplicates, data quality (retain.dedup)."""
    from retain.dedup import cli as dedup_cli
    from retain.imports import cli as import_cli

    app.command("import")(import_cli.import_command)
    app.command("duplicates")(dedup_cli.duplicates)
    app.command("quality")(dedup_cli.quality)


_register_data_commands()


def _register_survey_commands() -> None:
    """Asking customers (retain.surveys)."""
    from retain.surveys import cli as survey_cli

    app.command("survey-send")(survey_cli.survey_send_command)


_register_survey_commands()


def main() -> None:
    app(prog_name="retain")


if __name__ == "__main__":  # pragma: no cover
    main()
