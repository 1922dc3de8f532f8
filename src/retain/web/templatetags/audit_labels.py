"""``{{ event|object_label:show_customer }}``: what an audit event acted on, in words
("投诉 #61 · 物流延误 · 星河科技"), not ``complaints.complaint 771``."""

from __future__ import annotations

from typing import Any

from django import template
from django.apps import apps
from django.utils.text import capfirst

register = template.Library()


@register.filter
def object_label(event: Any, show_customer: bool = False) -> str:
    if not event.object_type:
        return str(event.object_repr)
    try:
        model = apps.get_model(event.object_type)
    except (LookupError, ValueError):
        return f"{event.object_type} {event.object_repr}".strip()
    parts = [capfirst(str(model._meta.verbose_name))]
    if event.object_id:
        parts[0] += f" #{event.object_id}"
    shown = str(event.object_repr or "")
    # the reprs that only repeat ids ("12:3", "771") say nothing more
    if shown and not all(c.isdigit() or c in ": " for c in shown):
        parts.append(shown)
    if show_customer and event.customer_id and event.customer is not None:
        customer = event.customer.name
        if customer not in shown:
            parts.append(customer)
    return " · ".join(parts)
