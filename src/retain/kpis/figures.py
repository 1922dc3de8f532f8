"""The one read path of the KPIs.

The board, ``GET /api/v1/kpis``, the month's KPI snapshot of a scoring run and the board's
stored figures all come from here, so a KPI has one definition (the engine's, see
``retain.analytics.kpis`` and docs/analytics.md) and one scope rule: a user who sees every
customer sees the company's figures; a user who sees only some (a sales rep, a team lead)
sees the figures of those customers, on the board and in the API alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from retain.accounts.access import VIEW_ALL_CUSTOMERS, can, customers_visible_to
from retain.analytics import AnalyticsSettings, kpis, kpis_at
from retain.complaints.models import Complaint, ComplaintStatus
from retain.core.cache import cached
from retain.customers.models import Customer, CustomerKind
from retain.orders.models import Order, OrderStatus
from retain.scoring.tables import ENGINE_LOCK, AppTables, app_tables

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Overview:
    """Headline figures: customers, and the paid orders of the 365 days up to ``as_of``."""

    customers: int
    companies: int
    persons: int
    orders_12m: int
    revenue_12m: Decimal
    buyers_12m: int
    open_complaints: int
    monthly: list[tuple[str, int, Decimal]]  # (YYYY-MM, orders, revenue)


@dataclass(frozen=True)
class KpiFigures:
    """Everything the board and the API show about one scope at one date."""

    as_of: dt.date
    #: None: every customer; else the ids of the customers the figures cover
    customer_ids: list[int] | None
    #: the engine's snapshot (``KpiSnapshot.to_row()``), rates as fractions
    engine: dict[str, Any]
    overview: Overview

    @property
    def scope(self) -> str:
        return "all" if self.customer_ids is None else "own"


def kpi_scope(user: Any) -> list[int] | None:
    """The customers whose KPIs ``user`` sees: None for every customer (and for the system)."""
    if user is None or can(user, VIEW_ALL_CUSTOMERS):
        return None
    return sorted(customers_visible_to(user).values_list("pk", flat=True))


def scope_query(user: Any) -> QuerySet[Any] | None:
    """``kpi_scope`` as a subquery for the database's own filters (an IN list of tens of
    thousands of ids costs PostgreSQL seconds; the subquery, milliseconds)."""
    if user is None or can(user, VIEW_ALL_CUSTOMERS):
        return None
    return customers_visible_to(user).values("pk")


def cache_scope(user: Any) -> str:
    """The scope of ``user``'s cached figures: "all" for those who see every customer (they
    share one entry), else the user's own (their customers, or their teams')."""
    return "all" if user is None or can(user, VIEW_ALL_CUSTOMERS) else f"user:{user.pk}"


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """The engine's row as stored: dates as ISO text, NaN as None, floats to 6 decimals."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        if isinstance(value, dt.date):
            out[key] = value.isoformat()[:10]
        elif isinstance(value, float) and math.isnan(value):
            out[key] = None
        elif isinstance(value, float):
            # Parallel sums differ in the last bits between runs; 6 decimals are plenty.
            out[key] = round(value, 6)
        else:
            out[key] = value
    return out


def kpi_snapshot(
    *,
    as_of: dt.date,
    tables: AppTables | None = None,
    settings: AnalyticsSettings | None = None,
    customer_ids: list[int] | None = None,
    summary: Any = None,
) -> dict[str, Any]:
    """The engine's KPIs as of ``as_of`` (over ``customer_ids`` when given), as stored.

    ``summary``: the engine's customer summary as of the same day when the caller has it
    (the scoring run), so that it is not computed again."""
    with ENGINE_LOCK:
        tables = tables or app_tables()
        snapshot = kpis(
            tables.plain_tables(),
            as_of=as_of,
            settings=settings,
            customer_ids=customer_ids,
            summary=summary,
        )
    return jsonable(snapshot.to_row())


