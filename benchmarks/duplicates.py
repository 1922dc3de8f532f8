"""Duplicate search after an import: new and changed customers only, against today's full scan.

    # once: a demo company of 1M (or 100k) customers in its own RETAIN_HOME
    RETAIN_HOME=/tmp/dup1m .venv/bin/retain demo-data --customers 1000000 --seed 42 \\
        --as-of 2026-11-01 --password bench-pass-123
    RETAIN_HOME=/tmp/dup1m .venv/bin/python benchmarks/duplicates.py --rows 1000
    RETAIN_HOME=/tmp/dup100k .venv/bin/python benchmarks/duplicates.py --rows 1000 --baseline

Each step runs in a child process of its own, so its peak memory (max RSS of that process,
Python and Django included) is its own. Steps:

- ``index``: the first time only, ``retain.dedup.search.index_build()`` stores the
  blocking keys of every customer (what the first full scan does besides searching);
- ``import``: a customer file of ``--rows`` rows through the real import engine (the
  duplicate search not included): 70% new customers, 20% new spellings of existing ones
  (region prefix, legal form, same phone), 10% existing codes with a new city;
- ``search``: ``duplicates_refresh(changed_only=True)``, what the import now runs;
- ``full`` (with ``--full``): the new model over all customers in one Splink run, to
  check that the search after the import finds the same pairs;
- ``scan`` (with ``--scan``, alone): the scheduled full scan, every customer searched
  2,000 at a time;
- ``baseline`` (with ``--baseline``): today's search before this change, the full scan
  that every import ran (``find_candidates(customer_frame())`` over all customers, then
  the pairs with an imported customer kept), taken from git commit ``BASELINE_COMMIT``.

Prints one line per step and the ratios of the search against the baseline.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The last commit with the old matcher (full scan after every import).
BASELINE_COMMIT = "bff8e34"
ROOT = Path(__file__).resolve().parent.parent
HEADER = ["客户编号", "客户名称", "客户类型", "城市", "联系电话", "邮箱"]


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_migrate() -> dict:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return {}


def step_index() -> dict:
    from retain.customers.models import Customer
    from retain.dedup.models import MatchState
    from retain.dedup.search import index_build

    return {"indexed": index_build(), "customers": Customer.objects.count(),
            "states": MatchState.objects.count()}  # fmt: skip


def _write_file(path: Path, rows: int, seed: int) -> None:
    from retain.customers.models import Customer

    rng = random.Random(seed)
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    picks = sorted(rng.sample(range(1, top + 1), min(top, rows // 2)))
    existing = list(
        Customer.objects.filter(pk__in=picks).values_list("code", "kind", "name", "city", "phone")
    )
    rng.shuffle(existing)
    surnames, given = (
        "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗",
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚",
    )
    cities = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安"]
    out = []
    for i in range(rows):
        share = i % 10
        if share < 7 or not existing:  # new customer
            if i % 3:
                name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
                out.append([f"B{seed}-{i}", name, "个人", rng.choice(cities),
                            f"19{rng.randrange(10**9):09d}", ""])  # fmt: skip
            else:
                name = f"{rng.choice(cities)}新{i}号{rng.choice(['科技', '贸易'])}有限公司"
                out.append([f"B{seed}-{i}", name, "公司", rng.choice(cities), "", ""])
        elif share < 9:  # another spelling of an existing customer
            code, kind, name, city, phone = existing.pop()
            if kind == "company":
                name = f"({city or '北京'}){name}" if i % 2 else name.replace("有限公司", "")
            out.append([f"B{seed}-{i}", name, "公司" if kind == "company" else "个人", city,
                        phone, ""])  # fmt: skip
        else:  # an existing customer, changed
            code, kind, name, city, phone = existing.pop()
            out.append([code, name, "公司" if kind == "company" else "个人", "拉萨", phone, ""])
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *out])


def step_import(rows: int, seed: int) -> dict:
    from retain.imports.engine import import_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "customers.csv"
        _write_file(path, rows, seed)
        started = time.perf_counter()
        result = import_file(path=path, kind="customers", valid_rows=True)
        seconds = time.perf_counter() - started
    return {"import_s": round(seconds, 1), "created": result.created,
            "updated": result.updated, "rejected": result.rejected}  # fmt: skip


def step_search() -> dict:
    from retain.dedup.services import duplicates_refresh

    started = time.perf_counter()
    found = duplicates_refresh(changed_only=True)
    return {"seconds": round(time.perf_counter() - started, 2), "pairs": found}


def _baseline_modules() -> object:
    """Today's matcher (before the change) from git, as a module."""
    import importlib

    folder = Path(tempfile.mkdtemp())
    for name in ("matching", "normalise"):
        text = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:src/retain/dedup/{name}.py"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        text = text.replace("from retain.dedup.normalise import", "from baseline_normalise import")
        (folder / f"baseline_{name}.py").write_text(text, encoding="utf-8")
    sys.path.insert(0, str(folder))
    return importlib.import_module("baseline_matching")


