"""One KPI read path: the board, ``GET /api/v1/kpis``, the scoring run's snapshot and the
board's stored trend give the same value of every KPI on the same data, for every role, and
for a past ``as_of`` none of them counts later orders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from retain.accounts.models import User
from retain.api.services import api_token_create
from retain.kpis.definitions import KPIS
from retain.kpis.figures import kpi_figures, kpi_snapshot, kpi_values
from retain.kpis.models import BoardFigures
from retain.kpis.selectors import board
from retain.orders.models import Order, OrderStatus
from retain.scoring.models import KpiSnapshot
from retain.scoring.tables import TableSource
from tests.conftest import AS_OF, PASSWORD

# Committed rows: the read path runs the engine as in production, on the database through a
# connection of its own (PostgreSQL) or over a copy of the SQLite file (``file_database``).
pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)
#: A past scoring day: the demo company has orders after it.
PAST = AS_OF - dt.timedelta(days=45)
ROLES = ["admin", "manager", "analyst", "sales1", "sales2"]


@pytest.fixture(autouse=True)
def _fixed_clock(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def past_run(demo_company, file_database):
    from retain.kpis.services import board_figures_refresh
    from retain.scoring.services import scoring_run

    run = scoring_run(as_of=PAST, source=TableSource.MEMORY, now=NOW)
    board_figures_refresh(run=run, source=TableSource.MEMORY)
    return run


def _api(client, user: User) -> dict:
    _, token = api_token_create(user=user, name="kpis")
    response = client.get(
        "/api/v1/kpis",
        {"as_of": PAST.isoformat()},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    return response.json()


def test_every_kpi_is_equal_through_every_door_for_a_past_as_of(past_run, client):
    later = Order.objects.filter(
        status=OrderStatus.PAID, ordered_at__date__gt=PAST + dt.timedelta(days=1)
    )
    assert later.exists()  # the data has orders the past board must not count
    company = kpi_snapshot(as_of=PAST)
    # the scoring run's month snapshot and the board's trend row are the read path's figures
    assert KpiSnapshot.objects.get(month=PAST.replace(day=1)).figures == company
    assert BoardFigures.objects.get(run=past_run).trend[-1] == company
    assert company["as_of"] == PAST.isoformat()
    seen_scopes = set()
    for username in ROLES:
        user = User.objects.get(username=username)
        read = kpi_figures(as_of=PAST, user=user)
        shown = board(today=AS_OF, user=user)
        api = _api(client, user)
        values = kpi_values(read.engine)
        seen_scopes.add(read.scope)

        assert (api["as_of"], api["scope"], shown.scope) == (
            PAST.isoformat(),
            read.scope,
            read.scope,
        )
        for key in KPIS:
            assert api[key] == values[key], (username, key)
        for card in shown.cards:
            assert card.value == KPIS[card.key].display(values[card.key]), (username, card.key)
        if read.scope == "all":
            assert read.engine == company
        for name in ("customers", "companies", "persons", "orders_12m", "buyers_12m"):
            assert api[name] == getattr(read.overview, name) == getattr(shown.overview, name)
        assert Decimal(api["revenue_12m"]) == read.overview.revenue_12m
        assert shown.overview.revenue_12m == read.overview.revenue_12m

        # the year up to PAST, not later: counted here independently of the read path
        start = dt.datetime.combine(PAST - dt.timedelta(days=365), dt.time.min)
        window = Order.objects.filter(
            status=OrderStatus.PAID,
            ordered_at__gte=timezone.make_aware(start),
            ordered_at__lt=timezone.make_aware(
                dt.datetime.combine(PAST + dt.timedelta(days=1), dt.time.min)
            ),
        )
        if read.customer_ids is not None:
            window = window.filter(customer_id__in=read.customer_ids)
        assert read.overview.orders_12m == window.count()

    assert seen_scopes == {"all", "own"}


def test_the_board_matrix_counts_are_those_of_the_lists_it_links_to(past_run, client):
    for username in ROLES:
        user = User.objects.get(username=username)
        client.force_login(user)
        shown = board(today=AS_OF, user=user)
        for cell in shown.matrix:
            page = client.get(reverse("customer-list"), {"quadrant": cell.quadrant})
            assert page.context["page"].count == cell.customers, (username, cell.quadrant)
        assert sum(c.customers for c in shown.matrix) > 0
    sales = board(today=AS_OF, user=User.objects.get(username="sales2"))
    everyone = board(today=AS_OF, user=User.objects.get(username="admin"))
    assert sum(c.customers for c in sales.matrix) < sum(c.customers for c in everyone.matrix)


def test_the_board_for_a_sales_rep_shows_their_own_figures(past_run, client):
    sales2 = User.objects.get(username="sales2")
    assert client.login(username="sales2", password=PASSWORD)

    html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    own = kpi_figures(as_of=PAST, user=sales2).overview.customers
    assert f'data-kpi="customers">{own:,}</div>' in html
