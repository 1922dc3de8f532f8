"""Conditions over customers, their scores, tags, owner and region, as JSON.

A condition is a group ``{"all": [...]}`` (AND) or ``{"any": [...]}`` (OR) of clauses
``{"field": "quadrant", "op": "in", "value": ["core", "potential"]}`` and nested groups, e.g.
manufacturing AND quality-first::

    {"all": [{"field": "tag", "op": "eq", "value": "制造业"},
             {"field": "tag", "op": "eq", "value": "品质优先"}]}

Saved segments (playbooks) and automatic tag rules (scoring) both use it; ``conditions_q``
turns one into a ``Q`` over ``Customer``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

#: field name in a condition -> (ORM path on Customer, kind)
FIELDS: dict[str, tuple[str, str]] = {
    "quadrant": ("score__quadrant", "text"),
    "lifecycle_stage": ("score__lifecycle_stage", "text"),
    "rfm_segment": ("score__rfm_segment", "text"),
    "value_tier": ("score__value_tier", "text"),
    "activity_level": ("score__activity_level", "text"),
    "churn_risk": ("score__churn_risk", "text"),
    "order_count": ("score__order_count", "number"),
    "total_spend": ("score__total_spend", "number"),
    "recency_days": ("score__recency_days", "number"),
    "p_alive": ("score__p_alive", "number"),
    "predicted_ltv": ("score__predicted_ltv", "number"),
    "open_complaints": ("score__open_complaints", "number"),
    "recent_complaints": ("score__recent_complaints", "number"),
    "last_nps": ("score__last_nps", "number"),
    "tag": ("", "tag"),
    "campaign_kind": ("", "campaign"),
    "owner": ("owner__username", "text"),
    "team": ("owner__team__name", "text"),
    "region": ("region", "text"),
    "city": ("city", "text"),
    "industry": ("industry", "text"),
    "kind": ("kind", "text"),
    "status": ("status", "text"),
    "member_tier": ("loyalty__tier__code", "text"),
    "points_balance": ("", "number"),
}
OPS = {
    "eq": "exact",
    "ne": "exact",
    "in": "in",
    "not_in": "in",
    "lt": "lt",
    "lte": "lte",
    "gt": "gt",
    "gte": "gte",
}


def _clause_q(clause: dict[str, Any]) -> Q:
    from retain.tags.models import CustomerTag

    field, op, value = clause["field"], clause["op"], clause.get("value")
    path, _kind = FIELDS[field]
    lookup = OPS[op]
    negate = op in {"ne", "not_in"}
    if field == "campaign_kind":
        from retain.campaigns.models import CampaignParticipation

        kinds = value if isinstance(value, list) else [value]
        joined = CampaignParticipation.objects.filter(campaign__kind__in=kinds)
        q = Q(id__in=joined.values("customer_id"))
    elif field == "tag":
        names = value if isinstance(value, list) else [value]
        # A subquery per tag clause: AND of two tags means two memberships, not one row
        # carrying both names.
        tagged = CustomerTag.objects.filter(tag__name__in=names).values("customer_id")
        q = Q(id__in=tagged)
    elif field == "points_balance":
        q = _points_balance_q(lookup, value)
    else:
        q = Q(**{f"{path}__{lookup}": value})
    return ~q if negate else q


def _points_balance_q(lookup: str, value: Any) -> Q:
    """Customers whose points balance (the sum of their ledger) meets ``lookup`` ``value``;
    a customer without entries has a balance of 0."""
    import operator

    from django.db.models import Sum

    from retain.loyalty.models import PointsEntry

    sums = PointsEntry.objects.values("customer_id").annotate(balance=Sum("points"))
    q = Q(id__in=sums.filter(**{f"balance__{lookup}": value}).values("customer_id"))
    compare = {
        "exact": operator.eq,
        "lt": operator.lt,
        "lte": operator.le,
        "gt": operator.gt,
        "gte": operator.ge,
        "in": lambda a, b: a in b,
    }[lookup]
    try:
        zero_matches = compare(0, value)
    except TypeError:
        zero_matches = False
    if zero_matches:
        q |= ~Q(id__in=PointsEntry.objects.values("customer_id"))
    return q


def conditions_q(spec: dict[str, Any]) -> Q:
    """The ``Q`` over ``Customer`` of a (validated) condition group; an empty group matches all."""
    conditions_validate(spec)
    return _group_q(spec)


def _group_q(spec: dict[str, Any]) -> Q:
    ((mode, items),) = spec.items()
    q = Q()
    for item in items:
        part = _group_q(item) if ("all" in item or "any" in item) else _clause_q(item)
        q = (q & part) if mode == "all" else (q | part)
    return q


def conditions_validate(spec: Any, where: str = "conditions") -> None:
    """Raise ``ValidationError`` naming the first bad clause (e.g. ``conditions.all[1].op``)."""
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in {"all", "any"}:
        raise ValidationError(
            _('%(where)s: a group must be {"all": [...]} or {"any": [...]}') % {"where": where}
        )
    mode, items = next(iter(spec.items()))
    if not isinstance(items, list):
        raise ValidationError(
            _("%(where)s.%(mode)s must be a list") % {"where": where, "mode": mode}
        )
    for i, item in enumerate(items):
        at = f"{where}.{mode}[{i}]"
        if isinstance(item, dict) and ("all" in item or "any" in item):
            conditions_validate(item, at)
            continue
        if not isinstance(item, dict):
            raise ValidationError(_("%(where)s: a clause must be an object") % {"where": at})
        if item.get("field") not in FIELDS:
            raise ValidationError(
                _("%(where)s.field: unknown field %(field)r; known: %(known)s")
                % {"where": at, "field": item.get("field"), "known": ", ".join(FIELDS)}
            )
        if item.get("op") not in OPS:
            raise ValidationError(
                _("%(where)s.op: unknown operator %(op)r; known: %(known)s")
                % {"where": at, "op": item.get("op"), "known": ", ".join(OPS)}
            )
        if item["op"] in {"in", "not_in"} and not isinstance(item.get("value"), list):
            raise ValidationError(_("%(where)s.value: must be a list") % {"where": at})
        if "value" not in item:
            raise ValidationError(_("%(where)s.value: missing") % {"where": at})
