"""Time PyMC-Marketing 0.19 on one order file; prints one JSON object. The second baseline.

Runs in its own environment (PyMC, PyTensor and their numpy / pandas), created by
`python benchmarks/analytics_vs_lifetimes.py --setup`:

    benchmarks/.venv-pymc/bin/python benchmarks/analytics_bench_pymc.py \
        --data FILE.parquet --as-of YYYY-MM-DD

Same steps and units as analytics_bench_engine.py and analytics_bench_lifetimes.py: summary
(``pymc_marketing.clv.rfm_summary``, time_unit="D"), fit (``BetaGeoModel`` on every buyer and
``GammaGammaModel`` on the repeat buyers with a positive spend, both ``method="map"`` with
``HalfFlat`` priors on every parameter: ``pm.find_MAP`` maximises the log density without the
Jacobian of the log transform, so with flat priors this is the maximum-likelihood estimate, the
same optimum as lifetimes' and retain's unpenalised fits), scoring (``expected_probability_alive``
and ``expected_purchases`` in 30 / 90 / 365 days), ltv
(``GammaGammaModel.expected_customer_lifetime_value``, 12 months, 1% a month, time_unit="D").
Each run of the pipeline builds new models, as a scoring job would; the first run also pays
PyTensor's compilation of the C code (cached on disk under ~/.pytensor afterwards). The steps run
``--repeat`` times (3) in turn; each step's median is reported.
"""

from __future__ import annotations

import argparse
import json
import logging
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
    logging.getLogger("pymc").setLevel(logging.ERROR)

    import pandas as pd
    import pymc_marketing
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel, rfm_summary

    def flat(*names: str) -> dict[str, Prior]:
        return {name: Prior("HalfFlat") for name in names}

    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    start, cpu_start = time.perf_counter(), time.process_time()
    orders = pd.read_parquet(args.data, columns=[args.customer_col, args.date_col, args.amount_col])
    times["load"] = time.perf_counter() - start
    cpu["load"] = time.process_time() - cpu_start

    timer = StepTimer()
    for _ in range(args.repeat):
        with timer.step("summary"):
            summary = rfm_summary(
                orders,
                args.customer_col,
                args.date_col,
                monetary_value_col=args.amount_col,
                observation_period_end=args.as_of,
                time_unit="D",
            )
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        with timer.step("fit"):
            bg = BetaGeoModel(model_config=flat("r", "alpha", "a", "b"))
            bg.fit(data=summary[["customer_id", "frequency", "recency", "T"]], method="map",
                   progressbar=False)  # fmt: skip
            gg = GammaGammaModel(model_config=flat("p", "q", "v"))
            gg.fit(data=repeat[["customer_id", "frequency", "monetary_value"]], method="map",
                   progressbar=False)  # fmt: skip
        with timer.step("scoring"):
            p_alive = bg.expected_probability_alive()
            expected = [bg.expected_purchases(future_t=d) for d in (30, 90, 365)]
        with timer.step("ltv"):
            ltv = gg.expected_customer_lifetime_value(
                bg, data=summary.copy(), future_t=12, discount_rate=0.01, time_unit="D"
            )
    medians, cpu_medians = timer.medians()
    times.update(medians)
    cpu.update(cpu_medians)

    def value(model: BetaGeoModel | GammaGammaModel, name: str) -> float:
        return float(model.fit_result[name].values.squeeze())

    print(
        json.dumps(
            {
                "tool": f"PyMC-Marketing {pymc_marketing.__version__}",
                "orders": len(orders),
                "customers": len(summary),
                "times": times,
                "cpu": cpu,
                "first_run": {step: timer.wall[step][0] for step in timer.wall},
                "peak_rss_mb": peak_rss_mb(),
                "bgnbd": {k: value(bg, k) for k in ("r", "alpha", "a", "b")},
                "gamma_gamma": {k: value(gg, k) for k in ("p", "q", "v")},
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
