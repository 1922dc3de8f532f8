from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from retain.tasks.selectors import unread_notifications

register = template.Library()


@register.inclusion_tag("tasks/_bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict[str, object]:
    request = context.get("request")
    user = getattr(request, "user", None)
    unread = unread_notifications(user=user).count() if user and user.is_authenticated else 0
    return {"unread": unread}


#: Display names of the engine's labels (the engine writes plain English values).
LABELS = {
    "core": _("Core"),
    "potential": _("Potential"),
    "basic": _("Basic"),
    "watch": _("Watch"),
    "prospect": _("Prospect"),
    "new": _("New"),
    "returning": _("Returning"),
    "silent": _("Silent"),
    "churned": _("Churned"),
    "high": _("High"),
    "medium": _("Medium"),
    "low": _("Low"),
    "phone": _("Phone"),
    "visit": _("Visit"),
    "email": _("Email"),
    "sms": _("SMS"),
    "wechat": _("WeChat"),
    "community": _("Community"),
}


@register.filter
def label(value: str) -> str:
    """The translated name of a quadrant, lifecycle stage, risk level or channel."""
    return str(LABELS.get(value, value))
