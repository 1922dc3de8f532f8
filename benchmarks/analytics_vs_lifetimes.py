"""retain.analytics against lifetimes 0.11.3 and PyMC-Marketing 0.19, side by side on the same files.

    python benchmarks/analytics_vs_lifetimes.py --setup   # the lifetimes and PyMC environments
    python benchmarks/analytics_vs_lifetimes.py --cdnow --orders 100000,1000000,10000000 \
        --spark-orders 100000,1000000 --engine-only-orders 300000,3000000

Data (benchmarks/data/, gitignored): CDNOW_master from the lifetimes wheel (pip download), and
order files simulated from a BG/NBD process (about 10 orders per customer, purchase days in
continuous time over 1-2 years, Gamma-Gamma spend). Each run is a fresh subprocess: our engine
(benchmarks/analytics_bench_engine.py, this environment, which also times one plain DuckDB
GROUP BY over the same orders: the floor of the summary) and the baselines
(benchmarks/analytics_bench_lifetimes.py in benchmarks/.venv-lifetimes,
benchmarks/analytics_bench_pymc.py in benchmarks/.venv-pymc; a size that PyMC does not finish
within --pymc-timeout is recorded as timed out). Prints markdown tables and writes every figure
to benchmarks/data/analytics-results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
LIFETIMES_VENV = HERE / ".venv-lifetimes"
LIFETIMES_PY = LIFETIMES_VENV / "bin" / "python"
PYMC_VENV = HERE / ".venv-pymc"
PYMC_PY = PYMC_VENV / "bin" / "python"
LIFETIMES, PYMC = "lifetimes 0.11.3", "PyMC-Marketing 0.19"
PEERS = (LIFETIMES, PYMC)
RESULTS = DATA / "analytics-results.json"
END = dt.date(2024, 12, 31)
# BG/NBD (per day) and Gamma-Gamma parameters of the simulated customers
SIM = {"r": 2.0, "alpha": 60.0, "a": 1.0, "b": 9.0, "p": 6.0, "q": 4.0, "v": 150.0}


def setup() -> None:
    """Create benchmarks/.venv-lifetimes (lifetimes 0.11.3 and its old pandas / numpy) and
    benchmarks/.venv-pymc (PyMC-Marketing 0.19 with PyMC and PyTensor, which compiles C with
    the system's gcc)."""
    if not LIFETIMES_PY.exists():
        subprocess.run(["python3.11", "-m", "venv", str(LIFETIMES_VENV)], check=True)
    subprocess.run(
        [str(LIFETIMES_PY), "-m", "pip", "install", "-q", "lifetimes==0.11.3", "pandas<2",
         "numpy<2", "scipy<1.14", "pyarrow<15"],
        check=True,
    )  # fmt: skip
    if not PYMC_PY.exists():
        subprocess.run(["python3.11", "-m", "venv", str(PYMC_VENV)], check=True)
    subprocess.run(
        [str(PYMC_PY), "-m", "pip", "install", "-q", "pymc-marketing>=0.19,<0.20", "pyarrow"],
        check=True,
    )


def cdnow() -> Path:
    target = DATA / "cdnow_master.parquet"
    if target.exists():
        return target
    DATA.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
         "lifetimes==0.11.3", "-d", str(DATA)],
        check=True,
    )  # fmt: skip
    wheel = next(w for w in DATA.glob("*.whl") if w.name.lower().startswith("lifetimes-0.11.3"))
    with zipfile.ZipFile(wheel) as z, z.open("lifetimes/datasets/CDNOW_master.txt") as raw:
        frame = pd.read_csv(raw, sep=r"\s+")
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype("int64"),
            "timestamp": pd.to_datetime(frame["date"].astype(str), format="%Y%m%d"),
            "amount": frame["dollar_value"].astype("float64"),
        }
    )
    out.to_parquet(target, index=False)
    return target


def simulate_orders(n_orders: int, seed: int = 42) -> Path:
    """About ``n_orders`` orders of n_orders / 10 customers from a BG/NBD + Gamma-Gamma process,
    in one Parquet file (benchmarks/data/bgnbd_N.parquet, kept for the next run)."""
    target = DATA / f"bgnbd_{n_orders}.parquet"
    if target.exists():
        return target
    DATA.mkdir(parents=True, exist_ok=True)
    simulated_orders(n_orders, seed).to_parquet(target, index=False, row_group_size=1_000_000)
    return target


