"""Writes of the board: targets, goals, and the per-run figures (trend and cohorts)."""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from retain.accounts.access import require
from retain.analytics import cohort_retention, month_ends
from retain.audit.services import audit_event, snapshot
from retain.core.cache import invalidate_on_commit
from retain.kpis.definitions import KPIS
from retain.kpis.figures import Overview, kpi_snapshots, overview
from retain.kpis.models import BoardFigures, Goal, KpiTarget
from retain.scoring.models import KpiSnapshot, RunStatus, ScoringRun
from retain.scoring.tables import ENGINE_LOCK, TableSource, app_tables, resolved_source

#: Months of trend and of cohorts the board shows.
TREND_MONTHS = 12
COHORT_MONTHS = 12


@transaction.atomic
def kpi_target_update(
    *, target: KpiTarget, comparison: str, value: float, actor: Any, request: Any = None
) -> KpiTarget:
    """Change a KPI's target (managers and admins). Audited."""
    require(actor, "kpis.change_kpitarget")
    before = snapshot(target, ["comparison", "value"])
    target.comparison = comparison
    target.value = value
    target.updated_at = timezone.now()
    target.updated_by = actor
    target.full_clean()
    target.save(update_fields=["comparison", "value", "updated_at", "updated_by"])
    audit_event(
        actor=actor,
        action="update",
        obj=target,
        before=before,
        after=snapshot(target, ["comparison", "value"]),
        request=request,
    )
    return target


@transaction.atomic
def goal_create(
    *,
    name: str,
    kpi: str,
    change: float,
    relative: bool,
    start_on: dt.date,
    end_on: dt.date,
    baseline: float,
    actor: Any,
    now: dt.datetime | None = None,
    request: Any = None,
) -> Goal:
    """Set a goal against the KPI's value now (the baseline). Audited."""
    require(actor, "kpis.add_goal")
    goal = Goal(
        name=name,
        kpi=kpi,
        change=change,
        relative=relative,
        baseline=baseline,
        start_on=start_on,
        end_on=end_on,
        created_by=actor,
        created_at=now or timezone.now(),
    )
    goal.full_clean()
    goal.save()
    audit_event(actor=actor, action="create", obj=goal, after=snapshot(goal), request=request)
    return goal


@transaction.atomic
def goal_delete(*, goal: Goal, actor: Any, request: Any = None) -> None:
    require(actor, "kpis.delete_goal")
    audit_event(actor=actor, action="delete", obj=goal, before=snapshot(goal), request=request)
    goal.delete()


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def overview_to_json(figures: Overview) -> dict[str, Any]:
    data = asdict(figures)
    data["revenue_12m"] = str(figures.revenue_12m)
    data["monthly"] = [[m, n, str(r)] for m, n, r in figures.monthly]
    return data


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def _closed_months(run: ScoringRun) -> dict[str, dict[str, Any]]:
    """Trend rows of closed months (before the run's month) from earlier board figures:
    a month that is over does not change, so the nightly run computes only the current one."""
    month_start = run.as_of.replace(day=1).isoformat()
    rows: dict[str, dict[str, Any]] = {}
    for trend in (
        BoardFigures.objects.exclude(run=run)
        .filter(run__as_of__lte=run.as_of)
        .order_by("run__as_of", "run_id")
        .values_list("trend", flat=True)
    ):
        for row in trend:
            day = str(row.get("as_of", ""))
            # only true month ends: a run's own as_of mid-month is not a closed month
            if day and day < month_start and _is_month_end(dt.date.fromisoformat(day)):
                rows[day] = row
    return rows


def board_figures_refresh(
    *,
    run: ScoringRun | None = None,
    source: TableSource = TableSource.AUTO,
    progress: Any = None,
) -> BoardFigures | None:
    """Compute the board's monthly trend and cohort matrix for a finished scoring run.

    The engine computes the KPIs at each of the last 12 month ends (months already computed
    for an earlier run are reused, the others come from one engine pass) and the cohort
    matrix. The tables are read once into memory (DuckDB), which is many times faster than
    passes over SQLite; it still takes seconds, so it runs once per scoring run (``retain
    score``, the nightly job, ``retain demo``), never in a request.
    """
    run = run or ScoringRun.objects.filter(status=RunStatus.DONE).order_by("-as_of", "-pk").first()
    if run is None:
        return None
    step = progress or (lambda _label: None)
    started = time.monotonic()
    step("reading tables")
    tables = app_tables(source=resolved_source(source))
    known = _closed_months(run)
    # The run's own day: the KPI snapshot the scoring run stored (computed once, not twice).
    own = KpiSnapshot.objects.filter(as_of=run.as_of).values_list("figures", flat=True).first()
    if own is not None:
        known[run.as_of.isoformat()] = own
    ends = month_ends(_months_back(run.as_of, TREND_MONTHS), run.as_of)
    missing = [end for end in ends if end.isoformat() not in known]
    if missing:  # all of them in one engine pass, not one per month end
        step(f"KPIs as of {len(missing)} month ends")
        known.update(
            (day.isoformat(), row)
            for day, row in kpi_snapshots(as_of_dates=missing, tables=tables).items()
        )
    trend = [known[end.isoformat()] for end in ends]
    step("cohorts")
    with ENGINE_LOCK:
        matrix = cohort_retention(tables.plain_tables(), as_of=run.as_of)
    matrix = matrix.tail(COHORT_MONTHS)
    offsets = [c for c in matrix.columns if c != "cohort_size"][:COHORT_MONTHS]
    cohorts = {
        "cohorts": [str(c) for c in matrix.index],
        "sizes": [int(s) for s in matrix["cohort_size"]],
        "offsets": [int(o) for o in offsets],
        "cells": [[_clean(float(matrix.loc[c, o])) for o in offsets] for c in matrix.index],
    }
    step("orders by month")
    current = {"overview": overview_to_json(overview(as_of=run.as_of))}
    figures, _created = BoardFigures.objects.update_or_create(
        run=run,
        defaults={
            "computed_at": timezone.now(),
            "seconds": round(time.monotonic() - started, 3),
            "current": current,
            "trend": trend,
            "cohorts": cohorts,
        },
    )
    invalidate_on_commit("board")  # the board showed the previous run's trend until now
    return figures


