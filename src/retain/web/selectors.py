from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from retain.complaints.models import Complaint, ComplaintStatus
from retain.customers.models import Customer, CustomerKind
from retain.orders.models import Order, OrderStatus


@dataclass(frozen=True)
class Overview:
    customers: int
    companies: int
    persons: int
    orders_12m: int
    revenue_12m: Decimal
    buyers_12m: int
    open_complaints: int
    monthly: list[tuple[str, int, Decimal]]  # (YYYY-MM, orders, revenue)


def overview(*, as_of: dt.date | None = None) -> Overview:
    """Headline figures for the dashboard, computed in the database."""
    as_of = as_of or timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(as_of - dt.timedelta(days=365), dt.time.min))
    kinds = dict(Customer.objects.values_list("kind").annotate(n=Count("id")).order_by())
    paid = Order.objects.filter(status=OrderStatus.PAID, ordered_at__gte=start)
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
        revenue_12m=totals["revenue"] or Decimal(0),
        buyers_12m=totals["buyers"] or 0,
        open_complaints=open_complaints_count(),
        monthly=[(row["month"].strftime("%Y-%m"), row["n"], row["revenue"]) for row in monthly],
    )


def open_complaints_count() -> int:
    return Complaint.objects.filter(
        status__in=[ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS]
    ).count()
