"""The nightly run, composed in one place.

score → history → KPIs → tags (one all-or-nothing scoring run) → board trend and cohorts →
playbook tasks → churn alerts → care messages → complaint deadlines → loyalty (points, expiry, referrals, tiers).

Every door calls :func:`pipeline_run`: ``retain score`` (the scoring steps), ``retain daily``
(the daily steps), the demo's first run (all), the Huey jobs and polls (all, or one step).
Each step runs once per run and on its own: a step that raises is logged, recorded on its
:class:`~retain.pipeline.models.PipelineStep` row (Admin → Nightly run) and does not stop the
steps after it. Steps that need this run's scores are skipped when the scoring step failed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.pipeline.models import PipelineStep, StepName, StepOutcome
from retain.scoring.tables import TableSource

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

SCORING_STEPS: tuple[StepName, ...] = (StepName.SCORES, StepName.BOARD)
DAILY_STEPS: tuple[StepName, ...] = (
    StepName.TASKS,
    StepName.ALERTS,
    StepName.CARE,
    StepName.COMPLAINTS,
    StepName.LOYALTY,
)
ALL_STEPS: tuple[StepName, ...] = SCORING_STEPS + DAILY_STEPS

#: The time of day a run "as of" a past or future date is taken to happen (local time).
DAILY_AT = dt.time(9, 0)


def pipeline_now(as_of: dt.date | None) -> tuple[dt.date, dt.datetime]:
    """(as_of, now): today and now, or the given day at 09:00 local time."""
    now = timezone.now()
    if as_of is None or as_of == timezone.localdate(now):
        return timezone.localdate(now), now
    return as_of, timezone.make_aware(dt.datetime.combine(as_of, DAILY_AT))


@dataclass
class StepResult:
    name: StepName
    outcome: StepOutcome
    result: Any = None
    error: str = ""


@dataclass
class PipelineResult:
    as_of: dt.date
    steps: dict[StepName, StepResult] = field(default_factory=dict)

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps.values() if s.outcome == StepOutcome.FAILED]

    def result(self, name: StepName) -> Any:
        step = self.steps.get(name)
        return None if step is None else step.result


@dataclass
class _Context:
    as_of: dt.date
    now: dt.datetime
    source: TableSource
    force: bool
    progress: Progress
    run: Any = None  # the ScoringRun the scores step made, or the newest finished one


def _counts(result: Any) -> dict[str, Any]:
    """The small numbers of a step's result, for the status page."""
    if result is None:
        return {}
    values = getattr(result, "__dict__", {})
    out = {k: v for k, v in values.items() if isinstance(v, int | float | str) and k[0] != "_"}
    if getattr(result, "broken", None):  # care templates skipped because they are broken
        out["broken"] = "; ".join(result.broken)
    return out


# --- The steps -----------------------------------------------------------------------------


def _scores(ctx: _Context) -> Any:
    from retain.scoring.services import scoring_run

    ctx.run = scoring_run(
        as_of=ctx.as_of, now=ctx.now, source=ctx.source, force=ctx.force, progress=ctx.progress
    )
    return ctx.run


def _board(ctx: _Context) -> Any:
    from retain.kpis.models import BoardFigures
    from retain.kpis.services import board_figures_refresh
    from retain.scoring.models import RunStatus, ScoringRun

    run = ctx.run
    if run is None:  # a poll, or `retain daily`: the newest finished run, once
        run = ScoringRun.objects.filter(status=RunStatus.DONE).order_by("-as_of", "-pk").first()
        if run is None or BoardFigures.objects.filter(run=run).exists():
            return None
    return board_figures_refresh(run=run, source=ctx.source, progress=ctx.progress)


def _tasks(ctx: _Context) -> Any:
    from retain.tasks.services import playbook_tasks_create

    return playbook_tasks_create(as_of=ctx.as_of, now=ctx.now)


def _alerts(ctx: _Context) -> Any:
    from retain.scoring.alerts import churn_alerts_create

    return churn_alerts_create(as_of=ctx.as_of, now=ctx.now)


def _care(ctx: _Context) -> Any:
    from retain.care.services import care_messages_prepare

    return care_messages_prepare(on=ctx.as_of, now=ctx.now)


def _complaints(ctx: _Context) -> Any:
    from retain.complaints.deadlines import complaint_deadlines_check

    return complaint_deadlines_check(now=ctx.now)


