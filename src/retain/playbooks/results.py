"""A measured plan's results per arm: each arm against the control group, outcomes after
entry only, intention-to-treat (every customer assigned counts, reached or not).

Set-based: one aggregate query per plan groups the assignment log by arm; the outcome of each
entry is an EXISTS / scalar subquery over orders, score changes, complaints and survey
answers inside the window after that entry. No per-customer Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext_lazy as _

from retain.playbooks.measurement import (
    Difference,
    Verdict,
    bootstrap_mean_difference,
    mean_difference,
    proportion_difference,
    revenue_method,
    sample_size,
    verdict,
)
from retain.playbooks.models import PlanAssignment, Playbook

#: The outcome windows after entry (days).
SHORT, LONG = 30, 90

VERDICT_TEXT = {
    Verdict.TOO_EARLY: _("Too early to tell"),
    Verdict.WORKS: _("Works"),
    Verdict.NO_EFFECT: _("No effect detected"),
    Verdict.HARMFUL: _("Harmful"),
}


REVENUE_METHOD_TEXT = {
    "bootstrap": _(
        "Revenue: bootstrap interval (2,000 resamples of the customers, fixed seed), because a "
        "group has fewer than 1,000 customers followed: revenue is skewed (most buy nothing, a "
        "few buy a lot) and Welch's t interval is unreliable for small skewed groups."
    ),
    "welch": _(
        "Revenue: Welch's t interval, because both groups have at least 1,000 customers "
        "followed: their means are close to normal, and the bootstrap gives the same interval."
    ),
}


@dataclass(frozen=True)
class ArmFigures:
    """One arm's figures: ``customers`` entered; the rates over those followed long enough."""

    key: str  # "control", "plan" or "variant:<id>"
    name: str
    holdout: bool
    customers: int
    reached: int
    followed_short: int
    bought_short: int
    followed: int  # followed for the whole long window
    bought: int
    churned: int
    complained: int
    revenue: float
    revenue_sq: float
    nps_n: int
    nps_sum: float
    nps_sq: float

    @property
    def reached_share(self) -> float | None:
        return self.reached / self.customers if self.customers else None

    @property
    def repurchase_short(self) -> float | None:
        return self.bought_short / self.followed_short if self.followed_short else None

    @property
    def repurchase(self) -> float | None:
        return self.bought / self.followed if self.followed else None

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.followed if self.followed else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complained / self.followed if self.followed else None

    @property
    def revenue_per_customer(self) -> float | None:
        return self.revenue / self.followed if self.followed else None

    @property
    def nps_mean(self) -> float | None:
        return self.nps_sum / self.nps_n if self.nps_n else None


@dataclass(frozen=True)
class Comparison:
    """A treated arm against the control: each difference with its 95% interval."""

    arm: ArmFigures
    repurchase_short: Difference | None
    repurchase: Difference | None
    revenue: Difference | None
    churn: Difference | None
    complaint: Difference | None
    nps: Difference | None
    needed: tuple[int, int] | None  # (treated, control) for the stated minimum effect
    horizon_reached: bool
    verdict: Verdict

    @property
    def verdict_text(self) -> str:
        return str(VERDICT_TEXT[self.verdict])

    @property
    def still_needed(self) -> tuple[int, int] | None:
        if self.needed is None:
            return None
        return (
            max(0, self.needed[0] - self.arm.followed),
            max(0, self.needed[1] - self.control_followed),
        )

    control_followed: int = 0
    control_repurchase: float | None = None
    #: the revenue interval: "bootstrap" (small groups) or "welch" (see ``revenue_method``)
    revenue_method: str = "welch"

    @property
    def revenue_method_text(self) -> str:
        return str(REVENUE_METHOD_TEXT[self.revenue_method])

    @property
    def reached_text(self) -> str:
        return _pct(self.arm.reached_share)

    @property
    def repurchase_text(self) -> str:
        """The arm's 90-day repurchase rate, then the control group's."""
        return f"{_pct(self.arm.repurchase)} / {_pct(self.control_repurchase)}"

    @property
    def repurchase_difference_text(self) -> str:
        return _diff(self.repurchase, points=True)


@dataclass(frozen=True)
class PlanResults:
    playbook: Playbook
    as_of: dt.datetime
    control: ArmFigures | None
    arms: list[ArmFigures]
    comparisons: list[Comparison] = field(default_factory=list)
    min_effect: float = 0.05

    @property
    def customers(self) -> int:
        return sum(a.customers for a in self.arms) + (self.control.customers if self.control else 0)


