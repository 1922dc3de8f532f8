from __future__ import annotations

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
