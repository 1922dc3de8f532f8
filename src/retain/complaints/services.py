from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from retain.accounts.access import can, customer_is_visible
from retain.audit.services import audit_event, snapshot
from retain.complaints.models import Complaint
from retain.customers.models import Customer


@transaction.atomic
def complaint_open(
    *, customer: Customer, actor: Any = None, request: Any = None, **fields: Any
) -> Complaint:
    """Record a complaint of ``customer``. Audited."""
    if actor is not None and not (
        can(actor, "complaints.add_complaint") and customer_is_visible(actor, customer)
    ):
        raise PermissionDenied("complaints.add_complaint")
    complaint = Complaint(customer=customer, **fields)
    complaint.full_clean()
    complaint.save()
    audit_event(
        actor=actor, action="create", obj=complaint, after=snapshot(complaint), request=request
    )
    return complaint