def _loyalty(ctx: _Context) -> Any:
    from retain.loyalty.services import loyalty_nightly

    return loyalty_nightly(as_of=ctx.as_of, now=ctx.now)


STEPS: dict[StepName, Callable[[_Context], Any]] = {
    StepName.SCORES: _scores,
    StepName.BOARD: _board,
    StepName.TASKS: _tasks,
    StepName.ALERTS: _alerts,
    StepName.CARE: _care,
    StepName.COMPLAINTS: _complaints,
    StepName.LOYALTY: _loyalty,
}

LABELS: dict[StepName, str] = {
    StepName.SCORES: "scoring",
    StepName.BOARD: "board figures",
    StepName.TASKS: "playbook tasks",
    StepName.ALERTS: "churn alerts",
    StepName.CARE: "care messages",
    StepName.COMPLAINTS: "complaint deadlines",
    StepName.LOYALTY: "loyalty",
}

#: Steps that use this run's scores: skipped when the scoring step of the same run failed.
NEEDS_SCORES = {StepName.BOARD, StepName.ALERTS}


def _record(
    name: StepName,
    *,
    as_of: dt.date,
    outcome: StepOutcome,
    started: dt.datetime,
    counts: dict[str, Any],
    error: str,
) -> None:
    finished = timezone.now()
    values: dict[str, Any] = {
        "as_of": as_of,
        "outcome": outcome,
        "started_at": started,
        "finished_at": finished,
        "counts": counts,
        "error": error,
    }
    step, created = PipelineStep.objects.get_or_create(name=name, defaults=values)
    if not created:
        PipelineStep.objects.filter(pk=step.pk).update(**values)
    if outcome == StepOutcome.FAILED:
        PipelineStep.objects.filter(pk=step.pk).update(
            failed_at=finished, last_error=error, failures=F("failures") + 1
        )


def pipeline_run(
    *,
    as_of: dt.date,
    now: dt.datetime,
    steps: Iterable[StepName] = ALL_STEPS,
    source: TableSource = TableSource.AUTO,
    force: bool = False,
    progress: Progress | None = None,
) -> PipelineResult:
    """Run ``steps`` (in pipeline order, each once) for ``as_of``; never raises for a step.

    ``force`` takes over a scoring run still marked running (``retain score --force``).
    """
    wanted = set(steps)
    step = progress or (lambda _label: None)
    ctx = _Context(as_of=as_of, now=now, source=source, force=force, progress=step)
    out = PipelineResult(as_of=as_of)
    for name in ALL_STEPS:
        if name not in wanted:
            continue
        started = timezone.now()
        scores = out.steps.get(StepName.SCORES)
        if name in NEEDS_SCORES and scores is not None and scores.outcome != StepOutcome.OK:
            reason = _("the scoring step failed")
            out.steps[name] = StepResult(name, StepOutcome.SKIPPED, error=reason)
            _record(
                name,
                as_of=as_of,
                outcome=StepOutcome.SKIPPED,
                started=started,
                counts={},
                error=reason,
            )
            continue
        step(LABELS[name])
        try:
            if name == StepName.SCORES:
                # not in a savepoint: a failed run must stay marked failed
                result = STEPS[name](ctx)
            else:
                # a savepoint: a database error in one step does not poison the next ones
                with transaction.atomic():
                    result = STEPS[name](ctx)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.exception("nightly step %s as of %s failed", name.value, as_of)
            out.steps[name] = StepResult(name, StepOutcome.FAILED, error=error)
            _record(
                name,
                as_of=as_of,
                outcome=StepOutcome.FAILED,
                started=started,
                counts={},
                error=error,
            )
            continue
        out.steps[name] = StepResult(name, StepOutcome.OK, result=result)
        _record(
            name,
            as_of=as_of,
            outcome=StepOutcome.OK,
            started=started,
            counts=_counts(result),
            error="",
        )
    if any(r.outcome == StepOutcome.OK for r in out.steps.values()):
        # After the steps' writes commit (and invalidate): the board of every scope.
        transaction.on_commit(lambda: _board_cache_warm(source=source, progress=step))
    return out


def _board_cache_warm(*, source: TableSource, progress: Progress) -> None:
    """The board's figures of every scope into the cache; a failure costs only speed."""
    from retain.kpis.services import board_cache_warm

    try:
        board_cache_warm(source=source, progress=progress)
    except Exception:
        log.exception("computing the board's figures ahead failed")