def simulated_orders(n_orders: int, seed: int = 42) -> pd.DataFrame:
    """The orders of :func:`simulate_orders` as a frame (customer_id, timestamp, amount), in
    time order."""
    rng = np.random.default_rng(seed)
    n = max(n_orders // 10, 1)
    horizon = rng.uniform(365.0, 730.0, n)  # days from the first purchase to END
    lam = rng.gamma(SIM["r"], 1.0 / SIM["alpha"], n)
    drop = rng.beta(SIM["a"], SIM["b"], n)
    nu = rng.gamma(SIM["q"], 1.0 / SIM["v"], n)
    ids = [np.arange(n)]
    offsets = [np.zeros(n)]  # the first purchase, at arrival
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)  # BG/NBD: drop-out only after a *repeat* purchase
    while alive.any():  # one more purchase per customer still alive, per round
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1.0 / lam[idx])
        inside = now[idx] <= horizon[idx]
        hit = idx[inside]
        ids.append(hit)
        offsets.append(now[hit])
        alive[idx[~inside]] = False
        alive[hit[rng.random(hit.size) < drop[hit]]] = False
    cid = np.concatenate(ids)
    offset = np.concatenate(offsets)
    first = pd.Timestamp(END) + pd.Timedelta(hours=23) - pd.to_timedelta(horizon, unit="D")
    ts = first.to_numpy()[cid] + pd.to_timedelta(offset, unit="D").to_numpy()
    amount = np.round(rng.gamma(SIM["p"], 1.0 / nu[cid]), 2)
    order = np.argsort(ts, kind="stable")
    return pd.DataFrame(
        {
            "customer_id": cid[order].astype(np.int64),
            "timestamp": ts[order].astype("datetime64[us]"),
            "amount": amount[order],
        }
    )


def run(cmd: list[str], timeout: float) -> dict[str, object]:
    load = os.getloadavg()[0]  # the machine is shared: record how busy it was
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"not finished within {timeout:.0f} s", "load_avg": load}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load_avg"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return result


def engine(
    path: Path, as_of: dt.date, name: str = "duckdb", timeout: float = 3600
) -> dict[str, object]:
    script = HERE / "analytics_bench_engine.py"
    cmd = [sys.executable, str(script), "--data", str(path), "--as-of", as_of.isoformat()]
    full = ["--full-summary"] if name == "duckdb" else []  # the 34 columns, timed apart
    return run([*cmd, "--engine", name, *full], timeout)


def baseline(
    path: Path, as_of: dt.date, timeout: float, peer: str = LIFETIMES
) -> dict[str, object]:
    script, python = (
        (HERE / "analytics_bench_lifetimes.py", LIFETIMES_PY)
        if peer == LIFETIMES
        else (HERE / "analytics_bench_pymc.py", PYMC_PY)
    )
    cmd = [str(python), str(script), "--data", str(path), "--as-of", as_of.isoformat()]
    result = run(cmd, timeout)
    result["tool"] = peer  # the label of the table, whatever the script printed
    return result


def rel_diff(ours: dict[str, float], theirs: dict[str, float]) -> float:
    return max(abs(ours[k] - theirs[k]) / abs(theirs[k]) for k in theirs)


def _ordered(results: list[dict[str, object]]) -> list[dict[str, object]]:
    """CDNOW first, then by orders; per file retain (duckdb), the peers, retain (spark)."""
    tools = ["retain (duckdb)", *PEERS, "retain (spark)"]

    def key(r: dict[str, object]) -> tuple[int, int, int]:
        data, tool = str(r["data"]), str(r["tool"])
        size = 0 if data.startswith("CDNOW") else int(data.split()[-1].replace(",", ""))
        return (size, tools.index(tool) if tool in tools else 9, 0)

    return sorted(results, key=key)


