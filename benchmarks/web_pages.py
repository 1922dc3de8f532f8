"""Server-side render time of every web page, on a scored demo company of 100k or 1M customers.

    # build (once) and score a demo database, then time the pages:
    RETAIN_HOME=/tmp/rh-b100k .venv/bin/retain migrate
    RETAIN_HOME=/tmp/rh-b100k .venv/bin/retain demo-data --customers 100000 --as-of 2026-11-01
    RETAIN_HOME=/tmp/rh-b100k .venv/bin/retain score --as-of 2026-11-01
    RETAIN_HOME=/tmp/rh-b100k .venv/bin/python benchmarks/web_pages.py --budget-ms 300

    # 1M customers: the customer list's budget is 500 ms
    RETAIN_HOME=/tmp/rh-b1m .venv/bin/python benchmarks/web_pages.py --budget-ms 500 --only list

Each page is requested through Django's test Client in this process (URL routing, middleware,
session, permission checks, queries, template rendering: everything but the network), once
to warm up and then N times; the median is printed against the budget. The baseline is the
customer list as it was before: Django's Paginator, whose page needs a COUNT(*) of every
matching customer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def _median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm-up: caches, first query plans
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _pages() -> list[tuple[str, str, str]]:
    """(group, name, url) of every page, with real codes, tags and ids from the database."""
    from retain.customers.models import Customer
    from retain.playbooks.models import Playbook, Segment
    from retain.scoring.models import CustomerScore
    from retain.tags.models import Tag

    potential = (
        CustomerScore.objects.filter(quadrant="potential", churn_risk="high")
        .values_list("customer__code", flat=True)
        .first()
    )
    any_code = Customer.objects.order_by("pk").values_list("code", flat=True)[500]
    tags = list(Tag.objects.filter(automatic=False).order_by("pk").values_list("pk", flat=True)[:2])
    playbook = Playbook.objects.order_by("pk").values_list("pk", flat=True).first()
    segment = Segment.objects.order_by("pk").values_list("pk", flat=True).first()
    pages = [
        ("board", "board (看板)", "/"),
        ("list", "customer list", "/customers/"),
        ("list", "list: quadrant=potential", "/customers/?quadrant=potential"),
        ("list", "list: risk=high, by value", "/customers/?risk=high&sort=-ltv"),
        ("list", "list: two tags (AND)", f"/customers/?tag={tags[0]}&tag={tags[1]}"),
        ("list", "list: two tags (OR)", f"/customers/?tag={tags[0]}&tag={tags[1]}&tag_mode=or"),
        ("list", "list: owner + region", "/customers/?owner=sales1&region=华东"),
        ("list", "list: search by code", f"/customers/?q={any_code}"),
        ("list", "list: search by name", "/customers/?q=科技"),
        ("list", "list: page 20", "/customers/?page=20"),
        ("customer", "customer 360", f"/customers/{potential}/"),
        ("segments", "segment explorer", f"/segments/?segment={segment}"),
        ("playbooks", "playbook list", "/playbooks/"),
        ("playbooks", "playbook results", f"/playbooks/{playbook}/results/"),
        ("tasks", "task inbox (sales1)", "/tasks/"),
    ]
    return pages


def _baseline_paginator(params: str, repeat: int) -> float:
    """The same filtered list through Django's Paginator: a COUNT(*) of every matching
    customer for "page 1 of N", then the page (queries only, no rendering)."""
    from django.core.paginator import Paginator
    from django.http import QueryDict

    from retain.accounts.models import User
    from retain.web.customer_query import CustomerQuery, customer_search

    user = User.objects.get(username="admin")
    qs = customer_search(user=user, query=CustomerQuery.from_params(QueryDict(params)))

    def page() -> None:
        p = Paginator(qs, 50).get_page(1)
        list(p.object_list)
        _ = p.paginator.num_pages

    return _median_ms(page, repeat)


def _capped_page(params: str, repeat: int) -> float:
    """The list's own paging (a page + one row, a count capped at 10,000), queries only."""
    from django.http import QueryDict

    from retain.accounts.models import User
    from retain.web.customer_query import CustomerQuery, customer_page, customer_search

    user = User.objects.get(username="admin")
    qs = customer_search(user=user, query=CustomerQuery.from_params(QueryDict(params)))
    return _median_ms(lambda: customer_page(qs, 1), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--budget-ms", type=float, default=300.0)
    parser.add_argument("--only", help="time only this group (board, list, customer ...)")
    parser.add_argument("--user", default="admin")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty Django's cache before every request (the first view after a write or a "
        "scoring run); without it the cached figures are served after the warm-up",
    )
    args = parser.parse_args()
    _setup()
    from django.core.cache import cache
    from django.test import Client

    from retain.accounts.models import User
    from retain.customers.models import Customer

    n = Customer.objects.count()
    admin = Client()
    admin.force_login(User.objects.get(username=args.user))
    sales = Client()
    sales.force_login(User.objects.get(username="sales1"))
    print(
        f"{n:,} customers; median of {args.repeat} requests after one warm-up; "
        f"budget {args.budget_ms:.0f} ms; cache {'emptied before each request' if args.cold else 'on'}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    over = 0
    for group, name, url in _pages():
        if args.only and group != args.only:
            continue
        client = sales if name.startswith("task inbox") else admin
        status = client.get(url).status_code

        def request(c: Client = client, u: str = url) -> object:
            if args.cold:
                cache.clear()
            return c.get(u)

        ms = _median_ms(request, args.repeat)
        flag = "ok" if ms <= args.budget_ms else "OVER"
        over += ms > args.budget_ms
        print(f"  {name:<28} {ms:8.1f} ms  {flag:<4}  (HTTP {status})  {url}")
    if not args.only or args.only == "list":
        print("  list queries only: capped count against a Paginator's full COUNT (baseline)")
        for params in ("", "quadrant=watch", "risk=high&sort=-ltv", "q=科技"):
            ours = _capped_page(params, args.repeat)
            base = _baseline_paginator(params, args.repeat)
            print(
                f"    {params or '(no filter)':<24} capped {ours:8.1f} ms   "
                f"Paginator {base:8.1f} ms   x{base / ours:5.1f}"
            )
    print(f"{over} page(s) over budget")


if __name__ == "__main__":
    main()
