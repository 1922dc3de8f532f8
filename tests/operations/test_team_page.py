"""The team page: per person open / overdue / done this week, late logging, customers out
of their playbook's cadence; reassign tasks and customers from there."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from retain.accounts.models import Team
from retain.accounts.services import user_create
from retain.customers.models import Customer
from retain.interactions.models import FollowUp
from retain.tasks.models import Task, TaskKind, TaskStatus
from retain.tasks.selectors import team_overview
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

from .conftest import NOW
from .helpers import AS_OF, scored

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    east = Team.objects.create(name="华东")
    lead = user_create(username="lead", password=PASSWORD, role="sales", team=east)
    east.lead = lead
    east.save()
    rep = user_create(username="rep", password=PASSWORD, role="sales", team=east)
    other = user_create(username="other", password=PASSWORD, role="sales")
    manager = user_create(username="boss", password=PASSWORD, role="manager")
    return {"lead": lead, "rep": rep, "other": other, "manager": manager}


def add_task(customer, owner, key, due, status=TaskStatus.OPEN, closed=None):
    return Task.objects.create(
        customer=customer,
        kind=TaskKind.PLAYBOOK,
        key=key,
        owner=owner,
        title="回访",
        channel="phone",
        due_on=due,
        status=status,
        closed_at=closed,
        created_at=NOW,
    )


def test_the_overview_counts_per_person(team):
    rep = team["rep"]
    core = CustomerFactory(code="C1", owner=rep)
    scored(core, quadrant="core")  # in the core playbook (monthly call): never contacted
    fresh = CustomerFactory(code="C2", owner=rep)
    scored(fresh, quadrant="core")
    FollowUp.objects.create(
        customer=fresh,
        kind="call",
        occurred_at=NOW - dt.timedelta(days=3),
        content="回访",
        owner=rep,
        logged_at=NOW - dt.timedelta(days=1),
    )  # 48 h late
    add_task(core, rep, "a:1", AS_OF - dt.timedelta(days=2))
    add_task(core, rep, "a:2", AS_OF)
    add_task(fresh, rep, "a:3", AS_OF, status=TaskStatus.DONE, closed=NOW - dt.timedelta(hours=1))
    add_task(fresh, rep, "a:4", AS_OF, status=TaskStatus.DONE, closed=NOW - dt.timedelta(days=9))

    rows = {r.user.username: r for r in team_overview(user=team["lead"], today=AS_OF, now=NOW)}

    assert set(rows) == {"lead", "rep"}  # the team lead oversees the team, not "other"
    r = rows["rep"]
    assert (r.open, r.overdue, r.done_this_week, r.logged_late, r.out_of_cadence, r.customers) == (
        2,
        1,
        1,
        1,
        1,
        2,
    )
    everyone = {r.user.username for r in team_overview(user=team["manager"], today=AS_OF, now=NOW)}
    assert everyone == {"lead", "rep", "other", "boss"}


def test_reassign_from_the_team_page(client, team):
    rep, lead = team["rep"], team["lead"]
    customer = CustomerFactory(code="C1", owner=rep)
    late = add_task(customer, rep, "a:1", AS_OF - dt.timedelta(days=2))
    soon = add_task(customer, rep, "a:2", AS_OF + dt.timedelta(days=2))
    client.force_login(lead)

    page = client.get(reverse("team"))
    with time_machine.travel(NOW):
        client.post(reverse("team-reassign"), {"from": rep.pk, "to": lead.pk, "what": "overdue"})
    refused = client.post(
        reverse("team-reassign"), {"from": rep.pk, "to": team["other"].pk, "what": "customers"}
    )
    client.post(reverse("team-reassign"), {"from": rep.pk, "to": lead.pk, "what": "customers"})

    assert page.status_code == 200 and 'id="rep-rep"' in page.content.decode()
    late.refresh_from_db()
    soon.refresh_from_db()
    assert (late.owner, soon.owner) == (lead, rep)
    assert refused.status_code == 403
    assert Customer.objects.get(pk=customer.pk).owner == lead
    client.force_login(rep)
    assert client.get(reverse("team")).status_code == 403
    assert 'id="nav-team"' not in client.get(reverse("tasks")).content.decode()
