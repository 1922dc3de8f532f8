"""``{% contact_link obj "phone" %}``: a tap-to-call (tel:) or tap-to-mail (mailto:) link
where the user may see the number or address, otherwise what ``{% personal %}`` shows."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from retain.accounts.access import shows_personal_data
from retain.accounts.templatetags.access import personal

register = template.Library()


@register.simple_tag(takes_context=True)
def contact_link(context: dict[str, Any], obj: Any, field: str) -> str:
    value = getattr(obj, field, "") or ""
    if not value:
        return ""
    if not shows_personal_data(context["request"].user):
        return personal(context, obj, field)
    scheme = "mailto" if field == "email" else "tel"
    return format_html(
        '<a class="pii {}" href="{}:{}">{}</a>', f"{scheme}-link", scheme, value, value
    )
