"""The board: KPI cards against targets, the matrix, trend, cohorts, at-risk list, goals."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from retain.audit.models import AuditEvent
from retain.kpis.definitions import DEFAULT_TARGETS
from retain.kpis.models import BoardFigures, Goal, KpiTarget
from retain.scoring.models import CustomerScore, KpiSnapshot, ScoringRun
from tests.conftest import AS_OF

pytestmark = pytest.mark.django_db


def _card(html: str, key: str) -> str:
    match = re.search(rf'<div class="card kpi[^"]*" data-kpi="{key}".*?</div>\s*</div>', html, re.S)
    assert match, key
    return match.group(0)


def test_default_targets_are_those_of_the_product_brief(db):
    targets = {t.kpi: (t.comparison, t.value) for t in KpiTarget.objects.all()}

    assert targets == {
        "retention_rate": ("gte", 80.0),
        "core_repurchase_rate": ("gte", 60.0),
        "average_ltv": ("gte", 500.0),
        "nps": ("gte", 50.0),
        "complaint_rate": ("lte", 2.0),
        "positive_review_rate": ("gte", 70.0),
    }
    assert len(DEFAULT_TARGETS) == 6


def test_board_without_a_scoring_run_says_so(staff, login):
    response = login("manager").get(reverse("dashboard"))

    assert response.status_code == 200
    assert 'id="no-run"' in response.content.decode()
    assert 'id="kpi-cards"' not in response.content.decode()


def test_board_shows_the_run_figures_matrix_and_at_risk_list(scored_company, login):
    from retain.customers.models import Customer

    figures = KpiSnapshot.objects.get(month=AS_OF.replace(day=1)).figures

    html = login("manager").get(reverse("dashboard")).content.decode()

    retention = _card(html, "retention_rate")
    assert f"{figures['retention_rate'] * 100:.1f}%" in retention
    met = figures["retention_rate"] * 100 >= 80
    assert ("kpi met" if met else "kpi missed") in retention
    ltv = _card(html, "average_ltv")
    assert f"¥{round(figures['average_historical_ltv']):,}" in ltv
    assert "target ≥ ¥500" in ltv
    assert "target ≤ 2.0%" in _card(html, "complaint_rate")
    for quadrant in ("core", "potential", "basic", "watch"):
        n = CustomerScore.objects.filter(quadrant=quadrant).count()
        cell = re.search(
            rf'<a class="cell q-{quadrant}" href="/customers/\?quadrant={quadrant}".*?'
            r'<span class="count">([\d,]+)</span>',
            html,
            re.S,
        )
        assert cell, quadrant
        assert int(cell.group(1).replace(",", "")) == n
    assert 'id="trend-chart"' in html and 'id="cohort-chart"' in html

    # sales see only their own customers at risk
    html = login("sales2").get(reverse("dashboard")).content.decode()
    listed = re.findall(r'<tr><td><a href="/customers/([^/]+)/">', html)
    owners = set(Customer.objects.filter(code__in=listed).values_list("owner__username", flat=True))
    high = CustomerScore.objects.filter(churn_risk="high", customer__owner__username="sales2")
    assert len(listed) == min(10, high.count())
    assert owners <= {"sales2"}


def test_board_figures_hold_twelve_month_ends_and_the_cohorts(scored_company):
    figures = BoardFigures.objects.get(run=scored_company)

    months = [row["as_of"] for row in figures.trend]
    assert months[0] == "2025-11-30"
    assert months[-2:] == ["2026-10-31", "2026-11-01"]
    assert len(months) == 13
    assert figures.trend[-1]["retention_rate"] == pytest.approx(
        KpiSnapshot.objects.get(month=dt.date(2026, 11, 1)).figures["retention_rate"]
    )
    cohorts = figures.cohorts
    assert len(cohorts["cohorts"]) == len(cohorts["cells"]) <= 12
    assert all(row[0] == 1.0 for row in cohorts["cells"])


def test_the_next_run_computes_only_the_open_month(scored_company, monkeypatch):
    from retain.kpis import services
    from retain.scoring.services import scoring_run
    from retain.scoring.tables import TableSource
    from tests.web.conftest import NOW

    first = BoardFigures.objects.get(run=scored_company)
    computed = []
    real = services.kpi_snapshots
    monkeypatch.setattr(
        services,
        "kpi_snapshots",
        lambda *, as_of_dates, **kw: (
            computed.extend(as_of_dates) or real(as_of_dates=as_of_dates, **kw)
        ),
    )
    run = scoring_run(
        as_of=dt.date(2026, 11, 2), source=TableSource.MEMORY, now=NOW + dt.timedelta(days=1)
    )

    second = services.board_figures_refresh(run=run, source=TableSource.MEMORY)

    # closed months come from the first run's board, the open one from the run's snapshot
    assert computed == []
    assert second.trend[:12] == first.trend[:12]
    assert second.trend[-1]["as_of"] == "2026-11-02"
    assert second.trend[-1] == KpiSnapshot.objects.get(as_of=dt.date(2026, 11, 2)).figures


def test_manager_edits_a_target_and_the_card_turns(small_run, staff, login):
    client = login("manager")
    target = KpiTarget.objects.get(kpi="retention_rate")

    response = client.post(
        reverse("target-update", args=[target.pk]), {"comparison": "gte", "value": "1"}
    )

    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.comparison, target.value, target.updated_by.username) == ("gte", 1.0, "manager")
    event = AuditEvent.objects.get(object_type="kpis.kpitarget")
    assert (event.before, event.after) == (
        {"comparison": "gte", "value": 80.0},
        {"comparison": "gte", "value": 1.0},
    )
    html = client.get(reverse("dashboard")).content.decode()
    assert "kpi met" in _card(html, "retention_rate")


@pytest.mark.parametrize("username", ["sales1", "marketing", "service", "analyst"])
def test_other_roles_may_not_edit_targets(small_run, staff, login, username):
    client = login(username)
    target = KpiTarget.objects.get(kpi="nps")

    response = client.post(
        reverse("target-update", args=[target.pk]), {"comparison": "lte", "value": "1"}
    )

    assert response.status_code == 403
    target.refresh_from_db()
    assert (target.comparison, target.value) == ("gte", 50.0)
    assert not AuditEvent.objects.filter(object_type="kpis.kpitarget").exists()
    assert 'name="value"' not in client.get(reverse("dashboard")).content.decode()


def test_a_bad_target_value_changes_nothing(small_run, staff, login):
    target = KpiTarget.objects.get(kpi="nps")

    login("manager").post(
        reverse("target-update", args=[target.pk]), {"comparison": "gte", "value": "lots"}
    )

    target.refresh_from_db()
    assert target.value == 50.0


def test_goal_of_plus_15_percent_repurchase_shows_its_progress(small_run, staff, login):
    client = login("manager")
    repurchase = 0.5  # the snapshot of small_run

    client.post(
        reverse("goal-create"),
        {
            "name": "+15% repurchase in 3 months",
            "kpi": "repurchase_rate",
            "change": "15",
            "relative": "on",
            "start_on": "2026-11-01",
            "end_on": "2027-02-01",
        },
    )

    goal = Goal.objects.get()
    assert goal.baseline == pytest.approx(repurchase * 100)
    assert goal.target == pytest.approx(repurchase * 100 * 1.15)
    html = client.get(reverse("dashboard")).content.decode()
    row = re.search(rf'<tr data-goal="{goal.pk}">.*?</tr>', html, re.S).group(0)
    assert "+15% repurchase in 3 months" in row
    assert '<progress max="1" value="0.000000">' in row  # nothing gained yet on day one


def test_goal_ending_before_it_starts_is_refused(small_run, staff, login):
    login("manager").post(
        reverse("goal-create"),
        {
            "name": "backwards",
            "kpi": "nps",
            "change": "10",
            "start_on": "2026-11-01",
            "end_on": "2026-10-01",
        },
    )

    assert not Goal.objects.exists()


def test_sales_may_not_set_goals(small_run, staff, login):
    response = login("sales1").post(
        reverse("goal-create"),
        {
            "name": "x",
            "kpi": "nps",
            "change": "10",
            "start_on": "2026-11-01",
            "end_on": "2027-01-01",
        },
    )

    assert response.status_code == 403
    assert not Goal.objects.exists()


def test_first_run_ensure_scores_once(demo_company):
    from retain.kpis import services
    from retain.scoring.tables import TableSource

    first = services.first_run_ensure(source=TableSource.MEMORY)
    second = services.first_run_ensure(source=TableSource.MEMORY)

    assert first is not None and second is None
    assert ScoringRun.objects.count() == 1
    assert BoardFigures.objects.filter(run=first).exists()
    assert CustomerScore.objects.count() == 300 + demo_company.duplicates


def test_a_new_run_shows_the_previous_trend_until_its_own_is_computed(small_run, staff, login):
    from retain.scoring.models import RunStatus
    from tests.web.conftest import NOW

    BoardFigures.objects.create(
        run=small_run,
        computed_at=NOW,
        current={"core_repurchase_rate": 0.5},
        trend=[
            {
                "as_of": "2026-10-31",
                "retention_rate": 0.7,
                "repurchase_rate": 0.5,
                "churn_rate": 0.3,
            }
        ],
        cohorts={"cohorts": ["2026-10"], "sizes": [3], "offsets": [0], "cells": [[1.0]]},
    )
    ScoringRun.objects.create(
        as_of=dt.date(2026, 11, 2), status=RunStatus.DONE, started_at=NOW, finished_at=NOW
    )

    html = login("manager").get(reverse("dashboard")).content.decode()

    assert 'id="trend-chart"' in html
    assert '"months": ["2026-10"]' in html


def test_board_shows_the_churn_models_backtest_in_both_languages(scored_company, login):
    run = ScoringRun.objects.filter(status="done").order_by("-as_of").first()
    version = run.churn_model
    assert version is not None and version.backtest is not None
    client = login("manager")

    html = client.get(reverse("dashboard")).content.decode()

    panel = html.split('id="churn-backtest"')[1].split("</section>")[0]
    # every model beside every baseline, the one in use marked, its ROC AUC as stored
    for label in (
        "Learned: logistic regression",
        "Learned: gradient boosting",
        "Baseline: days since last purchase",
        "Baseline: RFM logistic regression",
        "Baseline: BG/NBD",
    ):
        assert label in panel
    chosen = next(r for r in version.backtest["summary"] if r["model"] == version.kind)
    assert f"{chosen['roc_auc']:.3f}" in panel and "(in use)" in panel
    assert 'id="calibration-chart"' in panel and 'id="calibration-data"' in html
    # and in Chinese
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "流失概率可信度" in html and "基准：BG/NBD" in html and "学习模型：逻辑回归" in html
