"""The nightly run has one owner (retain.pipeline): each step runs once per run and on its
own; a step that fails is logged, recorded for the status page and does not stop the rest."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from retain.care.models import CareTemplate, Occasion
from retain.kpis.models import BoardFigures
from retain.pipeline.models import PipelineStep, StepName, StepOutcome
from retain.pipeline.services import ALL_STEPS, DAILY_AT, DAILY_STEPS, pipeline_run
from retain.scoring.models import KpiSnapshot, RunStatus, ScoringRun
from retain.scoring.tables import TableSource
from retain.surveys.models import SurveyResponse
from retain.surveys.services import answer_is_unhappy
from retain.tasks.models import Task
from tests.conftest import AS_OF, PASSWORD

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime.combine(AS_OF, DAILY_AT))


def broken_care_step(monkeypatch) -> None:
    """The care step fails with a database error (a table gone missing)."""
    from django.db import connection

    import retain.care.services as care

    def prepare(*, on, now):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM care_no_such_table")

    monkeypatch.setattr(care, "care_messages_prepare", prepare)


def test_a_failing_step_lets_the_next_steps_run_and_is_recorded(
    demo_company, score, caplog, monkeypatch
):
    score(AS_OF, now=NOW)
    broken_care_step(monkeypatch)

    with caplog.at_level(logging.ERROR, logger="retain.pipeline.services"):
        result = pipeline_run(as_of=AS_OF, now=NOW, steps=DAILY_STEPS)

    outcomes = {name.value: step.outcome for name, step in result.steps.items()}
    assert outcomes == {
        "tasks": "ok",
        "alerts": "ok",
        "care": "failed",
        "complaints": "ok",
        "loyalty": "ok",
    }
    # the steps after the broken one did their work
    assert result.result(StepName.TASKS).created > 0
    assert result.result(StepName.LOYALTY) is not None
    # no daily catch-up of detractors: the demo opened its last week's call-backs itself
    recent = SurveyResponse.objects.filter(answered_at__date__gt=AS_OF - dt.timedelta(days=7))
    unhappy = {f"survey:{r.pk}" for r in recent if answer_is_unhappy(r)}
    assert (
        unhappy
        and set(Task.objects.filter(key__startswith="survey:").values_list("key", flat=True))
        == unhappy
    )
    # logged, with the traceback
    assert [r.getMessage() for r in caplog.records] == [f"nightly step care as of {AS_OF} failed"]
    assert caplog.records[0].exc_info is not None
    # recorded: one row per step, the failure kept
    care = PipelineStep.objects.get(name="care")
    assert care.outcome == StepOutcome.FAILED
    assert care.error.startswith(("ProgrammingError: ", "OperationalError: "))
    assert "care_no_such_table" in care.error
    assert care.last_error == care.error and care.failures == 1
    assert PipelineStep.objects.get(name="tasks").counts["created"] == (
        result.result(StepName.TASKS).created
    )

    # the step mended, the next run clears it but keeps its last failure
    monkeypatch.undo()
    again = pipeline_run(as_of=AS_OF, now=NOW, steps=DAILY_STEPS)
    assert again.failed == []
    care.refresh_from_db()
    assert (care.outcome, care.error, care.failures) == (StepOutcome.OK, "", 1)
    assert "care_no_such_table" in care.last_error


def test_a_broken_care_template_is_reported_on_the_status_page(demo_company):
    CareTemplate.objects.create(
        name="broken",
        occasion=Occasion.CUSTOM,
        custom_month=AS_OF.month,
        custom_day=AS_OF.day,
        subject="{% if %}",
        body="hello",
    )

    result = pipeline_run(as_of=AS_OF, now=NOW, steps=[StepName.CARE, StepName.COMPLAINTS])

    assert result.failed == []
    care = PipelineStep.objects.get(name="care")
    assert care.counts["broken"].startswith("broken: ")


def test_the_status_page_shows_the_failure_to_the_admin(demo_company, client, monkeypatch):
    broken_care_step(monkeypatch)
    pipeline_run(as_of=AS_OF, now=NOW, steps=[StepName.CARE, StepName.COMPLAINTS])

    client.login(username="admin", password=PASSWORD)
    page = client.get("/admin/pipeline/pipelinestep/", HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    html = page.content.decode()
    assert "care_no_such_table" in html
    assert html.count("Failed") >= 1 and "Complaint deadlines" in html
    # sales users do not run the company: no status page
    client.login(username="sales1", password=PASSWORD)
    assert client.get("/admin/pipeline/pipelinestep/").status_code in (302, 403)


def test_a_failed_scoring_step_skips_what_needs_the_scores_and_runs_the_rest(
    demo_company, monkeypatch
):
    import retain.scoring.services as scoring

    def disk_full(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(scoring, "score_customers", disk_full)

    result = pipeline_run(as_of=AS_OF, now=NOW, steps=ALL_STEPS, source=TableSource.MEMORY)

    outcomes = {name.value: step.outcome for name, step in result.steps.items()}
    assert outcomes == {
        "scores": "failed",
        "board": "skipped",
        "tasks": "ok",
        "alerts": "skipped",
        "care": "ok",
        "complaints": "ok",
        "loyalty": "ok",
    }
    assert result.steps[StepName.SCORES].error == "RuntimeError: disk full"
    assert ScoringRun.objects.get().status == RunStatus.FAILED
    assert PipelineStep.objects.get(name="board").outcome == StepOutcome.SKIPPED


def test_each_step_runs_once_and_the_days_summary_and_kpis_once(demo_company, monkeypatch):
    import retain.analytics._kpis as engine_kpis
    import retain.analytics._scoring as engine_scoring
    import retain.kpis.figures as figures_module

    summaries: list[dt.date] = []
    figures: list[dt.date] = []
    passes: list[list[dt.date]] = []
    real_summary = engine_scoring.customer_summary
    real_kpis = engine_kpis.kpis
    real_kpis_at = engine_kpis.kpis_at

    def summary(*args, as_of, **kw):
        summaries.append(as_of)
        return real_summary(*args, as_of=as_of, **kw)

    def kpis(*args, as_of, **kw):
        figures.append(as_of)
        return real_kpis(*args, as_of=as_of, **kw)

    for module in (engine_scoring, engine_kpis):
        monkeypatch.setattr(module, "customer_summary", summary)

    def kpis_at(tables, as_of_dates, **kw):
        passes.append(list(as_of_dates))
        return real_kpis_at(tables, as_of_dates, **kw)

    monkeypatch.setattr(figures_module, "kpis", kpis)
    monkeypatch.setattr(figures_module, "kpis_at", kpis_at)
    ran: list[str] = []

    result = pipeline_run(
        as_of=AS_OF,
        now=NOW,
        source=TableSource.MEMORY,
        progress=ran.append,
    )

    assert result.failed == []
    assert ran == [
        "scoring",
        "reading tables",
        "learning the churn probability",
        "scoring customers",
        "computing KPIs",
        "writing scores",
        "board figures",
        "reading tables",
        "KPIs as of 12 month ends",
        "cohorts",
        "orders by month",
        "playbook tasks",
        "churn alerts",
        "care messages",
        "complaint deadlines",
        "loyalty",
    ]
    # the day's summary and KPIs once each; the board's 12 earlier month ends in one pass
    assert summaries.count(AS_OF) == 1
    assert figures == [AS_OF]
    assert len(passes) == 1
    assert len(passes[0]) == len(set(passes[0])) == 12
    assert AS_OF not in passes[0] and passes[0] == sorted(passes[0])
    # and the board's last trend row is the month's snapshot itself
    run = result.result(StepName.SCORES)
    trend = BoardFigures.objects.get(run=run).trend
    assert trend[-1] == KpiSnapshot.objects.get(as_of=AS_OF).figures


def test_a_job_queued_with_a_step_this_version_no_longer_has_runs_the_rest(caplog):
    from retain.pipeline.tasks import pipeline_job

    with caplog.at_level(logging.WARNING, logger="retain.pipeline.tasks"):
        failed = pipeline_job.call_local(AS_OF.isoformat(), ["complaints", "detractors"])

    assert failed == []
    assert list(PipelineStep.objects.values_list("name", flat=True)) == ["complaints"]
    assert [r.getMessage() for r in caplog.records] == [
        f"pipeline job for {AS_OF.isoformat()}: no step named detractors; left out"
    ]
