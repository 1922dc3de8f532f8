"""The board's 12 month ends of KPIs: one ``kpis`` pass per month end against one ``kpis_at``.

    .venv/bin/python -u benchmarks/kpis_month_ends.py --customers 100000 1000000

Orders from ``churn_backtest.simulate`` (two years, 2023-2024, Poisson buyers who drop out;
about 9 orders a customer), a customers table with 1% more prospects, and complaints and
survey answers from 2% of the customers, in an in-memory DuckDB database (where the scoring
run's board figures compute them). For each size, the KPIs at the 12 month ends of 2024 the
way ``board_figures_refresh`` computed them before (``kpis`` once per month end) and now
(``kpis_at`` once), in turn in one process: wall and CPU seconds (this process, DuckDB's
threads included), the ratio, and the largest difference between the two results (they must
be equal to float rounding).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import time
from collections.abc import Callable

import ibis
import numpy as np
import pandas as pd
from _timing import peak_rss_mb
from churn_backtest import simulate

from retain.analytics import (
    KpiSnapshot,
    SurveyColumns,
    Tables,
    kpis,
    kpis_at,
    month_ends,
)

AS_OF = dt.date(2024, 12, 31)
ENDS = month_ends(dt.date(2024, 1, 1), AS_OF)


def company(n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """``simulate``'s orders of n customers, with a customers table, complaints and surveys."""
    orders = simulate(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    n_all = n + n // 100  # prospects: customers without an order
    customers = pd.DataFrame({"customer_id": np.arange(n_all, dtype=np.int64)})

    def events(k: int) -> pd.DataFrame:
        day = rng.integers(0, 730, k)
        return pd.DataFrame(
            {
                "customer_id": rng.integers(0, n_all, k).astype(np.int64),
                "timestamp": pd.Timestamp("2023-01-01") + pd.to_timedelta(day, unit="D"),
            }
        )

    complaints = events(n // 50)
    complaints["resolved"] = rng.random(len(complaints)) < 0.7
    surveys = events(n // 50)
    surveys["nps"] = rng.integers(0, 11, len(surveys)).astype(np.int64)
    surveys["rating"] = rng.integers(1, 6, len(surveys)).astype(np.int64)
    return {"orders": orders, "customers": customers, "complaints": complaints, "surveys": surveys}


def largest_difference(got: list[KpiSnapshot], want: list[KpiSnapshot]) -> float:
    """The largest relative difference over every field of every snapshot (inf when a count
    differs or a figure is defined in one and not the other)."""
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        for key, value in w.to_row().items():
            mine = g.to_row()[key]
            if isinstance(value, float) and isinstance(mine, float):
                worst = max(worst, abs(mine - value) / max(abs(value), 1e-12))
            elif mine != value:
                return math.inf
    return worst


def timed(fn: Callable[[], list[KpiSnapshot]]) -> tuple[list[KpiSnapshot], float, float]:
    """The result of ``fn()``, its wall and its CPU seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - start, time.process_time() - cpu


def measure(n: int) -> None:
    """Both ways at the 12 month ends on a company of n customers with orders; prints them."""
    frames = company(n)
    con = ibis.duckdb.connect()
    loaded = {name: con.create_table(name, frame) for name, frame in frames.items()}
    tables = Tables(
        loaded["orders"],
        customers=loaded["customers"],
        complaints=loaded["complaints"],
        surveys=loaded["surveys"],
        survey_columns=SurveyColumns(nps="nps", rating="rating"),
    )
    print(
        f"\n## {len(frames['customers']):,} customers, {len(frames['orders']):,} orders; "
        f"load average before {os.getloadavg()}"
    )
    want, before, before_cpu = timed(lambda: [kpis(tables, as_of=end) for end in ENDS])
    print(f"  kpis once per month end: {before:8.1f} s  ({before_cpu:7.1f} s CPU)")
    got, after, after_cpu = timed(lambda: kpis_at(tables, ENDS))
    print(f"  kpis_at, one pass:       {after:8.1f} s  ({after_cpu:7.1f} s CPU)")
    print(
        f"  ratio {before / after:.1f}x wall, {before_cpu / after_cpu:.1f}x CPU; largest "
        f"relative difference {largest_difference(got, want):.1e}; "
        f"load average after {os.getloadavg()}; peak RSS {peak_rss_mb():,.0f} MiB"
    )
    con.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print(f"KPIs at {len(ENDS)} month ends ({ENDS[0]} .. {ENDS[-1]}), DuckDB in memory")
    for n in args.customers:
        measure(n)


if __name__ == "__main__":
    main()
