"""Reads of the board (看板): KPI cards against targets, the value x activity matrix, the
trend, the cohort heatmap, the at-risk list and goals, from the latest scoring run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, QuerySet
from django.utils.translation import gettext_lazy as _

from retain.accounts.access import visible_to
from retain.analytics import Quadrant
from retain.complaints.models import Complaint, ComplaintStatus
from retain.core.cache import cached
from retain.kpis.definitions import KPIS, KpiDefinition
from retain.kpis.figures import Overview, cache_scope, kpi_figures, overview
from retain.kpis.models import BoardFigures, Goal, KpiTarget
from retain.scoring.models import CustomerScore, KpiSnapshot, RunStatus, ScoringRun

QUADRANT_LABELS = {
    "core": _("Core"),
    "potential": _("Potential"),
    "basic": _("Basic"),
    "watch": _("Watch"),
}
QUADRANT_HINTS = {
    "core": _("high value, high activity"),
    "potential": _("high value, low activity: re-activate"),
    "basic": _("low value, high activity: raise basket size"),
    "watch": _("low value, low activity: judge whether worth keeping"),
}
#: Cards shown on the board, in order.
CARD_KPIS = [
    "retention_rate",
    "core_repurchase_rate",
    "average_ltv",
    "nps",
    "complaint_rate",
    "positive_review_rate",
    "repurchase_rate",
    "churn_rate",
]


@dataclass(frozen=True)
class KpiCard:
    definition: KpiDefinition
    value: float | None
    target: KpiTarget | None
    previous: float | None  # at the end of the previous month

    @property
    def key(self) -> str:
        return self.definition.key.value

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met_by(self.value)

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def improving(self) -> bool | None:
        d = self.delta
        if d is None or abs(d) < 1e-9:
            return None
        return (d > 0) == self.definition.higher_is_better


@dataclass(frozen=True)
class MatrixCell:
    quadrant: str
    label: str
    hint: str
    customers: int
    share: float | None
    revenue: float
    revenue_share: float | None


@dataclass(frozen=True)
class GoalProgress:
    goal: Goal
    actual: float | None
    unit: str

    @property
    def target(self) -> float:
        return self.goal.target

    @property
    def progress(self) -> float | None:
        """0 at the baseline, 1 at the target (clamped to [0, 1])."""
        if self.actual is None or self.goal.target == self.goal.baseline:
            return None
        share = (self.actual - self.goal.baseline) / (self.goal.target - self.goal.baseline)
        return max(0.0, min(1.0, share))

    def elapsed(self, today: dt.date) -> float:
        total = (self.goal.end_on - self.goal.start_on).days
        done = (min(max(today, self.goal.start_on), self.goal.end_on) - self.goal.start_on).days
        return done / total if total else 1.0


@dataclass
class Board:
    run: ScoringRun | None
    figures: dict[str, Any]
    overview: Overview
    #: "all": the company's figures; "own": those of the customers the user sees
    scope: str = "all"
    cards: list[KpiCard] = field(default_factory=list)
    matrix: list[MatrixCell] = field(default_factory=list)
    trend: dict[str, list[Any]] = field(default_factory=dict)
    cohorts: dict[str, Any] = field(default_factory=dict)
    goals: list[GoalProgress] = field(default_factory=list)
    trend_ready: bool = False
    extra: BoardFigures | None = None


def latest_run() -> ScoringRun | None:
    return ScoringRun.objects.filter(status=RunStatus.DONE).order_by("-as_of", "-pk").first()


def current_values(run: ScoringRun | None) -> tuple[dict[str, Any], BoardFigures | None]:
    """(the engine's figures of the run, stored by the run, and its board figures or None)."""
    if run is None:
        return {}, None
    snap = KpiSnapshot.objects.filter(month=run.as_of.replace(day=1)).first()
    figures: dict[str, Any] = dict(snap.figures) if snap is not None else {}
    extra = BoardFigures.objects.filter(run=run).first()
    if extra is None:
        # Until this run's figures are computed, show the previous run's trend and cohorts.
        extra = (
            BoardFigures.objects.filter(run__as_of__lte=run.as_of)
            .order_by("-run__as_of", "-run_id")
            .first()
        )
    return figures, extra


def _stored_overview(run: ScoringRun, extra: BoardFigures | None) -> Overview:
    """The run's stored headline figures (open complaints counted now), else computed."""
    stored = extra.current.get("overview") if extra is not None and extra.run_id == run.pk else None
    if not stored:
        return overview(as_of=run.as_of)
    open_now = Complaint.objects.filter(
        status__in=[ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS]
    ).count()
    return Overview(
        customers=stored["customers"],
        companies=stored["companies"],
        persons=stored["persons"],
        orders_12m=stored["orders_12m"],
        revenue_12m=Decimal(stored["revenue_12m"]),
        buyers_12m=stored["buyers_12m"],
        open_complaints=open_now,
        monthly=[(m, n, Decimal(r)) for m, n, r in stored["monthly"]],
    )


def quadrant_counts(*, user: Any) -> dict[str, int]:
    """Customers per quadrant of the current scores that ``user`` sees: the numbers of the
    customer lists the board's matrix links to (``?quadrant=...``)."""
    rows = (
        visible_to(user, CustomerScore.objects.exclude(quadrant=""))
        .values("quadrant")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["quadrant"]: row["n"] for row in rows}


def kpi_value(figures: dict[str, Any], key: str) -> float | None:
    definition = KPIS[key]
    raw = figures.get(definition.source)
    return definition.display(raw)


def _previous_row(trend: list[dict[str, Any]], as_of: dt.date) -> dict[str, Any] | None:
    month_start = as_of.replace(day=1).isoformat()
    before = [row for row in trend if str(row.get("as_of", "")) < month_start]
    return before[-1] if before else None


@dataclass(frozen=True)
class BoardData:
    """The board's figures that change only with a scoring run and the writes they read:
    what the cache keeps (``retain.core.cache``), free of translated labels."""

    figures: dict[str, Any]
    overview: Overview
    scope: str
    quadrant_counts: dict[str, int]
    extra: BoardFigures | None


def board_data(*, run: ScoringRun, user: Any = None, tables: Any = None) -> BoardData:
    """The board's figures of ``run`` as ``user`` sees them, computed now (uncached).

    ``tables``: the app's tables already read (``app_tables``), when computing many scopes."""
    figures, extra = current_values(run)
    if cache_scope(user) == "all":
        counts = quadrant_counts(user=user) if user is not None else _all_quadrant_counts()
        return BoardData(
            figures=figures,
            overview=_stored_overview(run, extra),
            scope="all",
            quadrant_counts=counts,
            extra=extra,
        )
    live = kpi_figures(as_of=run.as_of, user=user, tables=tables)
    return BoardData(
        figures=live.engine,
        overview=live.overview,
        scope=live.scope,
        quadrant_counts=quadrant_counts(user=user),
        extra=None,
    )


def board_data_cached(*, run: ScoringRun, user: Any = None, tables: Any = None) -> BoardData:
    """``board_data`` from the cache: one entry for every user who sees every customer, one
    per user for the others (their own customers)."""
    return cached(
        "board",
        board_key(run=run, user=user),
        lambda: board_data(run=run, user=user, tables=tables),
    )


def board_key(*, run: ScoringRun, user: Any) -> str:
    """The cache key of ``user``'s board figures of ``run`` (in the "board" topic)."""
    return f"{run.pk}:{cache_scope(user)}"


def board(*, today: dt.date, user: Any = None) -> Board:
    """The board as ``user`` sees it (None: the whole company).

    Users who see every customer get the figures the scoring run stored; users who see
    only some get the same KPIs computed now over their customers (``kpi_figures``), as
    ``GET /api/v1/kpis`` gives them. The trend and cohorts are the company's and are shown
    only with the company's figures. The figures come from the cache (``board_data_cached``);
    targets and goals are read now.
    """
    run = latest_run()
    if run is None:
        return Board(run=None, figures={}, overview=overview(as_of=today))
    data = board_data_cached(run=run, user=user)
    figures, extra = data.figures, data.extra
    result = Board(run=run, figures=figures, extra=extra, overview=data.overview, scope=data.scope)
    targets = {t.kpi: t for t in KpiTarget.objects.all()}
    trend_rows: list[dict[str, Any]] = extra.trend if extra is not None else []
    previous = _previous_row(trend_rows, run.as_of)
    for key in CARD_KPIS:
        result.cards.append(
            KpiCard(
                definition=KPIS[key],
                value=kpi_value(figures, key),
                target=targets.get(key),
                previous=kpi_value(previous, key) if previous is not None else None,
            )
        )
    counts = data.quadrant_counts
    for q in Quadrant:
        name = str(q)
        result.matrix.append(
            MatrixCell(
                quadrant=name,
                label=str(QUADRANT_LABELS[name]),
                hint=str(QUADRANT_HINTS[name]),
                customers=counts.get(name, 0),
                share=figures.get(f"{name}_share"),
                revenue=float(figures.get(f"{name}_revenue") or 0.0),
                revenue_share=figures.get(f"{name}_revenue_share"),
            )
        )
    if extra is not None:
        result.trend_ready = True
        result.trend = {
            "months": [str(r["as_of"])[:7] for r in trend_rows],
            "retention": [_pct(r.get("retention_rate")) for r in trend_rows],
            "repurchase": [_pct(r.get("repurchase_rate")) for r in trend_rows],
            "churn": [_pct(r.get("churn_rate")) for r in trend_rows],
        }
        result.cohorts = extra.cohorts
    for goal in Goal.objects.filter(end_on__gte=today - dt.timedelta(days=90)):
        result.goals.append(
            GoalProgress(goal=goal, actual=kpi_value(figures, goal.kpi), unit=KPIS[goal.kpi].unit)
        )
    return result


def _all_quadrant_counts() -> dict[str, int]:
    rows = CustomerScore.objects.exclude(quadrant="").values("quadrant").annotate(n=Count("pk"))
    return {row["quadrant"]: row["n"] for row in rows.order_by()}


def _pct(value: Any) -> float | None:
    return None if value is None else round(float(value) * 100.0, 2)


def at_risk(*, user: Any, limit: int = 10) -> QuerySet[CustomerScore]:
    """The high-risk customers the user may see, the most value at stake (lifetime value x
    churn probability) first."""
    return (
        visible_to(user, CustomerScore.objects.filter(churn_risk="high"))
        .select_related("customer", "customer__owner")
        .order_by(
            F("expected_lost_value").desc(nulls_last=True),
            F("predicted_ltv").desc(nulls_last=True),
            "customer_id",
        )[:limit]
    )


def at_risk_cached(*, run: ScoringRun, user: Any, limit: int = 10) -> list[CustomerScore]:
    """``at_risk`` from the cache (one ORDER BY over every high-risk score: 0.4 s at 100k
    customers on PostgreSQL), per run and scope like the board's figures."""
    return cached(
        "board",
        f"{run.pk}:{cache_scope(user)}:at_risk:{limit}",
        lambda: list(at_risk(user=user, limit=limit)),
    )
