"""`retain analyze` end to end on DuckDB and on Spark local mode, side by side on the same folder.

    python benchmarks/analyze_engines.py --orders 1000000,10000000 --dir /tmp/spark10m \
        --spark-master 'local[2]' --spark-conf spark.driver.memory=6g --quiet-flag /tmp/quiet.flag

Data: the simulated BG/NBD orders of analytics_vs_lifetimes.py (about 10 orders per customer,
1-2 years of history up to 2024-12-31), written as a folder of ``--parts`` Parquet part files
(customer_id int64, timestamp, amount) in ``--dir`` and kept there for the next run.

Each run is the command line itself in a fresh process, exactly what the ``retain`` console
script does (``from retain.cli import main; main()``) with this interpreter, so PYTHONPATH
picks the code: ``retain analyze DIR/orders_N --customer-col customer_id --date-col timestamp
--amount-col amount --as-of 2024-12-31 --out DIR/scores_N_ENGINE`` (a folder: the scores as
Parquet), plus ``--engine spark --spark-master M --spark-conf k=v ...`` on Spark. Measured on
the whole process tree (the Python driver, Spark's JVM and its Python workers; see
``_timing.run_tree``): wall time until the last process exits, CPU seconds of every process,
peak RSS. The steps are read from the command's own progress line (Rich, forced to draw with
FORCE_COLOR): the time each description first appears, to about 0.1 s (Rich redraws ten times a
second). ``start`` is Python's imports up to the progress line, ``spark start`` the
SparkSession (JVM start-up), ``exit`` from "done" to the exit of the last process (stopping
Spark). ``work`` is the wall time without ``start``, ``spark start`` and ``exit``.

The two engines' scores are compared as the cross-engine tests compare them
(tests/analytics/test_analyze_spark.py): text equal, numbers to rtol 1e-6 with atol 1e-9 (1e-6
for the learned churn probability and what follows from it). Prints a table; every figure goes
to DIR/analyze-engines-results.json. No timed assertion: this is a measurement. With
``--event-log LOGDIR`` Spark also writes its event log there (uncompressed), and the results
gain what the executors read, shuffled and spilled, and the stages that ran as one long task.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _timing import run_tree
from analytics_vs_lifetimes import END, simulated_orders

#: the progress descriptions of retain analyze, in order, and the step each one starts
STEPS = (
    ("starting Spark", "spark start"),
    ("reading orders", "read"),
    ("summarising", "summary"),
    ("fitting models", "fit"),
    ("learning the churn", "churn"),
    ("scoring customers", "scoring"),
    ("KPIs and cohorts", "kpis"),
    ("writing", "write"),
    ("done", "exit"),
)
COLUMNS = ("start", *(name for _, name in STEPS))
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# the tolerances of tests/analytics/test_analyze_spark.py::assert_same_scores
CHURN_FIT = ("churn_probability", "expected_lost_value", "churn_risk")
RTOL, ATOL, ATOL_CHURN = 1e-6, 1e-9, 1e-6
CLI = "import sys; from retain.cli import main; sys.argv[0] = 'retain'; sys.exit(main())"


def order_folder(folder: Path, n_orders: int, parts: int) -> Path:
    """The simulated orders as ``parts`` Parquet files in ``folder`` (kept when already there)."""
    target = folder / f"orders_{n_orders}"
    if target.is_dir() and len(list(target.glob("part-*.parquet"))) == parts:
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    frame = simulated_orders(n_orders)
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[rows].to_parquet(target / f"part-{i:05d}.parquet", index=False)
    return target


class StepClock:
    """When the progress description of ``retain analyze`` changes, read from standard error."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, float]] = []  # (step, seconds since start)
        self._tail = ""

    def __call__(self, at: float, chunk: bytes) -> None:
        text = self._tail + chunk.decode(errors="replace")
        frames = re.split(r"[\r\n]", text)
        self._tail = frames.pop()  # maybe cut in the middle: read again with the next chunk
        for frame in frames:
            plain = _ANSI.sub("", frame)
            step = next(
                (name for prefix, name in STEPS if re.search(rf"(^|\s){prefix}", plain)), None
            )
            if step is not None and (not self.changes or self.changes[-1][0] != step):
                self.changes.append((step, at))

    def steps(self, wall: float) -> dict[str, float]:
        """Seconds spent in every step, ``start`` before the first and ``exit`` up to ``wall``."""
        if not self.changes:
            return {}
        out = {"start": self.changes[0][1]}
        ends = [at for _, at in self.changes[1:]] + [wall]
        for (step, at), end in zip(self.changes, ends, strict=True):
            out[step] = out.get(step, 0.0) + end - at
        return out


