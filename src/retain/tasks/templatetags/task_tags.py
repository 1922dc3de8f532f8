from __future__ import annotations

from django import template

from retain.tasks.selectors import unread_notifications

register = template.Library()


@register.inclusion_tag("tasks/_bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict[str, object]:
    request = context.get("request")
    user = getattr(request, "user", None)
    unread = unread_notifications(user=user).count() if user and user.is_authenticated else 0
    return {"unread": unread}
