"""The board's figures are cached per scoring run and scope, and invalidated by the writes
they read (retain.core.cache): a customer or complaint written through its service makes
the next board fresh; a follow-up does not touch them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from retain.accounts.models import User
from retain.core.cache import generation
from retain.customers.models import Customer
from retain.kpis.selectors import board
from retain.scoring.models import CustomerScore
from tests.conftest import AS_OF

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(small_run, staff):
    """Five scored customers: three of sales1 (two core, one watch), two of sales2 (watch)."""
    from tests.factories import CustomerFactory

    for owner, quadrant in [
        ("sales1", "core"),
        ("sales1", "core"),
        ("sales1", "watch"),
        ("sales2", "watch"),
        ("sales2", "watch"),
    ]:
        customer = CustomerFactory(owner=staff[owner])
        CustomerScore.objects.create(
            customer=customer,
            run=small_run,
            as_of=AS_OF,
            quadrant=quadrant,
            lifecycle_stage="active",
        )
    return small_run


def _count(html: str, quadrant: str) -> int:
    cell = re.search(
        rf'<a class="cell q-{quadrant}" href="/customers/\?quadrant={quadrant}".*?'
        r'<span class="count">([\d,]+)</span>',
        html,
        re.S,
    )
    assert cell, quadrant
    return int(cell.group(1).replace(",", ""))


def _customers_card(html: str) -> int:
    match = re.search(r'data-kpi="customers">([\d,]+)<', html)
    assert match
    return int(match.group(1).replace(",", ""))


def _queries(client, url: str) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    return html, [q["sql"] for q in queries.captured_queries]


def test_the_second_board_reads_its_figures_from_the_cache(company, login):
    client = login("manager")
    first, first_sql = _queries(client, reverse("dashboard"))
    second, second_sql = _queries(client, reverse("dashboard"))

    assert [_count(second, q) for q in ("core", "watch")] == [2, 3]
    assert [_count(first, q) for q in ("core", "watch")] == [2, 3]
    assert len(second_sql) < len(first_sql)
    # the quadrant counts (a GROUP BY over every score) and the KPI snapshot are not read again
    grouped = [
        q
        for q in first_sql
        if "GROUP BY" in q and '"quadrant"' in q and "surveys_surveyresponse" not in q
    ]
    assert len(grouped) == 1
    # nor are the survey figures (a grouped pass over the year's answers per dimension)
    assert any("surveys_surveyresponse" in q for q in first_sql)
    assert not any("surveys_surveyresponse" in q for q in second_sql)
    assert not [q for q in second_sql if "GROUP BY" in q and "scoring_customerscore" in q]
    assert not [q for q in second_sql if "scoring_kpisnapshot" in q]
    # nor the at-risk list (an ORDER BY over every high-risk score)
    assert len([q for q in first_sql if "\"churn_risk\" = 'high'" in q]) == 1
    assert not [q for q in second_sql if "\"churn_risk\" = 'high'" in q]


def test_an_audited_customer_write_invalidates_the_cached_board(
    company, login, django_capture_on_commit_callbacks
):
    from retain.customers.services import customer_update

    client = login("manager")
    before = _count(client.get(reverse("dashboard")).content.decode(), "core")
    # A change that bypasses the services (no audit, no invalidation) is not seen: cached.
    CustomerScore.objects.filter(quadrant="watch").update(quadrant="core")
    assert _count(client.get(reverse("dashboard")).content.decode(), "core") == before
    before_gen = generation("board")

    with django_capture_on_commit_callbacks(execute=True):
        customer_update(
            customer=Customer.objects.order_by("pk").first(),
            actor=User.objects.get(username="manager"),
            notes="called back",
        )

    assert generation("board") != before_gen
    html = client.get(reverse("dashboard")).content.decode()
    assert (
        _count(html, "core") == before + 3 == CustomerScore.objects.filter(quadrant="core").count()
    )


def test_a_sales_reps_board_follows_a_change_of_owner(
    company, login, django_capture_on_commit_callbacks
):
    from retain.customers.services import customer_update

    sales1 = User.objects.get(username="sales1")
    sales2 = User.objects.get(username="sales2")
    own1 = Customer.objects.filter(owner=sales1).count()
    own2 = Customer.objects.filter(owner=sales2).count()
    assert own1 > 0 and own2 > 0
    assert _customers_card(login("sales1").get(reverse("dashboard")).content.decode()) == own1
    assert _customers_card(login("sales2").get(reverse("dashboard")).content.decode()) == own2

    with django_capture_on_commit_callbacks(execute=True):
        customer_update(
            customer=Customer.objects.filter(owner=sales1).order_by("pk").first(),
            actor=User.objects.get(username="manager"),
            owner=sales2,
        )

    assert _customers_card(login("sales1").get(reverse("dashboard")).content.decode()) == own1 - 1
    assert _customers_card(login("sales2").get(reverse("dashboard")).content.decode()) == own2 + 1


def test_a_complaint_invalidates_and_a_follow_up_does_not(
    company, django_capture_on_commit_callbacks
):
    from retain.complaints.services import complaint_open
    from retain.interactions.services import followup_log

    sales1 = User.objects.get(username="sales1")
    customer = Customer.objects.filter(owner=sales1).order_by("pk").first()
    open_before = board(today=AS_OF, user=sales1).overview.open_complaints
    before_gen = generation("board")

    with django_capture_on_commit_callbacks(execute=True):
        followup_log(
            customer=customer,
            actor=sales1,
            kind="call",
            occurred_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC),
            content="回访",
        )
    assert generation("board") == before_gen

    with django_capture_on_commit_callbacks(execute=True):
        complaint_open(
            customer=customer,
            actor=sales1,
            channel="phone",
            category="交货延迟",
            severity="urgent",
            description="订单晚到三天",
        )

    assert generation("board") != before_gen
    assert board(today=AS_OF, user=sales1).overview.open_complaints == open_before + 1


def test_a_write_invalidates_now_and_again_when_it_commits(
    company, django_capture_on_commit_callbacks
):
    """Once inside the transaction (its own later reads are fresh), and once after the
    commit (figures cached meanwhile, without the write, are dropped)."""
    from retain.customers.services import customer_update

    seen = [generation("board")]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        customer_update(
            customer=Customer.objects.order_by("pk").first(),
            actor=User.objects.get(username="manager"),
            notes="twice",
        )
        seen.append(generation("board"))
    for callback in callbacks:
        callback()
    seen.append(generation("board"))

    assert len(set(seen)) == 3


def test_the_cache_is_shared_through_files_or_redis(tmp_path):
    """Without RETAIN_REDIS_URL the cache is files in RETAIN_HOME (shared by every worker
    process); with it, Redis."""
    import os
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'retain.settings';"
        "from django.conf import settings; c = settings.CACHES['default'];"
        "print(c['BACKEND'], c['LOCATION'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "RETAIN_REDIS_URL"}
    env["RETAIN_HOME"] = str(tmp_path)
    files = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert files.stdout.split() == [
        "django.core.cache.backends.filebased.FileBasedCache",
        str(tmp_path / "cache"),
    ]
    env["RETAIN_REDIS_URL"] = "redis://127.0.0.1:6379/9"
    redis = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert redis.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/9",
    ]


def test_worker_processes_share_the_cache_and_its_invalidation(tmp_path):
    """Two processes on one RETAIN_HOME (as gunicorn's workers): what one caches the other
    reads, and one's invalidation makes the other compute again."""
    import os
    import subprocess
    import sys

    step = (
        "import os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'retain.settings';"
        "import django; django.setup();"
        "from retain.core.cache import cached, invalidate;"
        "what = sys.argv[1];"
        "invalidate('board') if what == 'invalidate' else "
        "print(cached('board', '7:all', lambda: what))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    env["RETAIN_HOME"] = str(tmp_path)

    def run(what: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", step, what], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run("computed-by-a") == "computed-by-a"
    assert run("computed-by-b") == "computed-by-a"  # b reads a's entry
    run("invalidate")
    assert run("computed-by-c") == "computed-by-c"
    assert (tmp_path / "cache").is_dir()


def test_an_empty_selection_reads_as_no_rows_on_postgresql(db):
    """A sales rep's board reads their complaints with COPY; with none, Arrow was handed an
    empty CSV file and the board answered 500 (found by the load test)."""
    if connection.vendor != "postgresql":
        pytest.skip("the COPY read is PostgreSQL's")
    from retain.scoring.tables import _connect, _postgres_arrow

    table = _connect().table("complaints_complaint").select("id", "opened_at")

    empty = _postgres_arrow(table)

    assert (empty.num_rows, empty.column_names) == (0, ["id", "opened_at"])


def test_the_nightly_run_computes_every_scope_ahead(
    company, login, monkeypatch, django_capture_on_commit_callbacks
):
    """After the nightly run no request computes a board: the company's and each sales rep's
    figures are in the cache (the 50-user load test queued every request behind them)."""
    import retain.kpis.figures
    import retain.kpis.services
    from retain.pipeline.models import StepName
    from retain.pipeline.services import pipeline_run

    monkeypatch.setattr(retain.kpis.services, "WARM_MIN_CUSTOMERS", 0)
    with django_capture_on_commit_callbacks(execute=True):  # once the run's writes commit
        pipeline_run(
            as_of=AS_OF, now=dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC), steps=[StepName.BOARD]
        )

    def no_engine(**_kwargs):
        raise AssertionError("a request computed the KPIs of a scope")

    monkeypatch.setattr(retain.kpis.figures, "kpi_snapshot", no_engine)
    for username, core in [("manager", 2), ("sales1", 2), ("sales2", 0)]:
        html = login(username).get(reverse("dashboard")).content.decode()
        assert _count(html, "core") == core, username


def test_below_the_threshold_nothing_is_computed_ahead(company, monkeypatch):
    import retain.kpis.services

    monkeypatch.setattr(retain.kpis.services, "WARM_MIN_CUSTOMERS", 6)
    assert retain.kpis.services.board_cache_warm() == 0
    monkeypatch.setattr(retain.kpis.services, "WARM_MIN_CUSTOMERS", 5)
    # one user who sees everyone stands for the company; sales1 and sales2 their own
    assert retain.kpis.services.board_cache_warm() == 3

    def no_read(**_kwargs):
        raise AssertionError("the tables were read with every figure cached")

    # a second run that changed nothing the figures read does not read the tables again
    monkeypatch.setattr(retain.kpis.services, "app_tables", no_read)
    assert retain.kpis.services.board_cache_warm() == 3


def test_signing_in_leaves_the_cached_figures_valid(company, client):
    """A sign-in is audited (accounts.user) but changes no figure: 50 people signing in at
    nine must not recompute every board 50 times. A failed one neither."""
    from tests.conftest import PASSWORD

    before = generation("board")
    assert client.post(reverse("login"), {"username": "sales1", "password": "wrong"}).status_code
    assert client.post(reverse("login"), {"username": "sales1", "password": PASSWORD}).status_code
    assert client.get(reverse("dashboard")).status_code == 200
    assert generation("board") == before


def test_a_missing_entry_is_computed_once_while_others_wait():
    """Requests that miss the same entry at once: the first computes, the others wait."""
    import threading
    import time

    from retain.core.cache import cached

    calls: list[int] = []
    results: list[int] = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.4)
        return 42

    threads = [
        threading.Thread(target=lambda: results.append(cached("board", "once", compute)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 4
    assert len(calls) == 1


def test_a_rewritten_table_gets_fresh_planner_statistics(company):
    """After the scoring run rewrites the scores, PostgreSQL's planner must know their number
    (with autovacuum off it guessed 204 rows for 64,896 and chose a plan five times slower)."""
    from retain.core.bulk import analyze

    analyze(CustomerScore)  # a no-op elsewhere; on PostgreSQL the row count is now known
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE relname = %s", [CustomerScore._meta.db_table]
        )
        assert cursor.fetchone()[0] == 5