def kpi_snapshots(
    *,
    as_of_dates: list[dt.date],
    tables: AppTables | None = None,
    settings: AnalyticsSettings | None = None,
    customer_ids: list[int] | None = None,
) -> dict[dt.date, dict[str, Any]]:
    """:func:`kpi_snapshot` at each of ``as_of_dates``, from one engine pass for all of them
    (``retain.analytics.kpis_at``): the board's month ends."""
    if not as_of_dates:
        return {}
    with ENGINE_LOCK:
        tables = tables or app_tables()
        snapshots = kpis_at(
            tables.plain_tables(), as_of_dates, settings=settings, customer_ids=customer_ids
        )
    return {day: jsonable(s.to_row()) for day, s in zip(as_of_dates, snapshots, strict=True)}


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def overview(
    *, as_of: dt.date | None = None, customer_ids: list[int] | QuerySet[Any] | None = None
) -> Overview:
    """Headline figures as of ``as_of``, computed in the database.

    Paid orders count from 365 days before ``as_of`` up to the end of ``as_of`` (a past
    ``as_of`` does not count later orders); open complaints are those open now.
    """
    as_of = as_of or timezone.localdate()
    end = _end_of(as_of)
    start = end - dt.timedelta(days=366)
    customers: QuerySet[Customer] = Customer.objects.all()
    complaints = Complaint.objects.all()
    paid = Order.objects.filter(status=OrderStatus.PAID, ordered_at__gte=start, ordered_at__lt=end)
    if customer_ids is not None:
        customers = customers.filter(pk__in=customer_ids)
        complaints = complaints.filter(customer_id__in=customer_ids)
        paid = paid.filter(customer_id__in=customer_ids)
    kinds = dict(customers.values_list("kind").annotate(n=Count("id")).order_by())
    totals = paid.aggregate(
        n=Count("id"), revenue=Sum("amount"), buyers=Count("customer", distinct=True)
    )
    monthly = (
        paid.annotate(month=TruncMonth("ordered_at"))
        .values("month")
        .annotate(n=Count("id"), revenue=Sum("amount"))
        .order_by("month")
    )
    return Overview(
        customers=sum(kinds.values()),
        companies=kinds.get(CustomerKind.COMPANY, 0),
        persons=kinds.get(CustomerKind.PERSON, 0),
        orders_12m=totals["n"] or 0,
        revenue_12m=(totals["revenue"] or Decimal(0)).quantize(CENTS),
        buyers_12m=totals["buyers"] or 0,
        open_complaints=complaints.filter(
            Q(status=ComplaintStatus.OPEN) | Q(status=ComplaintStatus.IN_PROGRESS)
        ).count(),
        monthly=[
            (row["month"].strftime("%Y-%m"), row["n"], row["revenue"].quantize(CENTS))
            for row in monthly
        ],
    )


def kpi_values(engine: dict[str, Any]) -> dict[str, float | None]:
    """The board's KPIs by key (``KpiKey``) from an engine row, as the engine gives them
    (rates as fractions); the board shows ``KPIS[key].display(value)``."""
    from retain.kpis.definitions import KPIS

    return {key: engine.get(d.source) for key, d in KPIS.items()}


def kpi_figures(*, as_of: dt.date, user: Any = None, tables: AppTables | None = None) -> KpiFigures:
    """The KPIs and headline figures ``user`` sees as of ``as_of``, computed now."""
    ids = kpi_scope(user)
    return KpiFigures(
        as_of=as_of,
        customer_ids=ids,
        engine=kpi_snapshot(as_of=as_of, tables=tables, customer_ids=ids),
        overview=overview(as_of=as_of, customer_ids=scope_query(user)),
    )


def loyalty_figures(*, as_of: dt.date, user: Any) -> Any:
    """The loyalty programme's KPIs (points liability, redemption rate, breakage, tiers,
    referral and coupon conversion) over the customers ``user`` may see."""
    from retain.loyalty.selectors import loyalty_kpis

    scope = None if can(user, VIEW_ALL_CUSTOMERS) else customers_visible_to(user)
    return loyalty_kpis(as_of=as_of, customers=scope)


@dataclass(frozen=True)
class SurveyGroup:
    """Survey figures of one group (a segment or a month): answers, NPS, CSAT."""

    label: str
    answers: int
    nps: float | None  # promoters (9-10) minus detractors (0-6) per 100 NPS answers
    csat: float | None  # per cent of satisfaction answers that are 4 or 5
    invited: int | None = None  # invitations sent (where the group counts them)
    answered_invitations: int | None = None

    @property
    def response_rate(self) -> float | None:
        if not self.invited or self.answered_invitations is None:
            return None
        return 100 * self.answered_invitations / self.invited