def _window(model_filter: dict[str, Any], at: str, days: int) -> dict[str, Any]:
    return {
        **model_filter,
        f"{at}__gt": OuterRef("entered_at"),
        f"{at}__lte": OuterRef("entered_at") + dt.timedelta(days=days),
    }


def _revenue_after_entry() -> Any:
    """Paid orders' amount in the long window after an assignment's entry (0 without)."""
    from retain.orders.models import Order, OrderStatus

    paid = {"customer": OuterRef("customer_id"), "status": OrderStatus.PAID}
    orders = Order.objects.filter(**_window(paid, "ordered_at", LONG))
    revenue = Subquery(
        orders.order_by().values("customer").annotate(s=Sum("amount")).values("s"),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )
    return Cast(Coalesce(revenue, Value(0), output_field=DecimalField()), FloatField())


def _assignments(
    playbook: Playbook,
    *,
    customers: QuerySet[Any] | None,
    entered: tuple[dt.datetime, dt.datetime] | None,
) -> QuerySet[PlanAssignment]:
    rows = PlanAssignment.objects.filter(playbook=playbook)
    if entered is not None:
        rows = rows.filter(entered_at__gte=entered[0], entered_at__lt=entered[1])
    if customers is not None:
        rows = rows.filter(customer__in=customers.values("pk"))
    return rows


def _revenue_values(
    playbook: Playbook,
    *,
    now: dt.datetime,
    customers: QuerySet[Any] | None,
    entered: tuple[dt.datetime, dt.datetime] | None,
) -> dict[str, np.ndarray]:
    """Each arm's revenue per followed customer (the bootstrap's input), by arm key."""
    rows = (
        _assignments(playbook, customers=customers, entered=entered)
        .filter(entered_at__lte=now - dt.timedelta(days=LONG))
        .annotate(revenue=_revenue_after_entry())
        .values_list("holdout", "variant_id", "revenue")
    )
    values: dict[str, list[float]] = {}
    for holdout, variant_id, revenue in rows.iterator(chunk_size=5000):
        key = "control" if holdout else "plan" if variant_id is None else f"variant:{variant_id}"
        values.setdefault(key, []).append(float(revenue))
    return {k: np.asarray(v, dtype=float) for k, v in values.items()}


def _arm_rows(
    playbook: Playbook,
    *,
    now: dt.datetime,
    customers: QuerySet[Any] | None,
    entered: tuple[dt.datetime, dt.datetime] | None = None,
) -> list[dict[str, Any]]:
    from retain.care.models import Delivery, DeliveryStatus
    from retain.complaints.models import Complaint
    from retain.orders.models import Order, OrderStatus
    from retain.scoring.models import Dimension, SegmentChange
    from retain.surveys.models import SurveyResponse
    from retain.tasks.models import Task, TaskStatus

    who = {"customer": OuterRef("customer_id")}
    paid = {**who, "status": OrderStatus.PAID}
    orders_short = Order.objects.filter(**_window(paid, "ordered_at", SHORT))
    orders_long = Order.objects.filter(**_window(paid, "ordered_at", LONG))
    revenue_f = _revenue_after_entry()
    # lifecycle churn: a score change to "churned" dated after the day of entry
    churned = SegmentChange.objects.filter(
        **_window({**who, "dimension": Dimension.LIFECYCLE, "to_value": "churned"}, "as_of", LONG)
    )
    complained = Complaint.objects.filter(**_window(who, "opened_at", LONG))
    answers = SurveyResponse.objects.filter(
        **_window(who, "answered_at", LONG), nps__isnull=False
    ).order_by()
    nps_n = Subquery(answers.values("customer").annotate(n=Count("id")).values("n"))
    nps_sum = Subquery(answers.values("customer").annotate(s=Sum("nps")).values("s"))
    nps_sq = Subquery(answers.values("customer").annotate(s=Sum(F("nps") * F("nps"))).values("s"))
    # the plan's actions by id: a join to the actions made PostgreSQL AND two bitmap scans per
    # assignment, the one on the action reading every task of the plan (4,000 at 100k)
    action_ids = list(playbook.actions.values_list("pk", flat=True))
    done = Task.objects.filter(
        **who,
        action_id__in=action_ids,
        status=TaskStatus.DONE,
        closed_at__gt=OuterRef("entered_at"),
    )
    delivered = Delivery.objects.filter(
        Q(campaign__playbook=playbook) | Q(template__playbook=playbook),
        **who,
        status=DeliveryStatus.SENT,
        sent_at__gt=OuterRef("entered_at"),
    )
    short_done = Q(entered_at__lte=now - dt.timedelta(days=SHORT))
    long_done = Q(entered_at__lte=now - dt.timedelta(days=LONG))
    rows = _assignments(playbook, customers=customers, entered=entered)
    return [
        dict(row)
        for row in rows.values("holdout", "variant_id", "variant__name")
        .annotate(
            customers=Count("id"),
            reached=Count("id", filter=Q(Exists(done)) | Q(Exists(delivered))),
            followed_short=Count("id", filter=short_done),
            bought_short=Count("id", filter=short_done & Q(Exists(orders_short))),
            followed=Count("id", filter=long_done),
            bought=Count("id", filter=long_done & Q(Exists(orders_long))),
            churned=Count("id", filter=long_done & Q(Exists(churned))),
            complained=Count("id", filter=long_done & Q(Exists(complained))),
            revenue=Coalesce(Sum(revenue_f, filter=long_done), Value(0.0)),
            revenue_sq=Coalesce(Sum(revenue_f * revenue_f, filter=long_done), Value(0.0)),
            nps_n=Coalesce(Sum(nps_n, filter=long_done), Value(0)),
            nps_sum=Coalesce(Sum(Cast(nps_sum, FloatField()), filter=long_done), Value(0.0)),
            nps_sq=Coalesce(Sum(Cast(nps_sq, FloatField()), filter=long_done), Value(0.0)),
        )
        .order_by("holdout", "variant_id")
    ]


