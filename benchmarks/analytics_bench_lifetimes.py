"""Time lifetimes 0.11.3 on one order file; prints one JSON object. The baseline.

Runs in its own environment (lifetimes needs pandas<2 and numpy<2), created by
`python benchmarks/analytics_vs_lifetimes.py --setup`:

    benchmarks/.venv-lifetimes/bin/python benchmarks/analytics_bench_lifetimes.py \
        --data FILE.parquet --as-of YYYY-MM-DD

Same steps and units as analytics_bench_engine.py: summary (summary_data_from_transaction_data,
freq="D"), fit (BetaGeoFitter + GammaGammaFitter, no penalty), scoring (conditional P(alive) and
expected purchases in 30 / 90 / 365 days), ltv (customer_lifetime_value, 12 months, 1%), each
run ``--repeat`` times (3) in turn, the median reported.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

from _timing import StepTimer, peak_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--customer-col", default="customer_id")
    parser.add_argument("--date-col", default="timestamp")
    parser.add_argument("--amount-col", default="amount")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the pipeline (median)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    times = {}
    cpu = {}  # CPU seconds of this process per step
    start, cpu_start = time.perf_counter(), time.process_time()
    orders = pd.read_parquet(args.data, columns=[args.customer_col, args.date_col, args.amount_col])
    times["load"] = time.perf_counter() - start
    cpu["load"] = time.process_time() - cpu_start

    timer = StepTimer()
    for _ in range(args.repeat):  # the whole pipeline, again and again: the median is kept
        with timer.step("summary"):
            summary = summary_data_from_transaction_data(
                orders,
                args.customer_col,
                args.date_col,
                monetary_value_col=args.amount_col,
                observation_period_end=pd.Timestamp(args.as_of),
                freq="D",
            )
        f, r, t = summary["frequency"], summary["recency"], summary["T"]
        m = summary["monetary_value"]
        repeat = (f > 0) & (m > 0)
        try:
            with timer.step("fit"):
                bgf = BetaGeoFitter(penalizer_coef=0.0).fit(f, r, t)
                ggf = GammaGammaFitter(penalizer_coef=0.0).fit(f[repeat], m[repeat])
        except Exception as exc:  # lifetimes raises ConvergenceError on large data
            print(
                json.dumps(
                    {
                        "tool": "lifetimes 0.11.3",
                        "orders": len(orders),
                        "customers": len(summary),
                        "times": {"summary": timer.wall["summary"][-1]},
                        "peak_rss_mb": peak_rss_mb(),
                        "error": f"BetaGeoFitter.fit failed: {type(exc).__name__}: {exc}"[:300],
                    }
                )
            )
            return
        with timer.step("scoring"):
            p_alive = bgf.conditional_probability_alive(f, r, t)
            expected = [
                bgf.conditional_expected_number_of_purchases_up_to_time(d, f, r, t)
                for d in (30, 90, 365)
            ]
        with timer.step("ltv"):
            ltv = ggf.customer_lifetime_value(
                bgf, f, r, t, m.where(repeat, 0.0), time=12, discount_rate=0.01, freq="D"
            )
    medians, cpu_medians = timer.medians()
    times.update(medians)
    cpu.update(cpu_medians)
    p = bgf.params_
    g = ggf.params_
    print(
        json.dumps(
            {
                "tool": "lifetimes 0.11.3",
                "orders": len(orders),
                "customers": len(summary),
                "times": times,
                "cpu": cpu,
                "peak_rss_mb": peak_rss_mb(),
                "bgnbd": {"r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"]},
                "gamma_gamma": {"p": g["p"], "q": g["q"], "v": g["v"]},
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
