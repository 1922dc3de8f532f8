"""Scores, segments and tasks through the API: the same rows as the web shows."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.playbooks.models import Segment
from retain.scoring.models import CustomerScore, RunStatus, ScoringRun
from retain.tasks.models import Task
from tests.access.conftest import bearer
from tests.conftest import AS_OF

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def scored(company):
    run = ScoringRun.objects.create(as_of=AS_OF, status=RunStatus.DONE, started_at=NOW)
    for owner, customer in company.customers.items():
        CustomerScore.objects.create(
            customer=customer,
            run=run,
            as_of=AS_OF,
            quadrant="core" if owner in ("east", "west") else "potential",
            lifecycle_stage="active",
            churn_risk="high" if owner == "west" else "low",
            churn_probability=0.82 if owner == "west" else 0.1,
            churn_model="logistic",
            risk_reasons="overdue(multiple=3.2); open_complaint(count=1, days=5)"
            if owner == "west"
            else "",
            reason_codes=[
                {"code": "overdue", "params": {"multiple": 3.2}},
                {"code": "open_complaint", "params": {"count": 1, "days": 5}},
            ]
            if owner == "west"
            else [],
        )
    return company


def test_scores_cover_only_visible_customers(client, scored):
    mine = client.get("/api/v1/scores", headers=bearer(scored, "east"))
    risky = client.get("/api/v1/scores", {"churn_risk": "high"}, headers=bearer(scored, "manager"))

    assert [s["customer"] for s in mine.json()["items"]] == [scored.code("east")]
    assert [s["customer"] for s in risky.json()["items"]] == [scored.code("west")]
    # the probability and the reasons as the engine wrote them, codes with parameters
    west = risky.json()["items"][0]
    assert (west["churn_probability"], west["churn_model"]) == (0.82, "logistic")
    assert west["risk_reasons"] == "overdue(multiple=3.2); open_complaint(count=1, days=5)"
    assert west["reason_codes"] == [
        {"code": "overdue", "params": {"multiple": 3.2}},
        {"code": "open_complaint", "params": {"count": 1.0, "days": 5.0}},
    ]


def test_segment_members_are_filtered_by_visibility(client, scored):
    segment = Segment.objects.create(
        name="test: core", conditions={"all": [{"field": "quadrant", "op": "eq", "value": "core"}]}
    )

    east = client.get(f"/api/v1/segments/{segment.pk}/members", headers=bearer(scored, "east"))
    manager = client.get(
        f"/api/v1/segments/{segment.pk}/members", headers=bearer(scored, "manager")
    )
    listed = client.get("/api/v1/segments", headers=bearer(scored, "marketing"))

    assert [c["code"] for c in east.json()["items"]] == [scored.code("east")]
    assert sorted(c["code"] for c in manager.json()["items"]) == sorted(
        [scored.code("east"), scored.code("west")]
    )
    assert segment.name in [s["name"] for s in listed.json()["items"]]


def test_tasks_default_to_your_own_open_ones(client, scored):
    for owner in ("east", "west"):
        Task.objects.create(
            customer=scored.customers[owner],
            kind="followup",
            key=f"test:{owner}",
            owner=scored.users[owner],
            title="回访",
            due_on=AS_OF,
            created_at=NOW,
        )

    east = client.get("/api/v1/tasks", headers=bearer(scored, "east"))
    east_all = client.get("/api/v1/tasks", {"mine": False}, headers=bearer(scored, "east"))
    manager_all = client.get("/api/v1/tasks", {"mine": False}, headers=bearer(scored, "manager"))

    assert [t["owner"] for t in east.json()["items"]] == ["east"]
    assert [t["owner"] for t in east_all.json()["items"]] == ["east"]
    assert sorted(t["owner"] for t in manager_all.json()["items"]) == ["east", "west"]