def _figures(row: dict[str, Any]) -> ArmFigures:
    if row["holdout"]:
        key, name = "control", str(_("Control group"))
    elif row["variant_id"] is None:
        key, name = "plan", str(_("Plan"))
    else:
        key, name = f"variant:{row['variant_id']}", row["variant__name"]
    return ArmFigures(
        key=key,
        name=name,
        holdout=row["holdout"],
        customers=row["customers"],
        reached=row["reached"],
        followed_short=row["followed_short"],
        bought_short=row["bought_short"],
        followed=row["followed"],
        bought=row["bought"],
        churned=row["churned"],
        complained=row["complained"],
        revenue=float(row["revenue"]),
        revenue_sq=float(row["revenue_sq"]),
        nps_n=int(row["nps_n"]),
        nps_sum=float(row["nps_sum"]),
        nps_sq=float(row["nps_sq"]),
    )


#: The 90-day repurchase rate assumed for the sample size until the control group has one.
DEFAULT_BASE_RATE = 0.3


def _compare(
    arm: ArmFigures, control: ArmFigures | None, *, treated_per_control: float, min_effect: float
) -> Comparison:
    c = control
    if c is None:
        return Comparison(arm, None, None, None, None, None, None, None, False, Verdict.TOO_EARLY)
    repurchase = proportion_difference(arm.bought, arm.followed, c.bought, c.followed)
    base = c.repurchase if c.followed >= 30 and c.repurchase is not None else DEFAULT_BASE_RATE
    needed = sample_size(base, min_effect, treated_per_control=treated_per_control)
    reached = needed is not None and arm.followed >= needed[0] and c.followed >= needed[1]
    return Comparison(
        arm=arm,
        repurchase_short=proportion_difference(
            arm.bought_short, arm.followed_short, c.bought_short, c.followed_short
        ),
        repurchase=repurchase,
        revenue=mean_difference(
            arm.revenue, arm.revenue_sq, arm.followed, c.revenue, c.revenue_sq, c.followed
        ),
        churn=proportion_difference(arm.churned, arm.followed, c.churned, c.followed),
        complaint=proportion_difference(arm.complained, arm.followed, c.complained, c.followed),
        nps=mean_difference(arm.nps_sum, arm.nps_sq, arm.nps_n, c.nps_sum, c.nps_sq, c.nps_n),
        needed=needed,
        horizon_reached=reached,
        verdict=verdict(repurchase, horizon_reached=reached),
        control_followed=c.followed,
        control_repurchase=c.repurchase,
    )


