from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from retain.accounts.access import (
    loyalty_may_configure,
    loyalty_may_manage,
    points_may_adjust,
    points_may_redeem,
)
from retain.customers.models import Customer
from retain.loyalty.selectors import membership, privileges

register = template.Library()


@register.filter
def may_manage_loyalty(user: Any) -> bool:
    """The coupon pages (the menu's link): the policy module decides."""
    return loyalty_may_manage(user)


@register.filter
def may_configure_loyalty(user: Any) -> bool:
    """The programme's settings and tiers: the policy module decides."""
    return loyalty_may_configure(user)


@register.inclusion_tag("loyalty/_customer_loyalty.html", takes_context=True)
def customer_loyalty(context: dict[str, Any], customer: Customer) -> dict[str, object]:
    """The customer's membership panel: balance, tier and privileges, points, tiers, coupons."""
    user = context["request"].user
    member = membership(customer=customer)
    return {
        "customer": customer,
        "member": member,
        "privileges": privileges(member.tier),
        "can_adjust": points_may_adjust(user, customer),
        "can_redeem": points_may_redeem(user, customer),
        "today": timezone.localdate(),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("loyalty/_board.html", takes_context=True)
def loyalty_board(context: dict[str, Any]) -> dict[str, object]:
    """The programme's KPIs on the board, over the customers the user may see."""
    from retain.kpis.figures import loyalty_figures
    from retain.loyalty.models import Tier

    user = context["request"].user
    k = loyalty_figures(as_of=timezone.localdate(), user=user)
    tiers = [(str(t), k.tier_distribution.get(t.code, 0)) for t in Tier.objects.order_by("rank")]
    return {"k": k, "tiers": tiers}
