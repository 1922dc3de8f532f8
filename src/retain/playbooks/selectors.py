from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from retain.customers.models import Customer
from retain.playbooks.conditions import conditions_q
from retain.playbooks.models import Playbook, PlaybookAction, Segment


def segment_members(*, segment: Segment) -> QuerySet[Customer]:
    """The customers a saved segment selects now (from the current scores, tags, owner...)."""
    return Customer.objects.filter(conditions_q(segment.conditions))


def playbook_list() -> QuerySet[Playbook]:
    """Playbooks with their segment, actions and the number of open tasks."""
    return (
        Playbook.objects.select_related("segment", "owner")
        .prefetch_related(
            Prefetch(
                "actions", queryset=PlaybookAction.objects.select_related("team", "fixed_user")
            )
        )
        .annotate(open_tasks=Count("actions__tasks", filter=Q(actions__tasks__status="open")))
        .order_by("-active", "name")
    )
