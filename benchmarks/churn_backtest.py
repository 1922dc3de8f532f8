"""Back-test of the learned churn probability against the baselines, and its cost at scale.

    .venv/bin/python benchmarks/churn_backtest.py --cdnow          # sample and master
    RETAIN_HOME=$(mktemp -d) .venv/bin/python benchmarks/churn_backtest.py --demo 2000
    .venv/bin/python benchmarks/churn_backtest.py --scale 100000   # train + score cost

CDNOW files come from the lifetimes 0.11.3 wheel (fetched with pip into
~/.cache/retain-test-data, as the engine tests do). The demo company is generated into a fresh
SQLite database under RETAIN_HOME and read with the app's own tables (complaints, surveys and
follow-ups included). ``--scale`` simulates N customers (two years, Poisson buyers who drop
out) and times ``fit_churn_model`` (with its back-test) and scoring.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "analytics"))

from retain.analytics import (
    AnalyticsSettings,
    Backtest,
    backtest,
    fit_churn_model,
    score_customers,
)

COLUMNS = ["roc_auc", "pr_auc", "brier", "calibration_error", "top_decile_capture"]


def show(title: str, result: Backtest, seconds: float) -> None:
    print(f"\n## {title}  ({seconds:.0f} s)")
    cuts = ", ".join(
        f"{o['cut_off']} (n={o['customers']:,}, churn {o['churn_rate']:.1%})"
        for o in result.origins
    )
    print(f"cut-offs: {cuts}; chosen: {result.chosen} ({result.calibration})")
    rows = result.origins[0].get("train_rows"), result.origins[0].get("train_rows_available")
    print(f"training rows (newest cut-off): {rows[0]:,} of {rows[1]:,}")
    table = result.summary()
    print("| model | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for r in table.to_dict("records"):
        cells = " | ".join(f"{r[c]:.3f} ({r[c + '_min']:.3f}–{r[c + '_max']:.3f})" for c in COLUMNS)
        print(f"| {r['model']} | {cells} |")
    names = list(result.origins[0].get("candidates", {}))
    for name in names:
        cells = " | ".join(
            f"{np.nanmean([o['candidates'][name][c] for o in result.origins]):.3f}" for c in COLUMNS
        )
        print(f"| candidate {name} | {cells} |")
    for r in result.forecast_summary().to_dict("records"):
        print(f"forecast {r['model']}: bias {100 * r['bias']:+.1f}%, MAE {r['mae']:.3f}")


def cdnow(which: str = "both") -> None:
    from analytics_reference import cdnow_file

    sample = pd.read_csv(
        cdnow_file("CDNOW_sample.txt"), sep=r"\s+", header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
    )  # fmt: skip
    master = pd.read_csv(cdnow_file("CDNOW_master.txt"), sep=r"\s+")
    master = master.rename(columns={"dollar_value": "amount"})
    files = {
        "sample": ("CDNOW sample (2,357 customers)", sample),
        "master": ("CDNOW master", master),
    }
    for key, (name, frame) in files.items():
        if which not in ("both", key):
            continue
        frame["timestamp"] = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
        table = ibis.duckdb.connect().create_table(
            "orders", frame[["customer_id", "timestamp", "amount"]]
        )
        started = time.perf_counter()
        result = backtest(table, as_of=dt.date(1998, 6, 30))
        show(name, result, time.perf_counter() - started)


def demo(size: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from retain.demo.generate import DemoSpec, demo_company_create
    from retain.scoring.tables import TableSource, app_tables

    as_of = dt.date(2026, 11, 1)
    demo_company_create(
        spec=DemoSpec(customers=size, seed=42, as_of=as_of), password="bench-pass-123"
    )
    tables = app_tables(source=TableSource.COPY)
    started = time.perf_counter()
    result = backtest(tables.plain_tables(), as_of=as_of)
    show(
        f"Demo company ({size:,} customers, complaints, NPS and follow-ups)",
        result,
        time.perf_counter() - started,
    )


def simulate(n: int, seed: int = 0) -> pd.DataFrame:
    """n customers over two years: Poisson buyers (gamma rates) who drop out at a random day."""
    rng = np.random.default_rng(seed)
    days = 730
    first = rng.integers(0, 365, n)
    rate = rng.gamma(1.5, 1 / 45, n)
    end = np.minimum(first + rng.exponential(400, n).astype(np.int64), days)
    counts = rng.poisson(rate * np.maximum(end - first, 0)) + 1
    cid = np.repeat(np.arange(n), counts)
    lo = np.repeat(first, counts)
    span = np.repeat(np.maximum(end - first, 1), counts)
    day = lo + (rng.random(cid.size) * span).astype(np.int64)
    firsts = np.r_[0, np.cumsum(counts)[:-1]]
    day[firsts] = first  # each customer's first purchase is on their first day
    ts = pd.Timestamp("2023-01-01") + pd.to_timedelta(day, unit="D")
    return pd.DataFrame(
        {"customer_id": cid, "timestamp": ts, "amount": np.round(rng.gamma(2, 30, cid.size), 2)}
    )


def scale(n: int) -> None:
    frame = simulate(n)
    table = ibis.duckdb.connect().create_table("orders", frame)
    as_of = dt.date(2024, 12, 30)
    cfg = AnalyticsSettings()
    print(f"\n## Scale: {n:,} customers, {len(frame):,} orders; load average {os.getloadavg()}")
    started, cpu = time.perf_counter(), time.process_time()
    model = fit_churn_model(table, as_of=as_of, settings=cfg, run_backtest=True)
    trained, trained_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    scores = score_customers(table, as_of=as_of, settings=cfg, churn=model)
    scored, scored_cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"model {model.kind} on {model.train_rows:,} rows; train + back-test {trained:.0f} s "
        f"({trained_cpu:.0f} s CPU); score {len(scores):,} customers (summary, BG/NBD, "
        f"Gamma-Gamma, Pareto/NBD, probability, reasons) {scored:.0f} s ({scored_cpu:.0f} s "
        f"CPU); peak RSS {peak:,.0f} MiB; load average after {os.getloadavg()}"
    )
    if model.backtest is not None:
        show(f"Scale back-test ({n:,})", model.backtest, trained)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cdnow", nargs="?", const="both", choices=["both", "sample", "master"])
    parser.add_argument("--demo", type=int, default=0)
    parser.add_argument("--scale", type=int, default=0)
    args = parser.parse_args()
    if args.cdnow:
        cdnow(args.cdnow)
    if args.demo:
        demo(args.demo)
    if args.scale:
        scale(args.scale)


if __name__ == "__main__":
    main()