def step_baseline(since_pk: int) -> dict:
    old = _baseline_modules()
    started = time.perf_counter()
    candidates = old.find_candidates(old.customer_frame())  # type: ignore[attr-defined]
    kept = [c for c in candidates if c.left_id > since_pk or c.right_id > since_pk]
    return {"seconds": round(time.perf_counter() - started, 2), "pairs": len(kept),
            "all_pairs": len(candidates)}  # fmt: skip


def step_full(since_pk: int) -> dict:
    """The new model over all customers in one Splink run (no index, no limits): what the
    search after the import should find, to check it misses nothing."""
    from django.db.models import Q

    from retain.dedup.matching import customer_frame, find_candidates
    from retain.dedup.models import DuplicatePair

    started = time.perf_counter()
    found = {
        (c.left_id, c.right_id)
        for c in find_candidates(customer_frame())
        if c.left_id > since_pk or c.right_id > since_pk
    }
    seconds = time.perf_counter() - started
    stored = set(
        DuplicatePair.objects.filter(
            Q(left_id__gt=since_pk) | Q(right_id__gt=since_pk)
        ).values_list("left_id", "right_id")
    )
    return {"seconds": round(seconds, 2), "pairs": len(found), "search_stored": len(stored),
            "found_by_both": len(found & stored)}  # fmt: skip


def step_scan() -> dict:
    from retain.dedup.services import duplicates_refresh

    started = time.perf_counter()
    open_pairs = duplicates_refresh()
    return {"seconds": round(time.perf_counter() - started, 1), "open_pairs": open_pairs}


def _child(step: str, *args: str) -> dict:
    command = [sys.executable, __file__, "--step", step, *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"step {step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--baseline", action="store_true", help="also run today's full scan")
    parser.add_argument(
        "--scan", action="store_true", help="only the scheduled full scan (resumable), timed"
    )
    parser.add_argument(
        "--full", action="store_true", help="also run the new model over all customers at once"
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--since", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        _django()
        started = time.perf_counter()
        result = {
            "migrate": step_migrate,
            "index": step_index,
            "import": lambda: step_import(args.rows, args.seed),
            "search": step_search,
            "baseline": lambda: step_baseline(args.since),
            "full": lambda: step_full(args.since),
            "scan": step_scan,
        }[args.step]()
        result.update(wall_s=round(time.perf_counter() - started, 2), peak_mib=round(_peak_mib()))
        print(json.dumps(result))
        return
    _child("migrate")
    if args.scan:
        print("scan     ", _child("scan"))
        return
    print("index    ", _child("index"))
    _django()
    from retain.customers.models import Customer

    before = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    print("import   ", _child("import", "--rows", str(args.rows), "--seed", str(args.seed)))
    search = _child("search")
    print("search   ", search)
    if args.full:
        print("full     ", _child("full", "--since", str(before)))
    if args.baseline:
        baseline = _child("baseline", "--since", str(before))
        print("baseline ", baseline)
        print(
            f"ratio: time {baseline['seconds'] / max(search['seconds'], 0.01):.1f}x faster, "
            f"peak memory {baseline['peak_mib'] / search['peak_mib']:.1f}x smaller "
            f"(baseline {baseline['seconds']} s / {baseline['peak_mib']} MiB, "
            f"search {search['seconds']} s / {search['peak_mib']} MiB)"
        )


if __name__ == "__main__":
    main()
