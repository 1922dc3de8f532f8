"""`retain analyze`: the engine on a raw order file, for analysts (no database, no Django)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

OUT_SUFFIXES = (".csv", ".parquet", ".html")
ENGINES = ("duckdb", "spark")


def analyze(
    orders: Annotated[
        Path,
        typer.Argument(
            help="Order file (.csv, .tsv, .txt (whitespace-separated), .parquet or .xlsx), "
            "a folder of such parts, or a quoted glob such as 'orders/*.parquet'."
        ),
    ],
    customer_col: Annotated[str, typer.Option("--customer-col", help="Column of the customer id.")],
    date_col: Annotated[str, typer.Option("--date-col", help="Column of the order date/time.")],
    amount_col: Annotated[
        str, typer.Option("--amount-col", help="Column of the order amount (negative = refund).")
    ],
    out: Annotated[
        list[Path],
        typer.Option(
            "--out",
            help="Output file(s): scores.csv, scores.parquet, report.html, or a folder (no "
            "suffix) for the scores as Parquet; repeat for several.",
        ),
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Analysis date YYYY-MM-DD (default: the last order date)."),
    ] = None,
    status_col: Annotated[
        str | None,
        typer.Option("--status-col", help="Optional status column (refunded / cancelled rows)."),
    ] = None,
    channel_col: Annotated[
        str | None,
        typer.Option(
            "--channel-col",
            help="Optional sales channel column: adds preferred_channel to the scores.",
        ),
    ] = None,
    category_col: Annotated[
        str | None,
        typer.Option(
            "--category-col",
            help="Optional product category column: adds preferred_category to the scores.",
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option("--date-format", help="strptime format of the dates, e.g. %d/%m/%Y."),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter", help="Field separator of text files; 'whitespace' for runs of blanks."
        ),
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Sheet of an .xlsx file.")] = None,
    horizon_months: Annotated[
        int, typer.Option("--horizon-months", min=1, help="Lifetime-value horizon in months.")
    ] = 12,
    discount_rate: Annotated[
        float,
        typer.Option(
            "--discount-rate", min=0.0, help="Monthly discount rate of the lifetime value."
        ),
    ] = 0.01,
    run_backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Back-test the churn probability against baselines (printed and in the report).",
        ),
    ] = False,
    churn_horizon: Annotated[
        int,
        typer.Option("--churn-horizon-days", min=1, help="Churn = no purchase in this many days."),
    ] = 90,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="Where the queries run: duckdb (in-process) or spark (PySpark)."
        ),
    ] = "duckdb",
    spark_master: Annotated[
        str,
        typer.Option("--spark-master", help="Spark master URL, e.g. spark://host:7077 or yarn."),
    ] = "local[*]",
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(
            "--spark-conf",
            help="Spark setting key=value (repeatable), e.g. spark.executor.memory=8g.",
        ),
    ] = None,
) -> None:
    """Score every customer of an order file: RFM, segments, churn risk, lifetime value."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from retain.analytics import (
        AnalyticsSettings,
        Tables,
        cohort_retention,
        customer_summary,
        fit_churn_model,
        fit_models,
        kpis,
        score_summary,
    )
    from retain.analytics._io import InputError, id_sorted, read_orders
    from retain.analytics._report import render_report, write_report
    from retain.analytics._scoring import to_frame
    from retain.analytics._spark import parse_conf, spark_backend

    console = Console(stderr=True)

    def fail(message: str) -> typer.Exit:
        console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        return typer.Exit(code=2)

    for path in out:
        if path.suffix and path.suffix.lower() not in OUT_SUFFIXES:
            raise fail(f"--out {path}: use a .csv, .parquet or .html file name, or a folder")
    if engine not in ENGINES:
        raise fail(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
    try:
        conf = parse_conf(spark_conf or [])
    except ValueError as exc:
        raise fail(str(exc)) from None
    if conf and engine != "spark":
        raise fail("--spark-conf needs --engine spark")
    as_of_date: dt.date | None = None
    if as_of is not None:
        try:
            as_of_date = dt.date.fromisoformat(as_of)
        except ValueError:
            raise fail(f"--as-of {as_of!r}: not a date (use YYYY-MM-DD)") from None
    settings = AnalyticsSettings(
        ltv_horizon_months=horizon_months,
        monthly_discount_rate=discount_rate,
        churn_horizon_days=churn_horizon,
    )

    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ]
    steps = 6 + len(out)
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("reading orders", total=steps)
        backend, session, owned = None, None, False
        if engine == "spark":
            progress.update(task, description=f"starting Spark on {spark_master}")
            try:
                backend, session, owned = spark_backend(spark_master, conf)
            except Exception as exc:  # no Java, bad master URL or setting: say so
                progress.stop()
                raise fail(f"cannot start Spark on {spark_master}: {exc}") from None
            progress.update(task, description="reading orders")
        try:
            data = read_orders(
                orders,
                customer_col=customer_col,
                date_col=date_col,
                amount_col=amount_col,
                status_col=status_col,
                channel_col=channel_col,
                category_col=category_col,
                date_format=date_format,
                delimiter=delimiter,
                sheet=sheet,
                backend=backend,
            )
        except InputError as exc:
            progress.stop()
            raise fail(str(exc)) from None
        first, last = data.first_day, data.last_day
        when = as_of_date or last
        if when < first:
            progress.stop()
            raise fail(f"--as-of {when} is before the first order ({first}): nothing to analyse")
        progress.update(task, advance=1, description=f"summarising {data.rows:,} orders")
        tables = Tables(data.table, columns=data.columns)
        summary = customer_summary(tables, as_of=when, settings=settings)
        frame = id_sorted(to_frame(summary))
        progress.update(task, advance=1, description=f"fitting models on {len(frame):,} customers")
        models = fit_models(frame, settings)
        progress.update(
            task,
            advance=1,
            description="learning the churn probability"
            + (" and back-testing it" if run_backtest else ""),
        )
        plain = tables.without_preferences()
        try:
            churn = fit_churn_model(
                tables, as_of=when, settings=settings, run_backtest=run_backtest
            )
        except ValueError as exc:
            progress.stop()
            raise fail(f"churn model: {exc}") from None
        progress.update(task, advance=1, description="scoring customers")
        scores = score_summary(frame, settings=settings, models=models, churn=churn)
        progress.update(task, advance=1, description="KPIs and cohorts")
        # KPIs and cohorts do not use the preferences: no need to compute them again
        snapshot = kpis(plain, as_of=when, settings=settings)
        cohorts = cohort_retention(plain, as_of=when)
        progress.update(task, advance=1)
        for path in out:
            progress.update(task, description=f"writing {path.name}")
            path.parent.mkdir(parents=True, exist_ok=True)
            suffix = path.suffix.lower()
            if not suffix:
                # a folder of Parquet parts, as Spark and other engines read and write them
                path.mkdir(parents=True, exist_ok=True)
                for old in path.glob("part-*.parquet"):
                    old.unlink()
                scores.to_parquet(path / "part-00000.parquet", index=False)
            elif suffix == ".csv":
                # Like every export: no cell a spreadsheet would run as a formula.
                _formula_safe(scores).to_csv(path, index=False)
            elif suffix == ".parquet":
                scores.to_parquet(path, index=False)
            else:
                text = render_report(
                    scores,
                    as_of=when,
                    kpis=snapshot,
                    cohorts=cohorts,
                    models=models,
                    source=orders.name,
                    backtest=churn.backtest,
                )
                write_report(path, text)
            progress.update(task, advance=1)
        progress.update(task, description="done")
    if owned and session is not None:
        session.stop()

    bg = models.bgnbd
    console.print(
        f"{len(scores):,} customers as of {when}; "
        f"BG/NBD r={bg.r_:.3f} alpha={bg.alpha_:.3f} a={bg.a_:.3f} b={bg.b_:.3f}; "
        f"high churn risk: {int((scores['churn_risk'] == 'high').sum()):,}",
        highlight=False,
    )
    if churn.learned:
        console.print(
            f"churn probability: {churn.kind} classifier (no purchase in {churn.horizon_days} "
            f"days), trained on {churn.train_rows:,} labelled rows at "
            f"{', '.join(str(c) for c in churn.train_cut_offs)}",
            highlight=False,
        )
    else:
        console.print(
            f"[yellow]churn probability: BG/NBD fallback ({churn.fallback_reason})[/]",
            highlight=False,
        )
    if run_backtest:
        if churn.backtest is None:
            console.print(
                "[yellow]back-test: not enough history (it needs at least two labelled "
                f"{churn.horizon_days}-day periods and the classifier's minimum data)[/]"
            )
        else:
            table = churn.backtest.summary()
            console.print(
                f"back-test at {', '.join(str(o['cut_off']) for o in churn.backtest.origins)} "
                "(mean over cut-offs):",
                highlight=False,
            )
            console.print(
                table[
                    [
                        "model",
                        "roc_auc",
                        "pr_auc",
                        "brier",
                        "calibration_error",
                        "top_decile_capture",
                    ]
                ].to_string(index=False, float_format=lambda v: f"{v:.3f}"),
                highlight=False,
            )
    if data.skipped_rows:
        console.print(f"[yellow]skipped {data.skipped_rows:,} row(s) without a customer id[/]")
    for path in out:
        console.print(f"wrote {path}", highlight=False)


def _formula_safe(frame: Any) -> Any:
    """The text columns of ``frame`` with formula-like cells neutralised."""
    import pandas as pd

    from retain.analytics._cells import safe_cell

    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_object_dtype(safe[column]) or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(safe_cell)
    return safe
