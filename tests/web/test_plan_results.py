"""A measured plan's results: per-arm outcomes after entry only, the difference with its
interval, the fixed-horizon guard, and the page that shows them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from retain.playbooks.measurement import Verdict, proportion_difference
from retain.playbooks.models import PlanAssignment, Playbook, PlaybookAction, Segment
from retain.playbooks.results import plan_results
from retain.scoring.models import SegmentChange
from retain.tasks.models import Task
from tests.factories import (
    ComplaintFactory,
    CustomerFactory,
    OrderFactory,
    SurveyResponseFactory,
)

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def plan(staff):
    """Eight customers entered 100 days ago (four held out), two entered last week."""
    now = timezone.now()
    segment = Segment.objects.create(
        name="潜力测量",
        conditions={"all": [{"field": "quadrant", "op": "eq", "value": "potential"}]},
    )
    playbook = Playbook.objects.create(name="潜力测量计划", segment=segment, owner=staff["sales1"])
    action = PlaybookAction.objects.create(
        playbook=playbook, name="电话", every_days=14, channel="phone"
    )
    entered = now - 100 * DAY
    customers = {}
    for code, holdout, at in [
        ("A1", False, entered),
        ("A2", False, entered),
        ("A3", False, entered),
        ("A4", False, entered),
        ("K1", True, entered),
        ("K2", True, entered),
        ("K3", True, entered),
        ("K4", True, entered),
        ("A5", False, now - 7 * DAY),  # not followed long enough: counted, not yet read
        ("K5", True, now - 7 * DAY),
    ]:
        c = customers[code] = CustomerFactory(code=code, owner=staff["sales1"])
        PlanAssignment.objects.create(playbook=playbook, customer=c, holdout=holdout, entered_at=at)
    buy = {"A1": (10, 300), "A2": (50, 500), "A3": (95, 700), "K1": (20, 100)}
    for code, (days, amount) in buy.items():
        OrderFactory(
            customer=customers[code], ordered_at=entered + days * DAY, amount=Decimal(amount)
        )
    OrderFactory(customer=customers["K2"], ordered_at=entered - 5 * DAY)  # before entry: no
    for code in ("A1", "A2"):
        Task.objects.create(
            customer=customers[code],
            kind="playbook",
            key=f"action:{action.pk}",
            action=action,
            owner=staff["sales1"],
            title="电话",
            due_on=(entered + 2 * DAY).date(),
            status="done",
            created_at=entered + DAY,
            closed_at=entered + 2 * DAY,
        )
    SegmentChange.objects.create(
        customer=customers["K3"],
        as_of=(entered + 40 * DAY).date(),
        dimension="lifecycle_stage",
        from_value="returning",
        to_value="churned",
    )
    ComplaintFactory(customer=customers["K4"], opened_at=entered + 30 * DAY)
    SurveyResponseFactory(
        customer=customers["A1"], sent_at=entered, answered_at=entered + 5 * DAY, nps=9
    )
    SurveyResponseFactory(
        customer=customers["K1"], sent_at=entered, answered_at=entered + 5 * DAY, nps=6
    )
    return playbook, now


def test_each_arm_counts_outcomes_after_entry_only(plan):
    playbook, now = plan

    measured = plan_results(playbook=playbook, now=now)

    control, (arm,) = measured.control, measured.arms
    assert control is not None
    assert (arm.customers, arm.followed, arm.reached) == (5, 4, 2)
    assert (control.customers, control.followed, control.reached) == (5, 4, 0)
    assert (arm.bought_short, arm.bought) == (1, 2)  # A3 bought on day 95: outside 90 days
    assert (control.bought_short, control.bought) == (1, 1)  # K2 bought before entry
    assert arm.revenue == pytest.approx(800.0)
    assert (control.churned, control.complained, arm.churned) == (1, 1, 0)
    assert (arm.nps_mean, control.nps_mean) == (9.0, 6.0)
    (comparison,) = measured.comparisons
    assert comparison.repurchase == proportion_difference(2, 4, 1, 4)
    assert comparison.verdict == Verdict.TOO_EARLY  # four customers a side: far from enough
    assert not comparison.horizon_reached
    assert comparison.still_needed is not None and comparison.still_needed[0] > 100


def test_the_page_shows_each_arm_against_the_control_with_its_interval(plan, login):
    playbook, _now = plan

    html = login("manager").get(reverse("playbook-results", args=[playbook.pk])).content.decode()

    assert 'data-arm="plan"' in html
    assert 'data-verdict="too_early"' in html
    assert "Too early to tell" in html
    assert "50.0%" in html and "25.0%" in html  # 90-day repurchase, plan and control
    assert "+25.0 pts (95% CI" in html
    assert "data-guard" in html


def test_the_results_need_the_right_to_see_playbooks(plan, login):
    playbook, _now = plan

    page = login("service").get(reverse("playbook-results", args=[playbook.pk]))
    export = login("service").get(reverse("playbook-results-export", args=[playbook.pk]))
    compare = login("service").get(reverse("playbooks-compare"))

    assert (page.status_code, export.status_code, compare.status_code) == (403, 403, 403)


def test_the_api_and_the_export_give_the_figures_per_arm(plan, client, staff):
    from retain.api.services import api_token_create

    playbook, _now = plan
    token = api_token_create(user=staff["manager"], name="tests")[1]

    answer = client.get(
        f"/api/v1/playbooks/{playbook.pk}/results", headers={"Authorization": f"Bearer {token}"}
    )
    client.force_login(staff["manager"])
    export = client.get(reverse("playbook-results-export", args=[playbook.pk]))

    assert answer.status_code == 200, answer.content
    arms = {a["key"]: a for a in answer.json()["arms"]}
    assert set(arms) == {"control", "plan"}
    assert (arms["plan"]["customers"], arms["plan"]["repurchase_90"]) == (5, 0.5)
    assert arms["control"]["repurchase_90"] == 0.25 and arms["control"]["verdict"] is None
    expected = proportion_difference(2, 4, 1, 4)
    assert arms["plan"]["difference_repurchase_90"] == {
        "estimate": pytest.approx(expected.estimate),
        "low": pytest.approx(expected.low),
        "high": pytest.approx(expected.high),
        "p_value": pytest.approx(expected.p_value),
    }
    assert arms["plan"]["verdict"] == "too_early"
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("key,name,holdout,customers,reached,followed")
    control, arm = (line.split(",") for line in lines[1:3])
    # key, name (in the reader's language), holdout, customers, reached, followed, 30 d, 90 d
    assert control[:1] + control[2:8] == ["control", "True", "5", "0", "4", "0.25", "0.25"]
    assert arm[:1] + arm[2:8] == ["plan", "False", "5", "2", "4", "0.25", "0.5"]


def test_the_api_refuses_a_role_without_playbooks(plan, client, staff):
    from retain.api.services import api_token_create

    playbook, _now = plan
    token = api_token_create(user=staff["service"], name="tests")[1]

    answer = client.get(
        f"/api/v1/playbooks/{playbook.pk}/results", headers={"Authorization": f"Bearer {token}"}
    )

    assert answer.status_code == 403  # service has no view of the playbooks


def test_small_groups_read_revenue_with_the_bootstrap_and_say_so(plan, login, client, staff):
    from retain.api.services import api_token_create
    from retain.playbooks.measurement import bootstrap_mean_difference

    playbook, now = plan

    (comparison,) = plan_results(playbook=playbook, now=now).comparisons
    html = login("manager").get(reverse("playbook-results", args=[playbook.pk])).content.decode()
    token = api_token_create(user=staff["manager"], name="tests")[1]
    arms = {
        a["key"]: a
        for a in client.get(
            f"/api/v1/playbooks/{playbook.pk}/results",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["arms"]
    }

    # four followed a side: A1 300, A2 500, A3 (day 95) and A4 nothing; K1 100, the rest 0
    expected = bootstrap_mean_difference([300.0, 500.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0])
    assert comparison.revenue_method == "bootstrap"
    assert comparison.revenue == expected
    assert 'data-revenue-method="bootstrap"' in html
    assert "Revenue: bootstrap interval (2,000 resamples" in html
    assert arms["plan"]["revenue_interval"] == "bootstrap"
    assert arms["plan"]["difference_revenue"]["low"] == pytest.approx(expected.low)


def test_the_excel_export_has_the_same_rows_as_the_csv(plan, login):
    import csv
    import io

    from openpyxl import load_workbook

    playbook, _now = plan
    client = login("manager")

    text = client.get(reverse("playbook-results-export", args=[playbook.pk]))
    book = client.get(reverse("playbook-results-export-xlsx", args=[playbook.pk]))
    refused = login("service").get(reverse("playbook-results-export-xlsx", args=[playbook.pk]))

    assert book.status_code == 200 and refused.status_code == 403
    assert book["Content-Disposition"] == (
        f'attachment; filename="plan-{playbook.pk}-results.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(book.content)).active
    cells = [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert len(cells) == len(lines) == 3  # header, control, plan
    assert cells[0] == lines[0]
    for sheet_row, csv_row in zip(cells[1:], lines[1:], strict=True):
        for got, want in zip(sheet_row, csv_row, strict=True):
            if want.replace(".", "", 1).lstrip("-").isdigit():
                assert float(got) == pytest.approx(float(want))
            else:
                assert got == want
