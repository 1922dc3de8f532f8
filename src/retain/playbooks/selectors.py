from __future__ import annotations

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from retain.customers.models import Customer
from retain.playbooks.conditions import conditions_q
from retain.playbooks.models import Playbook, PlaybookAction, Segment
from retain.tasks.models import Task, TaskStatus


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
        # a subquery per plan over its open tasks (index on action and status): a join with
        # every task read the plan's done ones too, seconds at 1M customers
        .annotate(
            open_tasks=Coalesce(
                Subquery(
                    Task.objects.filter(action__playbook=OuterRef("pk"), status=TaskStatus.OPEN)
                    .values("action__playbook")
                    .annotate(n=Count("id"))
                    .values("n")
                ),
                0,
            )
        )
        .order_by("-active", "name")
    )