def analyze(
    orders: Path, out: Path, engine: str, spark_args: list[str], timeout: float
) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    args = [
        "analyze", str(orders), "--customer-col", "customer_id", "--date-col", "timestamp",
        "--amount-col", "amount", "--as-of", END.isoformat(), "--out", str(out),
    ]  # fmt: skip
    if engine == "spark":
        args += ["--engine", "spark", *spark_args]
    clock = StepClock()
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "160"}
    load = os.getloadavg()
    run = run_tree([sys.executable, "-c", CLI, *args], env=env, timeout=timeout, on_stderr=clock)
    tail = _ANSI.sub("", run.stderr.rsplit("\r", 1)[-1]).strip()
    result: dict[str, Any] = {
        "engine": engine,
        "command": "retain " + " ".join(args),
        "returncode": run.returncode,
        "wall": run.wall,
        "cpu": run.cpu,
        "peak_rss_mb": run.peak_rss_mb,
        "peak_rss_sampled_mb": run.peak_rss_sampled_mb,
        "largest_process_mb": run.largest_process_mb,
        "processes": run.processes,
        "steps": clock.steps(run.wall),
        "load_avg_before": [round(x, 2) for x in load],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "output": tail[-2000:],
    }
    steps = result["steps"]
    fixed = sum(steps.get(s, 0.0) for s in ("start", "spark start", "exit"))
    result["work"] = run.wall - fixed if steps else None
    return result


def spark_events(log: Path) -> dict[str, Any]:
    """Totals of one Spark event log (``--event-log``): what the executors read, shuffled and
    spilled, and the stages whose longest task took most of the stage (one task doing the
    work while the other cores wait: it does not get faster with more executors)."""
    read = written = records = spilled = 0
    stages: dict[tuple[int, int], list[int]] = {}  # (stage, attempt) -> task run times, ms
    names: dict[tuple[int, int], str] = {}
    # Spark 4 rolls its log by default: a folder of events_N_* files
    files = (
        sorted(log.glob("events_*"), key=lambda f: int(f.name.split("_")[1]))
        if log.is_dir()
        else [log]
    )
    lines = [line for f in files for line in f.read_text().splitlines() if line]
    for line in lines:
        event = json.loads(line)
        kind = event.get("Event")
        if kind == "SparkListenerTaskEnd" and event.get("Task Metrics"):
            m = event["Task Metrics"]
            read += m["Input Metrics"]["Bytes Read"]
            written += m["Shuffle Write Metrics"]["Shuffle Bytes Written"]
            records += m["Shuffle Write Metrics"]["Shuffle Records Written"]
            spilled += m["Disk Bytes Spilled"]
            key = (event["Stage ID"], event["Stage Attempt ID"])
            stages.setdefault(key, []).append(m["Executor Run Time"])
        elif kind == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            names[(info["Stage ID"], info["Stage Attempt ID"])] = info["Stage Name"]
    total = sum(sum(t) for t in stages.values())
    single = [
        {"stage": names.get(k, str(k)), "tasks": len(t), "longest_task_s": max(t) / 1000}
        for k, t in stages.items()
        if max(t) >= 1000 and max(t) >= 0.8 * sum(t)  # one task, at least a second
    ]
    return {
        "input_mib": read / 2**20,
        "shuffle_written_mib": written / 2**20,
        "shuffle_records": records,
        "disk_spilled_mib": spilled / 2**20,
        "stages": len(stages),
        "tasks": sum(len(t) for t in stages.values()),
        "task_seconds": total / 1000,
        "single_task_seconds": sum(s["longest_task_s"] for s in single),
        "single_task_stages": sorted(single, key=lambda s: -s["longest_task_s"])[:5],
    }


def compare(spark_out: Path, duck_out: Path) -> dict[str, Any]:
    """Where the Spark scores differ from DuckDB's beyond the cross-engine tolerance."""
    got, want = pd.read_parquet(spark_out), pd.read_parquet(duck_out)
    report: dict[str, Any] = {"rows": [len(got), len(want)], "differ": {}, "max_abs_diff": {}}
    if list(got.columns) != list(want.columns) or len(got) != len(want):
        report["differ"]["shape"] = f"{list(got.columns)} vs {list(want.columns)}"
        return report
    for col in want.columns:
        if pd.api.types.is_numeric_dtype(want[col]) and col != "customer_id":
            g, w = got[col].to_numpy(np.float64), want[col].to_numpy(np.float64)
            atol = ATOL_CHURN if col in CHURN_FIT else ATOL
            bad = ~np.isclose(g, w, rtol=RTOL, atol=atol, equal_nan=True)
            both = ~(np.isnan(g) | np.isnan(w))
            report["max_abs_diff"][col] = float(np.max(np.abs(g - w)[both], initial=0.0))
        else:
            g = got[col].astype(str).where(got[col].notna(), "<null>")
            w = want[col].astype(str).where(want[col].notna(), "<null>")
            bad = (g != w).to_numpy()
        if bad.any():
            report["differ"][col] = int(bad.sum())
    return report


