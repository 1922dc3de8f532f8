from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from retain.playbooks.models import Playbook, Segment


@transaction.atomic
def playbook_save(*, form: Any, actions: Any) -> Playbook:
    """Save a playbook and its actions from the (valid) edit form and formset together."""
    playbook: Playbook = form.save()
    actions.instance = playbook
    actions.save()
    return playbook


@transaction.atomic
def segment_save(
    *,
    segment: Segment | None,
    name: str,
    description: str,
    conditions: dict[str, Any],
    actor: Any,
    request: Any = None,
) -> Segment:
    """Create or change a saved segment (from the segment explorer). Audited."""
    from retain.accounts.access import require
    from retain.audit.services import audit_event, snapshot

    require(actor, "playbooks.add_playbook")
    before = snapshot(segment) if segment is not None else None
    segment = segment or Segment()
    segment.name = name
    segment.description = description
    segment.conditions = conditions
    segment.full_clean()
    segment.save()
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=segment,
        before=before,
        after=snapshot(segment),
        request=request,
    )
    return segment


#: The tag group holding each playbook's hand-picked customers.
PICKED_GROUP = "维系计划"


def playbook_pick_tag_name(playbook: Playbook) -> str:
    return f"{PICKED_GROUP}:{playbook.name}"[:100]


@transaction.atomic
def playbook_customers_add(
    *, playbook: Playbook, customer_ids: Sequence[int], actor: Any, request: Any = None
) -> int:
    """Add hand-picked customers to a playbook; returns how many were newly added.

    The customers get the playbook's own manual tag (group 维系计划), and the playbook's
    segment becomes "its conditions OR that tag". A segment that other playbooks share is
    copied first, so their targets do not change. Everything is audited; the daily job then
    treats the customers like any other member (and withdraws their tasks if untagged).
    """
    from retain.accounts.access import require
    from retain.customers.bulk import customers_tag
    from retain.tags.models import Tag, TagGroup, TagGroupKind

    require(actor, "playbooks.change_playbook")
    group, _ = TagGroup.objects.get_or_create(
        name=PICKED_GROUP, defaults={"kind": TagGroupKind.CUSTOM}
    )
    tag, _ = Tag.objects.get_or_create(
        group=group,
        name=playbook_pick_tag_name(playbook),
        defaults={"description": f"hand-picked for playbook {playbook.pk}"},
    )
    added = customers_tag(customer_ids=customer_ids, tag=tag, actor=actor, request=request)
    clause = {"field": "tag", "op": "eq", "value": tag.name}
    segment = playbook.segment
    conditions = segment.conditions
    if clause not in conditions.get("any", []):
        widened = (
            {"any": [*conditions["any"], clause]}
            if "any" in conditions
            else {"any": [conditions, clause]}
        )
        shared = segment.playbooks.exclude(pk=playbook.pk).exists()
        new_segment = segment_save(
            segment=None if shared else segment,
            name=(f"{segment.name} + {playbook.name}"[:100] if shared else segment.name),
            description=segment.description,
            conditions=widened,
            actor=actor,
            request=request,
        )
        if new_segment.pk != segment.pk:
            playbook.segment = new_segment
            playbook.save(update_fields=["segment"])
    return added