def table(results: list[dict[str, object]]) -> str:
    lines = [
        "| data | orders | customers | tool | summary s | fit s | scoring s | LTV s | end to end s | peak RSS MiB | full summary s | GROUP BY floor s | summary / floor |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in _ordered(results):
        if "error" in r:
            t = r.get("times") or {}
            assert isinstance(t, dict)
            summary = f"{t['summary']:.2f}" if "summary" in t else ""
            lines.append(
                f"| {r['data']} | {r.get('orders', '')} | {r.get('customers', '')} | {r['tool']} "
                f"| {summary} | {r['error']} | | | | {r.get('peak_rss_mb', '')} | | | |"
            )
            continue
        t = r["times"]
        assert isinstance(t, dict)
        lines.append(
            f"| {r['data']} | {r['orders']:,} | {r['customers']:,} | {r['tool']} | "
            f"{t['summary']:.2f} | {t['fit']:.2f} | {t['scoring']:.3f} | {t['ltv']:.3f} | "
            f"{t['end_to_end']:.2f} | {r['peak_rss_mb']:,.0f} | "
            + (f"{t['full_summary']:.2f} |" if "full_summary" in t else " |")
            + (
                f" {t['group_by_floor']:.3f} | {t['summary'] / t['group_by_floor']:.1f}x |"
                if "group_by_floor" in t
                else " | |"
            )
        )
    return "\n".join(lines)


def ratios(results: list[dict[str, object]]) -> str:
    lines = [
        "| data | peer | summary speed-up | fit speed-up | end-to-end speed-up | end-to-end CPU ratio | BG/NBD max rel. diff | Gamma-Gamma max rel. diff |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    by: dict[object, dict[str, dict[str, Any]]] = {}
    for r in _ordered(results):
        by.setdefault(r["data"], {})[str(r["tool"])] = r
    for data, tools in by.items():
        ours = tools.get("retain (duckdb)")
        for peer in PEERS:
            theirs = tools.get(peer)
            if not ours or not theirs or "error" in ours:
                continue
            if "error" in theirs:
                lines.append(f"| {data} | {peer} | {theirs['error']} | | | | | |")
                continue
            lines.append(_ratio_row(data, peer, ours, theirs))
    return "\n".join(lines)


def _ratio_row(data: object, peer: str, ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    to, tt = ours["times"], theirs["times"]
    return (
        f"| {data} | {peer} | {tt['summary'] / to['summary']:.1f}x | "
        f"{tt['fit'] / to['fit']:.1f}x | "
        f"{tt['end_to_end'] / to['end_to_end']:.1f}x | "
        + (  # CPU seconds (all threads) of lifetimes over ours: less sensitive to load
            f"{theirs['cpu']['end_to_end'] / ours['cpu']['end_to_end']:.1f}x | "
            if "cpu" in ours and "cpu" in theirs
            else " | "
        )
        + f"{rel_diff(ours['bgnbd'], theirs['bgnbd']):.1e} | "
        f"{rel_diff(ours['gamma_gamma'], theirs['gamma_gamma']):.1e} |"
    )


def growth(results: list[dict[str, object]]) -> str:
    """Seconds per million orders of each tool on the simulated files: flat = linear growth."""
    lines = [
        "| tool | orders | summary s per 1M orders | end to end s per 1M orders |",
        "|---|---:|---:|---:|",
    ]
    rows = [r for r in results if "error" not in r and str(r["data"]).startswith("BG/NBD")]
    for r in sorted(rows, key=lambda r: (str(r["tool"]), int(r["orders"]))):  # type: ignore[call-overload]
        t = r["times"]
        assert isinstance(t, dict)
        per = 1e6 / float(r["orders"])  # type: ignore[arg-type]
        lines.append(
            f"| {r['tool']} | {r['orders']:,} | {t['summary'] * per:.2f} | "
            f"{t['end_to_end'] * per:.2f} |"
        )
    return "\n".join(lines)


def scaling_svg(results: list[dict[str, object]]) -> str:
    """Log-log plot of end-to-end and summary time against orders, per tool (plain SVG)."""
    import math

    series: dict[str, list[tuple[float, float]]] = {}
    for r in results:
        if "error" in r or not str(r["data"]).startswith("BG/NBD"):
            continue
        t = r["times"]
        assert isinstance(t, dict)
        for step in ("end_to_end", "summary"):
            series.setdefault(f"{r['tool']} {step.replace('_', ' ')}", []).append(
                (float(r["orders"]), float(t[step]))  # type: ignore[arg-type]
            )
    w, h, pad = 640, 400, 60
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    lx0, lx1 = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
    ly0, ly1 = math.log10(min(ys)) - 0.2, math.log10(max(ys)) + 0.2

    def px(x: float) -> float:
        return pad + (math.log10(x) - lx0) / (lx1 - lx0) * (w - 2 * pad)

    def py(y: float) -> float:
        return h - pad - (math.log10(y) - ly0) / (ly1 - ly0) * (h - 2 * pad)

    colors = ["#1d3557", "#457b9d", "#e63946", "#f4a261", "#2a9d8f", "#8d99ae"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">Time against orders (log-log; slope 1 = linear)</text>',
    ]
    for e in range(math.ceil(lx0), math.floor(lx1) + 1):
        out.append(
            f'<line x1="{px(10**e)}" y1="{pad}" x2="{px(10**e)}" y2="{h - pad}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{px(10**e)}" y="{h - pad + 15}" text-anchor="middle">1e{e} orders</text>'
        )
    for e in range(math.ceil(ly0), math.floor(ly1) + 1):
        out.append(
            f'<line x1="{pad}" y1="{py(10**e)}" x2="{w - pad}" y2="{py(10**e)}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{pad - 5}" y="{py(10**e) + 4}" text-anchor="end">{10**e:g} s</text>')
    for i, (name, pts) in enumerate(sorted(series.items())):
        pts.sort()
        c = colors[i % len(colors)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        out.extend(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}"/>' for x, y in pts)
        out.append(f'<text x="{pad + 10}" y="{pad + 14 * i}" fill="{c}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--cdnow", action="store_true")
    parser.add_argument("--orders", default="", help="sizes run by both tools, e.g. 100000,1000000")
    parser.add_argument("--spark-orders", default="", help="sizes also run on Spark local mode")
    parser.add_argument("--engine-only-orders", default="", help="sizes run by retain only")
    parser.add_argument("--lifetimes-timeout", type=float, default=3600)
    parser.add_argument("--pymc-timeout", type=float, default=1800)
    parser.add_argument("--spark-timeout", type=float, default=3600)
    parser.add_argument("--report", action="store_true", help="print the tables of saved results")
    parser.add_argument("--plot", type=Path, help="write the scaling plot (SVG) of saved results")
    args = parser.parse_args()
    if args.setup:
        setup()
        return
    if args.plot:
        args.plot.write_text(scaling_svg(json.loads(RESULTS.read_text())))
        return
    if args.report:
        saved = json.loads(RESULTS.read_text())
        print(table(saved))
        print()
        print(ratios(saved))
        print()
        print(growth(saved))
        return

    def sizes(text: str) -> list[int]:
        return [int(s) for s in text.split(",") if s]

    results: list[dict[str, object]] = []

    def record(data: str, result: dict[str, object], tool: str) -> None:
        result.setdefault("tool", tool)
        result["data"] = data
        results.append(result)
        print(json.dumps(result), flush=True)

    if args.cdnow:
        path, as_of = cdnow(), dt.date(1998, 6, 30)
        record("CDNOW_master", engine(path, as_of), "retain (duckdb)")
        record("CDNOW_master", baseline(path, as_of, args.lifetimes_timeout), LIFETIMES)
        record("CDNOW_master", baseline(path, as_of, args.pymc_timeout, PYMC), PYMC)
    spark_sizes = set(sizes(args.spark_orders))
    both = sizes(args.orders)
    for n in sorted(set(both) | spark_sizes | set(sizes(args.engine_only_orders))):
        path, label = simulate_orders(n), f"BG/NBD {n:,}"
        record(label, engine(path, END), "retain (duckdb)")
        if n in both:
            record(label, baseline(path, END, args.lifetimes_timeout), LIFETIMES)
            record(label, baseline(path, END, args.pymc_timeout, PYMC), PYMC)
        if n in spark_sizes:
            record(label, engine(path, END, "spark", args.spark_timeout), "retain (spark)")

    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    keep = [
        r
        for r in previous
        if (r["data"], r["tool"]) not in {(x["data"], x["tool"]) for x in results}
    ]
    RESULTS.write_text(json.dumps(keep + results, indent=1))
    everything = keep + results
    print()
    print(table(everything))
    print()
    print(ratios(everything))
    print()
    print(growth(everything))


if __name__ == "__main__":
    main()