#: Below this many customers a board scope is computed on its first view (well under a
#: second); from it on, :func:`board_cache_warm` computes every scope after the nightly run.
WARM_MIN_CUSTOMERS = 5_000
#: Scopes of users who see only some customers warmed per run, at most (the users who
#: signed in most recently first; the others compute theirs on first view).
WARM_MAX_USERS = 200


def board_cache_warm(*, source: TableSource = TableSource.AUTO, progress: Any = None) -> int:
    """Compute the board's cached figures of every scope now, so that no request pays for
    them: the company's (everyone who sees every customer), and those of each active user
    who sees only some (their KPIs are computed by the engine over their customers: one to
    several seconds each at 100k customers, which under load queued every other request).

    Called once the nightly run's writes have committed (``pipeline_run``); a later write
    the figures read starts a new generation, and the next view computes them again
    (``retain.core.cache``). Returns the number of scopes computed (0 below
    ``WARM_MIN_CUSTOMERS`` customers or with no finished run).
    """
    from retain.accounts.access import VIEW_ALL_CUSTOMERS, can
    from retain.accounts.models import User
    from retain.core.cache import is_cached
    from retain.customers.models import Customer
    from retain.kpis.figures import survey_figures_cached
    from retain.kpis.selectors import at_risk_cached, board_data_cached, board_key, latest_run

    run = latest_run()
    if run is None or Customer.objects.count() < WARM_MIN_CUSTOMERS:
        return 0
    step = progress or (lambda _label: None)
    today = timezone.localdate()
    # One user who sees every customer stands for the company's scope (they share one entry).
    everyone: Any = None
    users: list[Any] = []
    for user in User.objects.filter(is_active=True).order_by(
        F("last_login").desc(nulls_last=True), "pk"
    ):
        if can(user, VIEW_ALL_CUSTOMERS):
            everyone = everyone or user
        elif can(user, "customers.view_customer") and len(users) < WARM_MAX_USERS:
            users.append(user)
    scopes = ([everyone] if everyone is not None else []) + users
    # the engine's tables are read only when a rep's figures are missing (not after a
    # `retain daily` that changed nothing they read)
    missing = [u for u in users if not is_cached("board", board_key(run=run, user=u))]
    tables = app_tables(source=resolved_source(source)) if missing else None
    for number, user in enumerate(scopes, start=1):
        step(f"board figures of {user.get_username()} ({number} of {len(scopes)})")
        board_data_cached(run=run, user=user, tables=tables)
        at_risk_cached(run=run, user=user)
        survey_figures_cached(as_of=today, user=user)
    return len(scopes)


__all__ = [
    "KPIS",
    "WARM_MIN_CUSTOMERS",
    "board_cache_warm",
    "board_figures_refresh",
    "goal_create",
    "goal_delete",
    "kpi_target_update",
]


def first_run_ensure(
    *, progress: Any = None, source: TableSource = TableSource.AUTO
) -> ScoringRun | None:
    """After loading a demo company: the whole nightly run once (scores, board, daily jobs).

    Idempotent: does nothing when a finished scoring run (and its board figures) exists.
    Returns the run it made, or None.
    """
    from retain.customers.models import Customer
    from retain.pipeline.models import StepName
    from retain.pipeline.services import ALL_STEPS, pipeline_now, pipeline_run

    run = ScoringRun.objects.filter(status=RunStatus.DONE).order_by("-as_of", "-pk").first()
    if run is not None:
        if not BoardFigures.objects.filter(run=run).exists():
            pipeline_run(
                as_of=run.as_of,
                now=timezone.now(),
                steps=[StepName.BOARD],
                source=source,
                progress=progress,
            )
        return None
    if not Customer.objects.exists():
        return None
    day, now = pipeline_now(None)
    result = pipeline_run(as_of=day, now=now, steps=ALL_STEPS, source=source, progress=progress)
    run = result.result(StepName.SCORES)
    return run if isinstance(run, ScoringRun) else None
