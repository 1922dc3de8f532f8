"""Time retain.analytics on one order file; prints one JSON object (run by analytics_vs_lifetimes).

    python benchmarks/analytics_bench_engine.py --data FILE.parquet --as-of YYYY-MM-DD \
        [--engine duckdb|spark] [--customer-col customer_id --date-col timestamp --amount-col amount]

Steps: load (read the file into the engine's memory: a DuckDB table, a cached Spark frame,
as lifetimes reads it into pandas; not compared), group_by_floor (DuckDB only, not in end to
end: one plain ``GROUP BY customer`` with count, min / max timestamp and sum of the amount over
the same in-memory table, pulled as Arrow, run right before each summary: the cost of one exact
pass over the orders, the floor of any exact summary), summary (the model inputs, what lifetimes'
summary_data_from_transaction_data computes: ``model_inputs`` in the backend, pulled through
Arrow into pandas), fit (BG/NBD + Gamma-Gamma), scoring (P(alive) and expected purchases in
30 / 90 / 365 days), ltv (12 months, 1% a month). The four steps run ``--repeat`` times (3) in
turn; each step's median is reported. With --full-summary, also the time of the full
``customer_summary`` (RFM, windows, labels), once, reported apart, not in end to end. Time
unit: days, like lifetimes with freq="D". Peak memory is the peak RSS (VmHWM) of this process
plus its children (the Spark JVM).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

from _timing import StepTimer, process_tree


def peak_rss_mb() -> float:
    """Sum of VmHWM (peak resident set) of this process and its descendants, in MiB."""
    total = 0
    for pid in process_tree(os.getpid()):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--customer-col", default="customer_id")
    parser.add_argument("--date-col", default="timestamp")
    parser.add_argument("--amount-col", default="amount")
    parser.add_argument("--full-summary", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the pipeline (median)")
    args = parser.parse_args()

    import ibis
    import numpy as np

    from retain.analytics import (
        AnalyticsSettings,
        OrderColumns,
        Tables,
        customer_summary,
        fit_models,
        model_inputs,
    )
    from retain.analytics._models import lifetime_value
    from retain.analytics._scoring import to_frame

    as_of = dt.date.fromisoformat(args.as_of)
    settings = AnalyticsSettings(model_time_unit_days=1.0)
    cols = OrderColumns(
        customer_id=args.customer_col, timestamp=args.date_col, amount=args.amount_col
    )
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU seconds of this process per step
    spark = None

    start, cpu_start = time.perf_counter(), time.process_time()
    if args.engine == "duckdb":
        con = ibis.duckdb.connect()
        orders = con.read_parquet(args.data).cache()  # in memory, as pandas holds lifetimes'
    else:
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", "6g")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        con = ibis.pyspark.connect(spark)
        orders = con.read_parquet(args.data).cache()
    n_orders = int(orders.count().to_pandas())
    times["load"] = time.perf_counter() - start
    cpu["load"] = time.process_time() - cpu_start

    inputs = Tables(orders, columns=cols)
    floor_sql = (  # the floor of any exact summary: one grouping of the orders by customer
        f'SELECT "{cols.customer_id}", count(*), min("{cols.timestamp}"), '
        f'max("{cols.timestamp}"), sum("{cols.amount}") FROM {orders.get_name()} '
        f'GROUP BY "{cols.customer_id}"'
    )
    timer = StepTimer()
    for _ in range(args.repeat):  # the whole pipeline, again and again: the median is kept
        if args.engine == "duckdb":  # beside each summary, on the same in-memory table
            with timer.step("group_by_floor"):
                floor_rows = con.con.sql(floor_sql).to_arrow_table().num_rows
        with timer.step("summary"):
            summary = to_frame(model_inputs(inputs, as_of=as_of, settings=settings))
        with timer.step("fit"):
            models = fit_models(summary, settings)
        buyers = summary[summary["T_days"].notna()]
        x = buyers["frequency"].to_numpy(np.float64)
        t_x = buyers["t_x_days"].to_numpy(np.float64)
        t_obs = buyers["T_days"].to_numpy(np.float64)
        m = buyers["monetary_value"].to_numpy(np.float64)
        with timer.step("scoring"):
            p_alive = models.bgnbd.predict_proba_alive(x, t_x, t_obs)
            expected = [
                models.bgnbd.predict_purchases(d, x, t_x, t_obs) for d in (30.0, 90.0, 365.0)
            ]
        assert models.gamma_gamma is not None
        with timer.step("ltv"):
            ltv = lifetime_value(
                models.bgnbd, models.gamma_gamma, x, t_x, t_obs, m,
                months=12, monthly_discount_rate=0.01, days_per_unit=1.0,
            )  # fmt: skip
    medians, cpu_medians = timer.medians()
    times.update(medians)
    cpu.update(cpu_medians)
    peak = peak_rss_mb()  # of the steps above; the full summary comes after
    if args.full_summary:
        start, cpu_start = time.perf_counter(), time.process_time()
        full = to_frame(customer_summary(inputs, as_of=as_of, settings=settings))
        times["full_summary"] = time.perf_counter() - start
        cpu["full_summary"] = time.process_time() - cpu_start
        assert len(full) == len(summary)
    if spark is not None:
        spark.stop()
    bg, gg = models.bgnbd, models.gamma_gamma
    print(
        json.dumps(
            {
                "tool": f"retain ({args.engine})",
                "orders": n_orders,
                "customers": len(buyers),
                "times": times,
                "cpu": cpu,
                "peak_rss_mb": peak,
                **({"group_by_floor_rows": floor_rows} if args.engine == "duckdb" else {}),
                "bgnbd": {"r": bg.r_, "alpha": bg.alpha_, "a": bg.a_, "b": bg.b_},
                "gamma_gamma": {"p": gg.p_, "q": gg.q_, "v": gg.v_},
                "checks": {
                    "p_alive_mean": float(p_alive.mean()),
                    "expected_30d_sum": float(expected[0].sum()),
                    "ltv_sum": float(ltv.sum()),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
