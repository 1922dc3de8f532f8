"""Demo company generation: time and peak memory by size, and the bulk writer against the ORM.

    RETAIN_HOME=$(mktemp -d) .venv/bin/python benchmarks/demo_data.py --sizes 10000 100000
    RETAIN_HOME=$(mktemp -d) .venv/bin/python benchmarks/demo_data.py --sizes 1000000

Each size runs in a fresh SQLite database (or RETAIN_DATABASE_URL's PostgreSQL, emptied
first). The baseline is Django's own ``bulk_create`` of model instances, writing the same
orders, measured side by side in this process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from decimal import Decimal


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _flush() -> None:
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


def bench_generate(size: int) -> None:
    from retain.demo.generate import DemoSpec, demo_company_create

    _flush()
    started = time.perf_counter()
    result = demo_company_create(
        spec=DemoSpec(customers=size, seed=42, as_of=dt.date(2026, 11, 1)),
        password="bench-pass-123",
    )
    seconds = time.perf_counter() - started
    rows = result.customers + result.contacts + 2 * result.orders + result.followups
    print(
        f"generate  customers={size:>9,}  orders={result.orders:>10,}  rows≈{rows:>11,}  "
        f"{seconds:8.1f} s  {rows / seconds:>9,.0f} rows/s  peak RSS {_peak_mib():,.0f} MiB"
    )


def bench_writer_vs_orm(n_orders: int) -> None:
    """Insert the same orders with retain's bulk writer and with Order.objects.bulk_create."""
    import numpy as np
    from django.db import transaction

    from retain.customers.models import Customer
    from retain.demo.generate import _Writer
    from retain.orders.models import Order

    _flush()
    customer = Customer.objects.create(code="BENCH", kind="person", name="bench")
    rng = np.random.default_rng(0)
    times = 1_700_000_000 + np.sort(rng.integers(0, 10**8, size=n_orders))
    amounts = np.round(rng.gamma(6, 20, size=n_orders), 2)
    writer = _Writer()
    stamps = writer.ts(times)
    amount_text = np.char.mod("%.2f", amounts).tolist()

    started = time.perf_counter()
    with transaction.atomic():
        writer.insert(
            Order,
            [
                "customer_id",
                "number",
                "ordered_at",
                "amount",
                "currency",
                "channel",
                "payment_method",
                "status",
            ],
            (
                (customer.id, f"W{i}", stamps[i], amount_text[i], "CNY", "online", "alipay", "paid")
                for i in range(n_orders)
            ),
        )
    ours = time.perf_counter() - started

    aware = [dt.datetime.fromtimestamp(int(t), tz=dt.UTC) for t in times]
    started = time.perf_counter()
    with transaction.atomic():
        Order.objects.bulk_create(
            (
                Order(
                    customer=customer,
                    number=f"O{i}",
                    ordered_at=aware[i],
                    amount=Decimal(amount_text[i]),
                    channel="online",
                    payment_method="alipay",
                )
                for i in range(n_orders)
            ),
            batch_size=5000,
        )
    orm = time.perf_counter() - started
    print(
        f"orders    n={n_orders:,}  retain bulk writer {ours:6.2f} s ({n_orders / ours:,.0f}/s)  "
        f"Django bulk_create {orm:6.2f} s ({n_orders / orm:,.0f}/s)  ratio {orm / ours:4.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--writer-orders", type=int, default=200_000)
    args = parser.parse_args()
    _setup()
    from django.db import connection

    print(f"database: {connection.vendor}  python {sys.version.split()[0]}")
    if args.writer_orders:
        bench_writer_vs_orm(args.writer_orders)
    for size in args.sizes:
        bench_generate(size)


if __name__ == "__main__":
    main()
