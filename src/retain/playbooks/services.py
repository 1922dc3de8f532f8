from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retain.playbooks.models import Playbook, PlaybookAction, Segment

#: Cadences offered in the editor (days): every two weeks, every month, every quarter.
CADENCES = {
    14: gettext_lazy("every two weeks"),
    30: gettext_lazy("every month"),
    91: gettext_lazy("every quarter"),
}

#: The fields of an action, as ``playbook_update`` takes them in each ``actions`` item.
ACTION_FIELDS = (
    "name",
    "every_days",
    "channel",
    "template",
    "owner_rule",
    "team",
    "fixed_user",
    "active",
)


@transaction.atomic
def playbook_update(
    *,
    playbook: Playbook | None,
    name: str,
    description: str = "",
    segment: Segment,
    owner: Any = None,
    active: bool = True,
    actions: Sequence[dict[str, Any]],
    actor: Any,
    request: Any = None,
) -> Playbook:
    """Create or change a playbook and all its actions in one save. Audited.

    ``actions`` lists the actions to keep, each a dict of ``ACTION_FIELDS`` plus ``id`` for
    an existing one (team and fixed_user as objects or None); existing actions left out
    are deleted (their past tasks keep their history)."""
    from retain.accounts.access import require
    from retain.audit.services import audit_event, snapshot

    require(actor, "playbooks.change_playbook" if playbook else "playbooks.add_playbook")
    before = snapshot(playbook) if playbook is not None else None
    playbook = playbook or Playbook()
    playbook.name = name.strip()
    playbook.description = description.strip()
    playbook.segment = segment
    playbook.owner = owner
    playbook.active = active
    playbook.full_clean()
    playbook.save()
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=playbook,
        before=before,
        after=snapshot(playbook),
        request=request,
    )
    existing = {a.pk: a for a in PlaybookAction.objects.filter(playbook=playbook)}
    kept: set[int] = set()
    for i, spec in enumerate(actions):
        action = existing.get(spec["id"]) if spec.get("id") else None
        if spec.get("id") and action is None:
            raise ValidationError(
                _("actions[%(i)s]: action %(id)s is not one of this playbook's")
                % {"i": i, "id": spec["id"]}
            )
        old = snapshot(action) if action is not None else None
        action = action or PlaybookAction(playbook=playbook)
        for field in ACTION_FIELDS:
            if field in spec:
                setattr(action, field, spec[field])
        try:
            action.full_clean()
        except ValidationError as exc:
            raise ValidationError(
                _("actions[%(i)s]: %(errors)s") % {"i": i, "errors": "; ".join(exc.messages)}
            ) from exc
        action.save()
        kept.add(action.pk)
        audit_event(
            actor=actor,
            action="update" if old else "create",
            obj=action,
            before=old,
            after=snapshot(action),
            request=request,
        )
    for pk, action in existing.items():
        if pk not in kept:
            audit_event(
                actor=actor, action="delete", obj=action, before=snapshot(action), request=request
            )
            action.delete()
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
