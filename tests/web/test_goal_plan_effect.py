"""A board goal points at a plan: its card shows the plan's measured effect (the 90-day
repurchase difference against the control group, its interval and the verdict)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from retain.audit.models import AuditEvent
from retain.kpis.models import Goal
from retain.playbooks.models import PlanAssignment, Playbook, Segment
from retain.playbooks.results import _diff, goal_plan_effects, plan_results
from retain.playbooks.services import playbook_goal_link
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

GOAL = {
    "name": "复购率三个月提升15%",
    "kpi": "repurchase_rate",
    "change": "15",
    "relative": "on",
    "start_on": "2026-11-01",
    "end_on": "2027-02-01",
}


@pytest.fixture
def plan(staff):
    """Six treated customers (four bought within 90 days) and six held out (one bought)."""
    now = timezone.now()
    segment = Segment.objects.create(name="目标段", conditions={"all": []})
    playbook = Playbook.objects.create(name="目标计划", segment=segment)
    entered = now - dt.timedelta(days=120)
    for i in range(12):
        holdout = i >= 6
        c = CustomerFactory(code=f"G{i}", owner=staff["sales1"] if i % 2 else None)
        PlanAssignment.objects.create(
            playbook=playbook, customer=c, holdout=holdout, entered_at=entered
        )
        if i in (0, 1, 2, 3, 6):
            OrderFactory(
                customer=c, ordered_at=entered + dt.timedelta(days=10), amount=Decimal(100)
            )
    return playbook


def _row(html: str, goal: Goal) -> str:
    match = re.search(rf'<tr data-goal="{goal.pk}">.*?</tr>', html, re.S)
    assert match
    return match.group(0)


def test_a_goal_made_for_a_plan_shows_its_measured_effect(small_run, plan, login, staff):
    client = login("manager")

    client.post(reverse("goal-create"), {**GOAL, "playbook": plan.pk})
    html = client.get(reverse("dashboard")).content.decode()

    goal = Goal.objects.get()
    assert list(plan.goals.all()) == [goal]
    (comparison,) = plan_results(playbook=plan, now=timezone.now()).comparisons
    assert comparison.repurchase is not None
    assert comparison.repurchase.estimate == pytest.approx(4 / 6 - 1 / 6)
    row = _row(html, goal)
    assert f'data-goal-plan="{plan.pk}"' in row
    assert _diff(comparison.repurchase, points=True) in row  # +50.0 pts (95% CI …)
    assert "+50.0 pts (95% CI" in row
    assert 'data-verdict="too_early"' in row
    event = AuditEvent.objects.filter(object_type="playbooks.playbook", object_id=str(plan.pk))
    assert event.get().after == {"goals": [goal.pk]}


def test_a_goal_without_a_plan_shows_no_effect(small_run, plan, login):
    client = login("manager")

    client.post(reverse("goal-create"), GOAL)

    row = _row(client.get(reverse("dashboard")).content.decode(), Goal.objects.get())
    assert "data-goal-plan" not in row
    assert not plan.goals.exists()


def test_the_effect_is_measured_over_the_customers_the_reader_sees(plan, staff):
    goal = Goal.objects.create(
        name="g",
        kpi="repurchase_rate",
        change=15,
        baseline=50,
        start_on=dt.date(2026, 11, 1),
        end_on=dt.date(2027, 2, 1),
        created_at=timezone.now(),
    )
    playbook_goal_link(playbook=plan, goal=goal, actor=staff["manager"])
    from retain.accounts.access import customers_visible_to

    everyone = goal_plan_effects(goal_ids=[goal.pk], now=timezone.now())
    own = goal_plan_effects(
        goal_ids=[goal.pk],
        now=timezone.now(),
        customers=customers_visible_to(staff["sales1"]),
    )

    (effect,) = everyone[goal.pk]
    assert (effect.playbook, effect.comparisons[0].arm.customers) == (plan, 6)
    assert own[goal.pk][0].comparisons[0].arm.customers == 3  # sales1 owns the odd ones


def test_linking_needs_the_right_to_change_playbooks(plan, staff):
    goal = Goal.objects.create(
        name="g",
        kpi="nps",
        change=5,
        baseline=40,
        start_on=dt.date(2026, 11, 1),
        end_on=dt.date(2027, 2, 1),
        created_at=timezone.now(),
    )

    with pytest.raises(PermissionDenied):
        playbook_goal_link(playbook=plan, goal=goal, actor=staff["analyst"])

    assert not plan.goals.exists()


def test_the_playbook_page_links_and_unlinks_goals(plan, staff, login):
    goal = Goal.objects.create(
        name="g",
        kpi="nps",
        change=5,
        baseline=40,
        start_on=dt.date(2026, 11, 1),
        end_on=dt.date(2027, 2, 1),
        created_at=timezone.now(),
    )
    client = login("marketing")
    form = {
        "name": plan.name,
        "description": "",
        "segment": plan.segment.pk,
        "active": "on",
        "holdout_percent": "10",
        "min_effect_points": "5",
        "actions-TOTAL_FORMS": "0",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "1000",
    }

    linked = client.post(reverse("playbook-edit", args=[plan.pk]), {**form, "goals": [goal.pk]})
    assert linked.status_code == 302, linked.content.decode()[:2000]
    assert list(plan.goals.all()) == [goal]
    client.post(reverse("playbook-edit", args=[plan.pk]), form)
    assert not plan.goals.exists()