def plan_results(
    *,
    playbook: Playbook,
    now: dt.datetime,
    customers: QuerySet[Any] | None = None,
    entered: tuple[dt.datetime, dt.datetime] | None = None,
) -> PlanResults:
    """Every arm of the plan and its comparison with the control group, as of ``now``
    (restricted to ``customers`` when given: what the reader may see; to the customers who
    entered in ``entered`` = [start, end) when given: a month's entrants at the review)."""
    figures = [
        _figures(r) for r in _arm_rows(playbook, now=now, customers=customers, entered=entered)
    ]
    control = next((f for f in figures if f.holdout), None)
    arms = [f for f in figures if not f.holdout]
    min_effect = playbook.min_effect_points / 100
    weights = {f"variant:{v.pk}": v.share for v in playbook.variants.all()}
    total = sum(weights.values())
    held = playbook.holdout_percent / 100
    comparisons = []
    for arm in arms:
        share = (1 - held) * (
            weights.get(arm.key, 0) / total if total and arm.key in weights else 1
        )
        ratio = share / held if held > 0 else float("inf")
        comparisons.append(
            _compare(
                arm, control, treated_per_control=ratio if held > 0 else 9.0, min_effect=min_effect
            )
        )
    if control is not None and any(
        revenue_method(c.arm.followed, control.followed) == "bootstrap" for c in comparisons
    ):
        values = _revenue_values(playbook, now=now, customers=customers, entered=entered)
        control_values = values.get("control", np.zeros(0))
        comparisons = [
            replace(
                c,
                revenue=bootstrap_mean_difference(
                    values.get(c.arm.key, np.zeros(0)), control_values
                ),
                revenue_method="bootstrap",
            )
            if revenue_method(c.arm.followed, control.followed) == "bootstrap"
            else c
            for c in comparisons
        ]
    return PlanResults(
        playbook=playbook,
        as_of=now,
        control=control,
        arms=arms,
        comparisons=comparisons,
        min_effect=min_effect,
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _diff(d: Difference | None, *, points: bool) -> str:
    if d is None:
        return "—"
    scale, unit, fmt = (100, str(_("pts")), "{:+.1f}") if points else (1, "", "{:+,.1f}")
    return str(_("%(d)s %(unit)s (95%% CI %(lo)s to %(hi)s)")) % {
        "d": fmt.format(d.estimate * scale),
        "unit": unit,
        "lo": fmt.format(d.low * scale),
        "hi": fmt.format(d.high * scale),
    }


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    control: str
    arm: str
    difference: str
    significant: bool


def comparison_rows(c: Comparison, control: ArmFigures | None) -> list[Row]:
    """The table of one arm against the control, formatted for the page and the exports."""
    k = control
    a = c.arm

    def sig(d: Difference | None) -> bool:
        return d is not None and d.excludes_zero

    return [
        Row(
            "customers",
            str(_("Customers")),
            str(k.customers if k else 0),
            str(a.customers),
            "",
            False,
        ),
        Row(
            "reached",
            str(_("Reached by the plan")),
            _pct(k.reached_share if k else None),
            _pct(a.reached_share),
            "",
            False,
        ),
        Row(
            "followed",
            str(_("Followed 90 days")),
            str(k.followed if k else 0),
            str(a.followed),
            "",
            False,
        ),
        Row(
            "repurchase-30",
            str(_("Repurchase within 30 days")),
            _pct(k.repurchase_short if k else None),
            _pct(a.repurchase_short),
            _diff(c.repurchase_short, points=True),
            sig(c.repurchase_short),
        ),
        Row(
            "repurchase-90",
            str(_("Repurchase within 90 days")),
            _pct(k.repurchase if k else None),
            _pct(a.repurchase),
            _diff(c.repurchase, points=True),
            sig(c.repurchase),
        ),
        Row(
            "revenue",
            str(_("Revenue per customer (90 days)")),
            _money(k.revenue_per_customer if k else None),
            _money(a.revenue_per_customer),
            _diff(c.revenue, points=False),
            sig(c.revenue),
        ),
        Row(
            "churn",
            str(_("Churned (90 days)")),
            _pct(k.churn_rate if k else None),
            _pct(a.churn_rate),
            _diff(c.churn, points=True),
            sig(c.churn),
        ),
        Row(
            "complaint",
            str(_("Complained (90 days)")),
            _pct(k.complaint_rate if k else None),
            _pct(a.complaint_rate),
            _diff(c.complaint, points=True),
            sig(c.complaint),
        ),
        Row(
            "nps",
            str(_("Average NPS score (0-10)")),
            _num(k.nps_mean if k else None),
            _num(a.nps_mean),
            _diff(c.nps, points=False),
            sig(c.nps),
        ),
    ]


def _d(d: Difference | None) -> dict[str, float] | None:
    if d is None:
        return None
    return {"estimate": d.estimate, "low": d.low, "high": d.high, "p_value": d.p_value}


def plan_results_data(measured: PlanResults) -> dict[str, Any]:
    """The per-arm figures as plain data: the API's answer and the export's rows."""
    by_arm = {c.arm.key: c for c in measured.comparisons}
    arms = ([measured.control] if measured.control else []) + measured.arms
    out = []
    for a in arms:
        c = by_arm.get(a.key)
        out.append(
            {
                "key": a.key,
                "name": a.name,
                "holdout": a.holdout,
                "customers": a.customers,
                "reached": a.reached,
                "reached_share": a.reached_share,
                "followed": a.followed,
                "repurchase_30": a.repurchase_short,
                "repurchase_90": a.repurchase,
                "revenue_per_customer": a.revenue_per_customer,
                "churn_rate": a.churn_rate,
                "complaint_rate": a.complaint_rate,
                "nps_mean": a.nps_mean,
                "verdict": str(c.verdict) if c else None,
                "horizon_reached": c.horizon_reached if c else None,
                "needed_treated": c.needed[0] if c and c.needed else None,
                "needed_control": c.needed[1] if c and c.needed else None,
                "difference_repurchase_30": _d(c.repurchase_short) if c else None,
                "difference_repurchase_90": _d(c.repurchase) if c else None,
                "difference_revenue": _d(c.revenue) if c else None,
                "revenue_interval": c.revenue_method if c else None,
                "difference_churn": _d(c.churn) if c else None,
                "difference_complaint": _d(c.complaint) if c else None,
                "difference_nps": _d(c.nps) if c else None,
            }
        )
    p = measured.playbook
    return {
        "playbook": p.pk,
        "name": p.name,
        "holdout_percent": p.holdout_percent,
        "min_effect_points": p.min_effect_points,
        "as_of": measured.as_of,
        "arms": out,
    }


#: The columns of the results export, in order.
EXPORT_COLUMNS = (
    "key",
    "name",
    "holdout",
    "customers",
    "reached",
    "followed",
    "repurchase_30",
    "repurchase_90",
    "revenue_per_customer",
    "churn_rate",
    "complaint_rate",
    "nps_mean",
    "verdict",
    "difference_repurchase_90",
    "low_repurchase_90",
    "high_repurchase_90",
    "difference_revenue",
    "low_revenue",
    "high_revenue",
)


def plan_results_rows(measured: PlanResults) -> list[list[Any]]:
    """One row per arm for the CSV / Excel export (``EXPORT_COLUMNS``)."""
    rows = []
    for arm in plan_results_data(measured)["arms"]:
        rep = arm["difference_repurchase_90"] or {}
        rev = arm["difference_revenue"] or {}
        rows.append(
            [arm[k] for k in EXPORT_COLUMNS[:13]]
            + [rep.get("estimate"), rep.get("low"), rep.get("high")]
            + [rev.get("estimate"), rev.get("low"), rev.get("high")]
        )
    return rows


@dataclass(frozen=True)
class GoalEffect:
    """A plan a board goal points at, with each treated arm's measured effect."""

    playbook: Playbook
    comparisons: list[Comparison]


def goal_plan_effects(
    *, goal_ids: list[int], now: dt.datetime, customers: QuerySet[Any] | None = None
) -> dict[int, list[GoalEffect]]:
    """For each goal (by id), the plans linked to it and their measured effect against the
    control group (90-day repurchase difference, its interval, the verdict). Each plan is
    measured once, however many goals point at it."""
    links = list(
        Playbook.goals.through.objects.filter(goal_id__in=goal_ids)
        .order_by("playbook__name")
        .values_list("goal_id", "playbook_id")
    )
    plans = Playbook.objects.in_bulk({pid for _g, pid in links})
    measured = {
        pid: plan_results(playbook=p, now=now, customers=customers) for pid, p in plans.items()
    }
    out: dict[int, list[GoalEffect]] = {}
    for goal_id, pid in links:
        m = measured[pid]
        out.setdefault(goal_id, []).append(GoalEffect(m.playbook, m.comparisons))
    return out