@dataclass(frozen=True)
class SurveyFigures:
    """Response rate, NPS and CSAT of the 365 days up to ``as_of``, by lifecycle stage and by
    month, with the NPS target (the board's KPI target) to compare against."""

    as_of: dt.date
    invited: int
    answered_invitations: int
    overall: SurveyGroup
    by_segment: list[SurveyGroup]
    monthly: list[SurveyGroup]
    nps_target: float | None
    #: by the company's saved segments (playbooks), each with its response rate
    by_saved_segment: list[SurveyGroup] = field(default_factory=list)

    @property
    def response_rate(self) -> float | None:
        return 100 * self.answered_invitations / self.invited if self.invited else None


def _survey_counts() -> dict[str, Count]:
    return {
        "answers": Count("id"),
        "nps_n": Count("id", filter=Q(nps__isnull=False)),
        "promoters": Count("id", filter=Q(nps__gte=9)),
        "detractors": Count("id", filter=Q(nps__lte=6)),
        "csat_n": Count("id", filter=Q(satisfaction__isnull=False)),
        "csat_ok": Count("id", filter=Q(satisfaction__gte=4)),
    }


def _survey_group_of(label: str, n: Mapping[str, Any]) -> SurveyGroup:
    nps = 100 * (n["promoters"] - n["detractors"]) / n["nps_n"] if n["nps_n"] else None
    csat = 100 * n["csat_ok"] / n["csat_n"] if n["csat_n"] else None
    return SurveyGroup(label, n["answers"], nps, csat)


def _survey_group(label: str, rows: QuerySet[Any]) -> SurveyGroup:
    return _survey_group_of(label, rows.aggregate(**_survey_counts()))


def survey_figures(*, as_of: dt.date, user: Any = None) -> SurveyFigures:
    """Survey results over the customers ``user`` sees (the same scope rule as the KPIs)."""
    from retain.kpis.models import KpiTarget
    from retain.surveys.models import SurveyInvitation, SurveyResponse

    end = _end_of(as_of)
    start = end - dt.timedelta(days=366)
    answers = SurveyResponse.objects.filter(answered_at__gte=start, answered_at__lt=end)
    invitations = SurveyInvitation.objects.filter(
        sent_at__isnull=False, sent_at__gte=start, sent_at__lt=end
    )
    scope = scope_query(user)
    if scope is not None:
        answers = answers.filter(customer_id__in=scope)
        invitations = invitations.filter(customer_id__in=scope)
    # one grouped pass per dimension (not one query per stage or month: at 1M customers each
    # of those read every answer of the year again)
    stage = "customer__score__lifecycle_stage"
    by_stage = answers.values(stage).annotate(**_survey_counts()).order_by(stage)
    by_month = (
        answers.annotate(month=TruncMonth("answered_at"))
        .values("month")
        .annotate(**_survey_counts())
        .order_by("month")
    )
    target = KpiTarget.objects.filter(kpi="nps").values_list("value", flat=True).first()
    return SurveyFigures(
        as_of=as_of,
        invited=invitations.count(),
        answered_invitations=invitations.filter(response__isnull=False).count(),
        overall=_survey_group("", answers),
        by_segment=[_survey_group_of(row[stage] or "", row) for row in by_stage],
        monthly=[_survey_group_of(row["month"].strftime("%Y-%m"), row) for row in by_month],
        nps_target=target,
        by_saved_segment=_survey_by_saved_segment(answers, invitations),
    )


def survey_figures_cached(*, as_of: dt.date, user: Any) -> SurveyFigures:
    """:func:`survey_figures` from the cache ("surveys" topic: answers, invitations, scores,
    customers, saved segments ...) until a write they read; a day is in the key."""
    return cached(
        "surveys", f"{as_of}:{cache_scope(user)}", lambda: survey_figures(as_of=as_of, user=user)
    )


def _survey_by_saved_segment(
    answers: QuerySet[Any], invitations: QuerySet[Any]
) -> list[SurveyGroup]:
    """Answers, NPS, CSAT and response rate of each saved segment's current members (a
    customer in several segments counts in each). Segments nobody in was asked are left out."""
    from retain.playbooks.conditions import conditions_q
    from retain.playbooks.models import Segment

    groups = []
    for segment in Segment.objects.order_by("name"):
        members = Customer.objects.filter(conditions_q(segment.conditions)).values("pk")
        sent = invitations.filter(customer_id__in=members)
        group = _survey_group(segment.name, answers.filter(customer_id__in=members))
        invited = sent.count()
        if not (invited or group.answers):
            continue
        groups.append(
            dataclasses.replace(
                group,
                invited=invited,
                answered_invitations=sent.filter(response__isnull=False).count(),
            )
        )
    return groups
