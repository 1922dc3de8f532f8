from __future__ import annotations

from django.db.models import QuerySet

from retain.customers.models import Customer
from retain.scoring.models import CustomerScore, SegmentChange


def customer_score(*, customer: Customer) -> CustomerScore | None:
    return CustomerScore.objects.filter(customer=customer).first()


def customer_segment_history(*, customer: Customer) -> QuerySet[SegmentChange]:
    """The moves between segments, newest first (the first run's starting points left out)."""
    return (
        SegmentChange.objects.filter(customer=customer)
        .exclude(from_value="")
        .order_by("-as_of", "dimension")
    )
