"""The churn reason codes: the current code against a named earlier version, side by side.

Loads ``src/retain/analytics/_risk.py`` as it was at ``--baseline`` (a git revision; default
the commit before the reasons were vectorised) beside the current module, builds the same
simulated customers (every code reachable, random per-feature contributions), and times both
for the learned reasons and the rule-based ones of the BG/NBD fallback; it checks that every
customer gets the same text.

    .venv/bin/python benchmarks/churn_reasons.py --customers 1000000
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from retain.analytics import _risk as current
from retain.analytics._churn import CHURN_FEATURES
from retain.analytics._settings import AnalyticsSettings

ROOT = Path(__file__).resolve().parent.parent


def baseline_module(revision: str):  # type: ignore[no-untyped-def]
    source = subprocess.run(
        ["git", "show", f"{revision}:src/retain/analytics/_risk.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "risk_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("risk_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["risk_baseline"] = module
    spec.loader.exec_module(module)
    return module


def customers(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)

    def pick(values: list[float]) -> np.ndarray:
        return rng.choice(values, n)

    frame = pd.DataFrame(
        {
            "recency_days": rng.integers(0, 800, n).astype(float),
            "avg_interpurchase_days": np.where(
                rng.random(n) < 0.3, np.nan, pick([0, 1, 10, 33.3, 100, 250.7])
            ),
            "order_count": rng.integers(1, 20, n),
            "T_days": rng.integers(0, 900, n),
            "total_spend": np.round(rng.gamma(2, 300, n), 2),
            "recent_spend": pick([0, 0, 10.5, 100, -5, 1000.25]),
            "previous_spend": pick([0, 0, 20, 100, 300.3]),
            "recent_orders": pick([0, 1, 2, 5]),
            "previous_orders": pick([0, 1, 3]),
            "refund_count": pick([0, 0, 0, 1, 2]),
            "open_complaints": pick([0, 0, 0, 1, 3]),
            "open_complaint_days": pick([0, -1, 5, 12.5]),
            "recent_complaints": pick([0, 0, 1]),
            "last_nps": np.where(rng.random(n) < 0.5, np.nan, rng.integers(0, 11, n)),
            "recent_interactions": pick([0, 1, 4]),
            "overdue_followups": pick([0, 0, 1]),
            "followups_lost": pick([0, 0, 2]),
        }
    )
    p_alive = np.where(rng.random(n) < 0.05, np.nan, rng.random(n))
    p_buy = rng.random(n)
    contributions = rng.normal(0, 1, (n, len(CHURN_FEATURES)))
    contributions[rng.random(contributions.shape) < 0.3] = 0
    return frame, p_alive, p_buy, contributions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--baseline", default="9ea3cc0~1", help="git revision of the baseline")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    old = baseline_module(args.baseline)
    frame, p_alive, p_buy, contributions = customers(args.customers, args.seed)
    print(f"{args.customers:,} customers; baseline {args.baseline}; load {os.getloadavg()}")
    for label, cfg in (
        ("defaults (3 reasons)", AnalyticsSettings()),
        ("5 reasons, other cut-offs", AnalyticsSettings(risk_max_reasons=5, risk_spend_drop=0.9)),
    ):
        started = time.perf_counter()
        rows = old._rows(frame, p_alive, p_buy)
        learned_old = [
            old.format_reasons(r) for r in old._learned_reasons(rows, contributions, cfg)
        ]
        mid = time.perf_counter()
        rules_old = [old.format_reasons(r) for r in old._rule_reasons(rows, cfg)]
        done_old = time.perf_counter()
        cols = current._columns(frame, p_alive, p_buy)
        learned_new = current._learned_reasons(cols, contributions, cfg)
        mid_new = time.perf_counter()
        rules_new = current._rule_reasons(cols, cfg)
        done_new = time.perf_counter()
        same = learned_old == learned_new and rules_old == rules_new
        print(
            f"{label}: learned {mid - started:.2f} s -> {mid_new - done_old:.2f} s "
            f"({(mid - started) / (mid_new - done_old):.1f}x); rules {done_old - mid:.2f} s -> "
            f"{done_new - mid_new:.2f} s ({(done_old - mid) / (done_new - mid_new):.1f}x); "
            f"same text for every customer: {same}"
        )


if __name__ == "__main__":
    main()
