from __future__ import annotations

from django import template

from retain.customers.models import Customer
from retain.scoring.selectors import customer_score, customer_segment_history

register = template.Library()


@register.inclusion_tag("scoring/_customer_scores.html")
def customer_scores(customer: Customer) -> dict[str, object]:
    """The customer's current scores and segment history (a panel on the customer page)."""
    return {
        "score": customer_score(customer=customer),
        "history": list(customer_segment_history(customer=customer)[:20]),
    }
