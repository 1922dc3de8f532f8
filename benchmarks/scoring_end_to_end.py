"""``retain score`` end to end (engine, scores and history, KPIs, tags, board figures) and the
daily steps that follow it (playbook tasks, churn alerts): time and CPU of each stage and
peak memory, on the database of RETAIN_DATABASE_URL (PostgreSQL) or a SQLite file in
RETAIN_HOME.

    # a demo company of 100,000 customers, then two runs (the first trains the churn model)
    RETAIN_HOME=$(mktemp -d) RETAIN_DATABASE_URL=postgresql://127.0.0.1:5432/NAME \\
        .venv/bin/python benchmarks/scoring_end_to_end.py --generate 100000 --runs 2

Without ``--generate`` the company already in the database is scored. Each run is as of
2026-11-01 (the demo's as_of); the first run of a company trains the churn model, later runs
of the same data reuse it (``--retrain`` unmatches the stored models first, so every run trains).
The stages are the progress labels of the run, timed as they change.

The playbook tasks of a company's first day, again and again (after one scoring run):

    RETAIN_HOME=… .venv/bin/python benchmarks/scoring_end_to_end.py --steps tasks --first-day --runs 2

``--first-day`` deletes the playbook tasks, plan assignments and coupons given by playbooks
before each run (a benchmark company only), so every run creates the first day's tasks.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import itertools
import os
import resource
import time


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process (the database server's are not counted)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _shipped_playbooks() -> None:
    """The playbooks a new installation ships with (flush empties them), so that the playbook
    tasks step has work, as in production."""
    import importlib

    from django.apps import apps

    importlib.import_module("retain.playbooks.migrations.0002_default_playbooks").create(apps, None)


def _first_day() -> None:
    """Back to the day before the first playbook tasks: no playbook task, no plan assignment,
    no coupon given by a playbook."""
    from retain.loyalty.models import CouponIssue, IssueVia
    from retain.playbooks.models import PlanAssignment
    from retain.tasks.models import Task, TaskKind

    Task.objects.filter(kind=TaskKind.PLAYBOOK).delete()
    PlanAssignment.objects.all().delete()
    CouponIssue.objects.filter(via=IssueVia.PLAYBOOK).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", type=int, default=0, help="make a demo company first")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--retrain", action="store_true", help="train the churn model every run")
    parser.add_argument("--source", default="auto", help="auto, copy, database or memory")
    parser.add_argument(
        "--no-daily",
        action="store_true",
        help="only the scoring steps (scores, board figures), not playbook tasks and churn alerts",
    )
    parser.add_argument(
        "--steps",
        default="",
        help="the steps to run, comma-separated (scores, board, tasks, alerts, ...)",
    )
    parser.add_argument(
        "--first-day",
        action="store_true",
        help="delete the playbook tasks, plan assignments and playbook coupons before each run",
    )
    parser.add_argument(
        "--profile", default="", help="write cProfile statistics of each run to PATH.N"
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    as_of = dt.date(2026, 11, 1)
    if args.generate:
        from retain.demo.generate import DemoSpec, demo_company_create

        call_command("flush", interactive=False, verbosity=0)
        _shipped_playbooks()
        started = time.perf_counter()
        made = demo_company_create(
            spec=DemoSpec(customers=args.generate, seed=42, as_of=as_of), password="bench-pass-123"
        )
        print(
            f"generated {made.customers:,} customers, {made.orders:,} orders "
            f"in {time.perf_counter() - started:.1f} s"
        )

    from retain.customers.models import Customer
    from retain.orders.models import Order
    from retain.pipeline.models import StepName
    from retain.pipeline.services import LABELS, SCORING_STEPS, pipeline_now, pipeline_run
    from retain.scoring.models import ChurnModelVersion
    from retain.scoring.tables import TableSource

    steps = SCORING_STEPS if args.no_daily else (*SCORING_STEPS, StepName.TASKS, StepName.ALERTS)
    if args.steps:
        steps = tuple(StepName(name.strip()) for name in args.steps.split(","))
    customers, orders = Customer.objects.count(), Order.objects.count()
    load = os.getloadavg()
    print(
        f"{connection.vendor}: {customers:,} customers, {orders:,} orders; "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
    )
    for number in range(1, args.runs + 1):
        if args.retrain:
            # stored models stay (runs refer to them) but no longer match the data
            ChurnModelVersion.objects.update(data_fingerprint="")
        if args.first_day:
            _first_day()
        stages: list[tuple[str, float, float]] = []

        def progress(label: str, stages: list[tuple[str, float, float]] = stages) -> None:
            stages.append((str(label), time.perf_counter(), _cpu()))
            print(f"    … {label}", flush=True)

        day, now = pipeline_now(as_of)
        profiler = cProfile.Profile() if args.profile else None
        started, cpu = time.perf_counter(), _cpu()
        if profiler is not None:
            profiler.enable()
        result = pipeline_run(
            as_of=day,
            now=now,
            steps=steps,
            source=TableSource(args.source),
            progress=progress,
        )
        total = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{args.profile}.{number}")
        failed = [f"{s.name.value}: {s.error}" for s in result.failed]
        for name in (StepName.TASKS, StepName.ALERTS):
            if name in steps:
                print(f"  {LABELS[name]}: {vars(result.result(name) or object())}")
        run = result.result(StepName.SCORES)
        print(
            f"run {number}: {total:.1f} s end to end ({_cpu() - cpu:.1f} s CPU in this process), "
            f"peak RSS {_peak_mib():,.0f} MiB" + (f"; FAILED {failed}" if failed else "")
        )
        if run is not None:
            print(
                f"  {run.customers:,} scores, {run.changes:,} changes, "
                f"{run.tags_added:,} tags added, {run.tags_removed:,} removed"
            )
        marks = [*stages, ("end", started + total, _cpu())]
        for (label, at, cpu_at), (_next, until, cpu_until) in itertools.pairwise(marks):
            print(f"  {label:<32} {until - at:7.1f} s  ({cpu_until - cpu_at:6.1f} s CPU)")


if __name__ == "__main__":
    main()
