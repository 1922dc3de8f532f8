from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from retain.accounts.access import can, customer_is_visible
from retain.audit.services import audit_event, snapshot
from retain.customers.models import Customer
from retain.interactions.models import Interaction


@transaction.atomic
def interaction_log(
    *, customer: Customer, actor: Any = None, request: Any = None, **fields: Any
) -> Interaction:
    """Log a follow-up of ``customer``; the actor owns it unless an owner is given. Audited."""
    if actor is not None and not (
        can(actor, "interactions.add_interaction") and customer_is_visible(actor, customer)
    ):
        raise PermissionDenied("interactions.add_interaction")
    fields.setdefault("logged_at", timezone.now())
    if actor is not None:
        fields.setdefault("owner", actor)
    interaction = Interaction(customer=customer, **fields)
    interaction.full_clean()
    interaction.save()
    audit_event(
        actor=actor, action="create", obj=interaction, after=snapshot(interaction), request=request
    )
    return interaction
