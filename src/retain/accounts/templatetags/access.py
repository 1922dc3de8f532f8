"""``{% personal obj "phone" %}``: a phone or email in full, masked, or masked with a
button that reveals it (audited) — whatever the signed-in user may see."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from retain.accounts.access import UNMASK_PERSONAL_DATA, can, mask_value, shows_personal_data
from retain.customers.models import Customer

register = template.Library()


@register.simple_tag(takes_context=True)
def personal(context: dict[str, Any], obj: Any, field: str) -> str:
    value = getattr(obj, field) or ""
    user = context["request"].user
    if not value:
        return ""
    if shows_personal_data(user):
        return format_html('<span class="pii">{}</span>', value)
    masked = mask_value(field, value)
    if not can(user, UNMASK_PERSONAL_DATA):
        return format_html('<span class="pii masked">{}</span>', masked)
    customer = obj if isinstance(obj, Customer) else obj.customer
    model = "customer" if isinstance(obj, Customer) else "contact"
    url = reverse("personal-reveal", args=[customer.code, model, obj.pk, field])
    return format_html(
        '<span class="pii masked">{} <button type="button" class="link reveal" '
        'hx-post="{}" hx-target="closest .pii" hx-swap="outerHTML" title="{}">{}</button></span>',
        masked,
        url,
        _("Show in full; this is recorded in the audit trail."),
        _("Show"),
    )


@register.filter
def masked(value: str, field: str) -> str:
    return mask_value(field, value or "")
