"""What the preferred channel and category cost the engine step of a scoring run.

    RETAIN_HOME=... python benchmarks/scoring_preferences.py [--source copy|database] [--runs 2]

Reads the app's tables (``app_tables``) and scores every customer (``score_customers``), with
and without the preferences, in turn in one process; prints the seconds of each run. Needs a
migrated database with data (``retain demo-data``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default="copy", choices=["copy", "database"])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--as-of", default="2026-11-01")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()
    from retain.analytics import score_customers
    from retain.scoring.tables import TableSource, app_tables

    as_of = dt.date.fromisoformat(args.as_of)
    source = TableSource(args.source)
    for _ in range(args.runs):
        for preferences in (False, True):
            start = time.perf_counter()
            tables = app_tables(source=source, preferences=preferences)
            frame = score_customers(tables.engine_tables(), as_of=as_of)
            label = "with preferences" if preferences else "without"
            print(
                f"{source.value} {label}: {time.perf_counter() - start:.2f} s, {len(frame):,} rows"
            )


if __name__ == "__main__":
    main()
