"""Order import: a million-row CSV through ``retain import``'s engine, against a naive baseline.

    RETAIN_HOME=$(mktemp -d) .venv/bin/python benchmarks/import_orders.py --rows 1000000
    RETAIN_HOME=$(mktemp -d) RETAIN_DATABASE_URL=postgresql://127.0.0.1:5432/bench \\
        .venv/bin/python benchmarks/import_orders.py --rows 1000000

Steps, each timed: write a GBK CSV of ``--customers`` customers and ``--rows`` orders (as
Excel in China saves it: ￥ amounts with thousands separators, dates as 2024/1/15 10:30);
import the customers; import the orders (streamed, batches of 5,000, one transaction);
import the same orders file again (the idempotent path: every row compared, nothing
written). The baseline reads the first ``--baseline`` rows with ``csv.DictReader`` and
saves them one ``Order.objects.create`` at a time (the naive ORM loop), in its own
transaction, rolled back afterwards.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import tempfile
import time
from decimal import Decimal
from pathlib import Path


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0) if _has_tables() else None
    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


def _has_tables() -> bool:
    from django.db import connection

    return "customers_customer" in connection.introspection.table_names()


def _write_files(folder: Path, customers: int, rows: int) -> tuple[Path, Path]:
    rng = random.Random(7)
    customers_csv = folder / "customers.csv"
    with customers_csv.open("w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["客户编号", "客户名称", "联系人", "所属行业", "客户来源", "首次接触时间", "当前状态"]
        )
        for i in range(customers):
            w.writerow(
                [
                    f"B{i:07d}",
                    f"测试客户{i}有限公司",
                    f"联系人{i}",
                    "制造业",
                    "行业展会",
                    "2023/1/15",
                    "核心客户",
                ]
            )
    orders_csv = folder / "orders.csv"
    start = dt.datetime(2023, 1, 1)
    channels = ["线上", "线下"]
    payments = ["支付宝", "微信支付", "银行卡", "转账"]
    with orders_csv.open("w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["订单编号", "客户编号", "下单时间", "订单金额", "渠道", "支付方式"])
        for i in range(rows):
            when = start + dt.timedelta(minutes=rng.randrange(0, 1_000_000))
            amount = rng.randrange(1000, 5_000_000) / 100
            w.writerow(
                [
                    f"SO{i:09d}",
                    f"B{rng.randrange(customers):07d}",
                    f"{when.year}/{when.month}/{when.day} {when:%H:%M}",
                    f"￥{amount:,.2f}",
                    channels[i % 2],
                    payments[i % 4],
                ]
            )
    return customers_csv, orders_csv


def _write_changed(orders_csv: Path) -> Path:
    """The same orders with another payment method on every row: every order is updated
    (and audited) on import."""
    changed_csv = orders_csv.with_name("orders-changed.csv")
    payments = ["支付宝", "微信支付", "银行卡", "转账"]
    with (
        orders_csv.open(encoding="gbk", newline="") as src,
        changed_csv.open("w", encoding="gbk", newline="") as fh,
    ):
        reader, w = csv.reader(src), csv.writer(fh)
        w.writerow(next(reader))
        for row in reader:
            row[5] = payments[(payments.index(row[5]) + 1) % 4]
            w.writerow(row)
    return changed_csv


def _baseline(orders_csv: Path, limit: int) -> tuple[int, float]:
    """Naive: csv.DictReader, then one ORM create per row (customer looked up per row)."""
    from django.db import transaction
    from django.utils import timezone

    from retain.customers.models import Customer
    from retain.orders.models import Order

    tz = timezone.get_current_timezone()
    started = time.perf_counter()
    done = 0
    sid = None
    with transaction.atomic():
        sid = transaction.savepoint()
        with orders_csv.open(encoding="gbk", newline="") as fh:
            for row in csv.DictReader(fh):
                if done >= limit:
                    break
                customer = Customer.objects.get(code=row["客户编号"])
                when = dt.datetime.strptime(row["下单时间"], "%Y/%m/%d %H:%M").replace(tzinfo=tz)
                Order.objects.create(
                    customer=customer,
                    number="BASE" + row["订单编号"],
                    ordered_at=when,
                    amount=Decimal(row["订单金额"].replace("￥", "").replace(",", "")),
                    channel="online" if row["渠道"] == "线上" else "offline",
                )
                done += 1
        transaction.savepoint_rollback(sid)
    return done, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--baseline", type=int, default=20_000)
    args = parser.parse_args()
    _setup()
    from django.db import connection

    from retain.imports.engine import import_file
    from retain.orders.models import Order

    print(f"database: {connection.vendor}; {args.rows:,} orders for {args.customers:,} customers")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        customers_csv, orders_csv = _write_files(Path(tmp), args.customers, args.rows)
        size = orders_csv.stat().st_size / 2**20
        print(f"wrote the files: {time.perf_counter() - t:.1f} s (orders.csv {size:.0f} MiB, GBK)")

        r = import_file(path=customers_csv, kind="customers")
        print(
            f"customers: {r.created:,} created in {r.seconds:.1f} s ({r.rows / r.seconds:,.0f} rows/s)"
        )

        cpu = time.process_time()
        r = import_file(path=orders_csv, kind="orders")
        cpu = time.process_time() - cpu
        assert r.committed and r.created == args.rows, (r.created, r.errors[:3])
        print(
            f"orders, first import: {r.created:,} created in {r.seconds:.1f} s "
            f"({r.rows / r.seconds:,.0f} rows/s; {cpu:.1f} s CPU in this process; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
        first_rate = r.rows / r.seconds
        r = import_file(path=orders_csv, kind="orders")
        assert r.unchanged == args.rows and r.created == 0
        print(
            f"orders, same file again (idempotent): {r.unchanged:,} unchanged in "
            f"{r.seconds:.1f} s ({r.rows / r.seconds:,.0f} rows/s)"
        )
        assert Order.objects.count() == args.rows
        from retain.audit.models import AuditEvent

        changed_csv = _write_changed(orders_csv)
        audits = AuditEvent.objects.count()
        r = import_file(path=changed_csv, kind="orders")
        assert r.committed and r.updated == args.rows, (r.updated, r.errors[:3])
        print(
            f"orders, every row changed (update + audit): {r.updated:,} updated in "
            f"{r.seconds:.1f} s ({r.rows / r.seconds:,.0f} rows/s; "
            f"{AuditEvent.objects.count() - audits:,} audit rows)"
        )
        if not args.baseline:
            return
        done, seconds = _baseline(orders_csv, args.baseline)
        rate = done / seconds
        print(
            f"baseline (DictReader + per-row ORM create): {done:,} rows in {seconds:.1f} s "
            f"({rate:,.0f} rows/s; a million would take {args.rows / rate / 60:.0f} min)"
        )
        print(f"speed-up of the import engine over the baseline: {first_rate / rate:.1f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
