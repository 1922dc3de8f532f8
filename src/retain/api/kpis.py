"""KPIs of the customers a user sees, computed in the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.utils import timezone

from retain.complaints.models import Complaint, ComplaintStatus
from retain.customers.models import Customer
from retain.feedback.models import SurveyResponse
from retain.orders.models import Order, OrderStatus


@dataclass(frozen=True)
class Kpis:
    as_of: dt.date
    customers: int
    buyers_12m: int
    orders_12m: int
    revenue_12m: Decimal
    repurchase_rate_12m: float | None
    open_complaints: int
    complaints_12m: int
    nps_12m: float | None
    satisfaction_12m: float | None


def kpis_of(*, customers: QuerySet[Customer], as_of: dt.date) -> Kpis:
    """Headline KPIs over ``customers`` for the 365 days up to and including ``as_of``."""
    end = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min))
    start = end - dt.timedelta(days=365)
    ids = customers.values("pk")
    paid = Order.objects.filter(
        customer__in=ids, status=OrderStatus.PAID, ordered_at__gte=start, ordered_at__lt=end
    )
    totals = paid.aggregate(n=Count("id"), revenue=Sum("amount"))
    per_buyer = paid.values("customer").annotate(n=Count("id")).order_by()
    buyers = per_buyer.count()
    repeat = per_buyer.filter(n__gte=2).count()
    complaints = Complaint.objects.filter(customer__in=ids)
    answers = SurveyResponse.objects.filter(
        customer__in=ids, answered_at__gte=start, answered_at__lt=end
    )
    nps: dict[str, Any] = answers.filter(nps__isnull=False).aggregate(
        n=Count("id"),
        promoters=Count("id", filter=Q(nps__gte=9)),
        detractors=Count("id", filter=Q(nps__lte=6)),
    )
    satisfaction = answers.aggregate(mean=Avg("satisfaction"))["mean"]
    return Kpis(
        as_of=as_of,
        customers=customers.count(),
        buyers_12m=buyers,
        orders_12m=totals["n"] or 0,
        revenue_12m=(totals["revenue"] or Decimal(0)).quantize(Decimal("0.01")),
        repurchase_rate_12m=round(repeat / buyers, 4) if buyers else None,
        open_complaints=complaints.filter(
            status__in=[ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS]
        ).count(),
        complaints_12m=complaints.filter(opened_at__gte=start, opened_at__lt=end).count(),
        nps_12m=(
            round(100 * (nps["promoters"] - nps["detractors"]) / nps["n"], 1) if nps["n"] else None
        ),
        satisfaction_12m=round(float(satisfaction), 2) if satisfaction is not None else None,
    )
