"""Load test: 50 signed-in users against ``retain serve`` on loopback (locust, bounded in time).

Each simulated user signs in as a demo user (the six sales reps, the manager and the admin in
turn; the statistics are reset once every user has signed in), then repeatedly opens the board, a filtered customer list, a customer page, logs a
follow-up on that customer and reads the API's customer list. Every follow-up carries a
marker; after the run the script counts the follow-ups in the database with that marker and
compares them with the follow-ups the server answered (no lost writes).

    # a scored 100k-customer demo company on PostgreSQL (see docs/benchmarks.md), then:
    export RETAIN_HOME=/tmp/rh-pg100k RETAIN_DATABASE_URL=postgresql://127.0.0.1:5432/retain_bench
    .venv/bin/retain serve --workers 5 --port 8765 &
    RETAIN_LOADTEST_PASSWORD=bench-pass-123 .venv/bin/locust -f benchmarks/load_test.py \\
        --headless --only-summary --host http://127.0.0.1:8765 --users 50 --spawn-rate 10 \\
        --run-time 3m --stop-timeout 10

Prints per request type the count, failures, p50, p95 and p99 (ms), requests per second, the
machine's load average before and after, and the follow-ups written against those answered.
"""

from __future__ import annotations

import itertools
import os
import random
import uuid

from locust import HttpUser, between, events, task

USERNAMES = ["sales1", "sales2", "sales3", "sales4", "sales5", "sales6", "manager", "admin"]
LIST_FILTERS = [
    "quadrant=potential",
    "risk=high&sort=-ltv",
    "quadrant=core",
    "owner=sales1&region=华东",
    "quadrant=watch&sort=-ltv",
]
#: Which demo user the next simulated user signs in as.
_turn = itertools.count()
#: Follow-ups the server answered, and the run's marker in their content.
ANSWERED = {"followups": 0}
SIGNED_IN = {"users": 0}
MARKER = f"loadtest-{uuid.uuid4().hex[:12]}"
PASSWORD = os.environ.get("RETAIN_LOADTEST_PASSWORD", "bench-pass-123")


class Staff(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.username = USERNAMES[next(_turn) % len(USERNAMES)]
        self.client.get("/login/", name="login form")
        token = self.client.cookies.get("csrftoken", "")
        response = self.client.post(
            "/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": self.host + "/login/"},
            name="login",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"{self.username} could not sign in: {response.status_code}")
        codes = self.client.get("/api/v1/customers?limit=200", name="API customers (sign-in)")
        self.codes = [c["code"] for c in codes.json()["items"]]
        SIGNED_IN["users"] += 1
        runner = self.environment.runner
        if runner is not None and SIGNED_IN["users"] == runner.target_user_count:
            # The figures are those of signed-in work: 50 password hashes at once are a
            # sign-in storm that happens once a working day, not the steady state.
            runner.stats.reset_all()
            print(f"all {SIGNED_IN['users']} users signed in; statistics reset; load {_load()}")

    @task(3)
    def board(self) -> None:
        self.client.get("/", name="board")

    @task(3)
    def customer_list(self) -> None:
        self.client.get(
            f"/customers/?{random.choice(LIST_FILTERS)}", name="customer list (filtered)"
        )

    @task(3)
    def customer_page(self) -> None:
        self.client.get(f"/customers/{random.choice(self.codes)}/", name="customer page")

    @task(2)
    def followup(self) -> None:
        code = random.choice(self.codes)
        response = self.client.post(
            f"/customers/{code}/followups/",
            data={
                "kind": "call",
                "occurred_at": "2026-11-01T10:00",
                "content": f"{MARKER} 回访",
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
            },
            headers={"Referer": f"{self.host}/customers/{code}/"},
            name="log a follow-up",
            allow_redirects=False,
        )
        if response.status_code == 302:
            ANSWERED["followups"] += 1

    @task(2)
    def api_list(self) -> None:
        offset = random.randrange(0, 2000, 50)
        self.client.get(f"/api/v1/customers?limit=50&offset={offset}", name="API customer list")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


@events.test_start.add_listener
def _before(**_kwargs) -> None:  # type: ignore[no-untyped-def]
    print(f"load average before (1/5/15 min): {_load()}; follow-up marker {MARKER}")


@events.test_stop.add_listener
def _report(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    stats = environment.stats
    print(f"\nload average after (1/5/15 min): {_load()}")
    print(f"{'request':32} {'n':>6} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'rps':>6}")
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        print(
            f"{entry.name:32} {entry.num_requests:6d} {entry.num_failures:5d} "
            f"{entry.get_response_time_percentile(0.5):6.0f} "
            f"{entry.get_response_time_percentile(0.95):6.0f} "
            f"{entry.get_response_time_percentile(0.99):6.0f} {entry.total_rps:6.1f}"
        )
    total = stats.total
    print(
        f"{'total':32} {total.num_requests:6d} {total.num_failures:5d} "
        f"{total.get_response_time_percentile(0.5):6.0f} "
        f"{total.get_response_time_percentile(0.95):6.0f} "
        f"{total.get_response_time_percentile(0.99):6.0f} {total.total_rps:6.1f}"
    )
    written = _followups_written()
    print(f"follow-ups answered: {ANSWERED['followups']}, written: {written}")
    if written != ANSWERED["followups"]:
        print("LOST WRITES")


def _followups_written() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()
    from retain.interactions.models import FollowUp

    return FollowUp.objects.filter(content__startswith=MARKER).count()
