from django import template

from retain.imports.permissions import can_merge

register = template.Library()


@register.filter
def may_merge(user) -> bool:
    return can_merge(user)