def wait_quiet(flag: Path | None) -> None:
    """Someone else measures while ``flag`` exists: wait (30 s at a time) until it is gone."""
    while flag is not None and flag.exists():
        print(f"# {flag} exists: waiting 30 s", file=sys.stderr, flush=True)
        time.sleep(30)


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| orders | customers | engine | load avg (1/5/15 min, before) | wall s | work s | CPU s "
        "| peak RSS MiB (tree) | " + " | ".join(f"{c} s" for c in COLUMNS) + " |"
    )
    lines = [head, "|" + "---|" * 3 + "---|" + "---:|" * (4 + len(COLUMNS))]
    for r in results:
        steps = r["steps"]
        cells = [f"{steps[c]:.1f}" if c in steps else "" for c in COLUMNS]
        failed = "" if r["returncode"] == 0 else f" (exit {r['returncode']})"
        lines.append(
            f"| {r['orders']:,} | {r.get('customers', 0):,} | {r['engine']}{failed} | "
            f"{' / '.join(f'{x:.2f}' for x in r['load_avg_before'])} | {r['wall']:.1f} | "
            + (f"{r['work']:.1f}" if r["work"] is not None else "")
            + f" | {r['cpu']:.1f} | {r['peak_rss_mb']:,.0f} | "
            + " | ".join(cells)
            + " |"
        )
    for r in results:
        e = r.get("events")
        if e:
            lines.append(
                f"\n{r['orders']:,} orders on Spark: read {e['input_mib']:,.0f} MiB, shuffle "
                f"written {e['shuffle_written_mib']:,.0f} MiB ({e['shuffle_records']:,} records), "
                f"spilled {e['disk_spilled_mib']:,.0f} MiB, {e['tasks']:,} tasks in "
                f"{e['stages']} stages, {e['task_seconds']:,.0f} task-seconds, of which "
                f"{e['single_task_seconds']:,.0f} in stages that ran as one task; the longest: "
                + "; ".join(
                    f"{s['stage']} {s['longest_task_s']:.1f} s" for s in e["single_task_stages"]
                )
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--orders", default="100000", help="sizes, e.g. 1000000,10000000")
    parser.add_argument("--dir", type=Path, default=Path(__file__).parent / "data" / "analyze")
    parser.add_argument("--parts", type=int, default=8, help="Parquet part files per folder")
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--spark-conf", action="append", default=None, help="key=value, repeatable")
    parser.add_argument(
        "--event-log",
        type=Path,
        help="also write Spark's event log here and report shuffle, spill and one-task stages",
    )
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--quiet-flag", type=Path, help="wait while this file exists")
    parser.add_argument("--report", action="store_true", help="print the table of saved results")
    args = parser.parse_args()
    saved = args.dir / "analyze-engines-results.json"
    if args.report:
        print(table(json.loads(saved.read_text())))
        return
    conf = args.spark_conf if args.spark_conf is not None else ["spark.driver.memory=6g"]
    spark_args = ["--spark-master", args.spark_master]
    if args.event_log is not None:
        args.event_log.mkdir(parents=True, exist_ok=True)
        conf += [
            "spark.eventLog.enabled=true",
            f"spark.eventLog.dir={args.event_log.resolve()}",
            "spark.eventLog.compress=false",
        ]
    for item in conf:
        spark_args += ["--spark-conf", item]
    engines = args.engines.split(",")
    results: list[dict[str, Any]] = []
    for n in (int(s) for s in args.orders.split(",") if s):
        wait_quiet(args.quiet_flag)  # writing the files is heavy work too
        folder = order_folder(args.dir, n, args.parts)
        outs: dict[str, Path] = {}
        for engine in engines:
            wait_quiet(args.quiet_flag)
            uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
            print(f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, {n:,} orders, {engine}: "
                  f"uptime: {uptime}", file=sys.stderr, flush=True)  # fmt: skip
            outs[engine] = args.dir / f"scores_{n}_{engine}"
            result = analyze(folder, outs[engine], engine, spark_args, args.timeout)
            result.update(orders=n, uptime=uptime, parts=args.parts)
            result["quiet_flag_after"] = bool(args.quiet_flag and args.quiet_flag.exists())
            if result["returncode"] == 0:
                result["customers"] = len(pd.read_parquet(outs[engine], columns=["customer_id"]))
            if engine == "spark" and args.event_log is not None:
                logs = sorted(args.event_log.iterdir(), key=lambda p: p.stat().st_mtime)
                result["events"] = spark_events(logs[-1]) if logs else None
            results.append(result)
            print(json.dumps(result), flush=True)
        if {"duckdb", "spark"} <= outs.keys() and all(r["returncode"] == 0 for r in results[-2:]):
            agreement = compare(outs["spark"], outs["duckdb"])
            results[-1]["agreement"] = agreement
            print(f"# {n:,} orders, Spark against DuckDB: {json.dumps(agreement)}", flush=True)
    previous = json.loads(saved.read_text()) if saved.exists() else []
    done = {(r["orders"], r["engine"]) for r in results}
    everything = [r for r in previous if (r["orders"], r["engine"]) not in done] + results
    everything.sort(key=lambda r: (r["orders"], r["engine"]))
    saved.write_text(json.dumps(everything, indent=1))
    print()
    print(table(everything))


if __name__ == "__main__":
    main()
