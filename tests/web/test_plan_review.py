"""The monthly review: plans side by side over a month's entrants, the potential-customer
activation rate, and the cases of success and failure (page, htmx form, API, audit)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from retain.audit.models import AuditEvent
from retain.playbooks.models import PlanAssignment, PlanCase, Playbook, Segment
from retain.playbooks.review import (
    month_bounds,
    plan_case_record,
    plans_of_month,
    potential_activation,
)
from retain.scoring.models import SegmentChange
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

OCT = dt.date(2026, 10, 1)
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def _potential(code: str, on: dt.date, owner=None):
    customer = CustomerFactory(code=code, owner=owner)
    SegmentChange.objects.create(
        customer=customer, as_of=on, dimension="quadrant", from_value="core", to_value="potential"
    )
    return customer


@pytest.fixture
def october(staff):
    """Five potential customers of October: P1 bought 30 days after (counts), P2 31 days after
    (too late), P3 before (no), P4 a refunded order (no), P5 (sales2's) bought on day 3."""
    p1 = _potential("P1", dt.date(2026, 10, 2), staff["sales1"])
    p2 = _potential("P2", dt.date(2026, 10, 5), staff["sales1"])
    p3 = _potential("P3", dt.date(2026, 10, 20), staff["sales1"])
    p4 = _potential("P4", dt.date(2026, 10, 31), staff["sales1"])
    p5 = _potential("P5", dt.date(2026, 10, 10), staff["sales2"])
    _potential("S1", dt.date(2026, 9, 30))  # September: not October's
    SegmentChange.objects.create(  # P1 again later in October: counted once, from the first
        customer=p1, as_of=dt.date(2026, 10, 25), dimension="quadrant", to_value="potential"
    )
    OrderFactory(customer=p1, ordered_at=_at(dt.date(2026, 11, 1)), amount=Decimal(100))
    OrderFactory(customer=p2, ordered_at=_at(dt.date(2026, 11, 5)), amount=Decimal(100))
    OrderFactory(customer=p3, ordered_at=_at(dt.date(2026, 10, 19)), amount=Decimal(100))
    OrderFactory(
        customer=p4, ordered_at=_at(dt.date(2026, 11, 2)), amount=Decimal(100), status="refunded"
    )
    OrderFactory(customer=p5, ordered_at=_at(dt.date(2026, 10, 13)), amount=Decimal(100))
    return {"P1": p1, "P2": p2, "P3": p3, "P4": p4, "P5": p5}


def test_the_activation_rate_counts_paid_purchases_within_the_window(october):
    activation = potential_activation(month=OCT, now=NOW, days=30)

    assert (activation.potential, activation.activated) == (5, 2)  # P1 (day 30), P5
    assert activation.rate == pytest.approx(0.4)
    assert activation.window_open == 1  # P4 became potential on Oct 31: 30 days not over


def test_the_activation_rate_follows_the_window_and_the_readers_customers(october, staff):
    from retain.accounts.access import customers_visible_to

    wider = potential_activation(month=OCT, now=NOW, days=31)
    own = potential_activation(
        month=OCT, now=NOW, days=30, customers=customers_visible_to(staff["sales2"])
    )

    assert (wider.potential, wider.activated) == (5, 3)  # P2 bought on day 31
    assert (own.potential, own.activated) == (1, 1)  # sales2 sees P5 only


def _plan(name: str) -> Playbook:
    segment = Segment.objects.create(name=f"{name}段", conditions={"all": []})
    return Playbook.objects.create(name=name, segment=segment)


def test_the_plans_of_a_month_count_only_that_months_entrants(staff):
    plan = _plan("月度计划")
    for code, holdout, day in [
        ("E1", False, dt.date(2026, 10, 3)),
        ("E2", True, dt.date(2026, 10, 30)),
        ("E3", False, dt.date(2026, 9, 30)),  # September
        ("E4", False, dt.date(2026, 11, 1)),  # November
    ]:
        PlanAssignment.objects.create(
            playbook=plan,
            customer=CustomerFactory(code=code),
            holdout=holdout,
            entered_at=_at(day),
        )

    plans = plans_of_month(month=OCT, now=NOW)
    (measured,) = [m for m in plans if m.playbook == plan]

    assert measured.control is not None and measured.control.customers == 1
    assert [a.customers for a in measured.arms] == [1]
    start, end = month_bounds(OCT)
    assert (start.date(), end.date()) == (OCT, dt.date(2026, 11, 1))


def test_a_case_is_recorded_by_a_manager_and_audited(staff):
    plan = _plan("案例计划")
    customer = CustomerFactory(code="C1")

    case = plan_case_record(
        playbook=plan,
        month=OCT,
        outcome="success",
        note="  回访后复购  ",
        customer=customer,
        actor=staff["manager"],
        now=NOW,
    )

    assert (case.note, case.author, case.customer) == ("回访后复购", staff["manager"], customer)
    event = AuditEvent.objects.get(object_type="playbooks.plancase", object_id=str(case.pk))
    assert (event.action, event.actor) == ("create", staff["manager"])


@pytest.mark.parametrize("role", ["marketing", "sales1", "service"])
def test_only_managers_and_analysts_record_cases(staff, role):
    plan = _plan("案例计划")

    with pytest.raises(PermissionDenied):
        plan_case_record(
            playbook=plan, month=OCT, outcome="failure", note="x", actor=staff[role], now=NOW
        )

    assert PlanCase.objects.count() == 0


def test_an_analyst_records_a_case_but_not_about_a_customer_out_of_sight(staff):
    plan = _plan("案例计划")
    case = plan_case_record(
        playbook=plan,
        month=OCT,
        outcome="failure",
        note="没有效果",
        actor=staff["analyst"],
        now=NOW,
    )
    assert case.customer is None

    hidden = CustomerFactory(code="H1", owner=staff["sales2"])
    with pytest.raises(PermissionDenied):
        plan_case_record(
            playbook=plan,
            month=OCT,
            outcome="failure",
            note="x",
            customer=hidden,
            actor=staff["sales1"],
            now=NOW,
        )
    assert PlanCase.objects.count() == 1


def test_a_case_needs_a_note_and_a_month_start(staff):
    from django.core.exceptions import ValidationError

    plan = _plan("案例计划")
    for month, note in [(OCT, "   "), (dt.date(2026, 10, 2), "ok")]:
        with pytest.raises(ValidationError):
            plan_case_record(
                playbook=plan,
                month=month,
                outcome="success",
                note=note,
                actor=staff["manager"],
                now=NOW,
            )
    assert PlanCase.objects.count() == 0


def test_the_review_page_records_a_case_with_htmx(october, staff, login):
    plan = _plan("页面计划")
    client = login("manager")

    page = client.get(reverse("plans-review") + "?month=2026-10&days=30")
    answer = client.post(
        reverse("plan-case-create"),
        {
            "month": "2026-10",
            "playbook": plan.pk,
            "outcome": "success",
            "customer": "p1",
            "note": "试用后下单",
        },
        headers={"HX-Request": "true"},
    )
    refused = client.post(
        reverse("plan-case-create"),
        {
            "month": "2026-10",
            "playbook": plan.pk,
            "outcome": "success",
            "customer": "NOPE",
            "note": "x",
        },
        headers={"HX-Request": "true"},
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-figure="activation-rate">40.0%' in html
    assert "2 of the 5 customers" in html
    assert answer.status_code == 200
    assert (
        'data-outcome="success"' in answer.content.decode()
        and "试用后下单" in answer.content.decode()
    )
    case = PlanCase.objects.get()
    assert (case.customer.code, case.month, case.author) == ("P1", OCT, staff["manager"])
    assert "No customer you may see has this code." in refused.content.decode()
    assert PlanCase.objects.count() == 1


def test_the_review_page_is_read_only_for_marketing_and_closed_to_service(staff, login, client):
    marketing = login("marketing")
    page = marketing.get(reverse("plans-review"))
    post = marketing.post(
        reverse("plan-case-create"),
        {"month": "2026-10", "playbook": _plan("x").pk, "outcome": "success", "note": "x"},
    )
    client.logout()
    service = login("service").get(reverse("plans-review"))

    assert page.status_code == 200 and 'id="case-form"' not in page.content.decode()
    assert (post.status_code, service.status_code) == (403, 403)
    assert PlanCase.objects.count() == 0


def test_the_api_gives_the_review(october, staff, client):
    from retain.api.services import api_token_create

    plan = _plan("接口计划")
    plan_case_record(
        playbook=plan,
        month=OCT,
        outcome="success",
        note="好",
        customer=october["P5"],
        actor=staff["manager"],
        now=NOW,
    )
    plan_case_record(
        playbook=plan, month=OCT, outcome="failure", note="差", actor=staff["manager"], now=NOW
    )
    sales1 = api_token_create(user=staff["sales1"], name="t")[1]
    manager = api_token_create(user=staff["manager"], name="t")[1]

    mine = client.get(
        "/api/v1/playbooks/review?month=2026-10&days=30",
        headers={"Authorization": f"Bearer {sales1}"},
    )
    all_ = client.get(
        "/api/v1/playbooks/review?month=2026-10", headers={"Authorization": f"Bearer {manager}"}
    )

    assert mine.status_code == 200, mine.content
    body = mine.json()
    assert body["month"] == "2026-10"
    assert body["activation"]["potential"] == 4  # sales1's own four (P5 is sales2's)
    assert [c["outcome"] for c in body["cases"]] == ["failure"]  # P5's case is out of sight
    full = all_.json()
    assert (full["activation"]["potential"], full["activation"]["activated"]) == (5, 2)
    assert sorted(c["customer"] or "" for c in full["cases"]) == ["", "P5"]
    assert "接口计划" in [p["name"] for p in full["plans"]]
