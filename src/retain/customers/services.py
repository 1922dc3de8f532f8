from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from retain.accounts.access import customer_can_edit, customer_is_visible, require
from retain.audit.services import audit_event, snapshot
from retain.customers.models import (
    CodeSequence,
    Consent,
    ConsentStatus,
    Contact,
    Customer,
    CustomerKind,
)


def customer_code_next(*, year: int | None = None, count: int = 1) -> list[str]:
    """Reserve ``count`` new customer codes like C2024001 for ``year``.

    A row per prefix is incremented with ``F()`` under a row lock, so concurrent callers
    never receive the same code.
    """
    year = year or timezone.localdate().year
    prefix = f"C{year}"
    with transaction.atomic():
        CodeSequence.objects.get_or_create(prefix=prefix)
        CodeSequence.objects.filter(prefix=prefix).update(last=F("last") + count)
        last = CodeSequence.objects.select_for_update().get(prefix=prefix).last
        # Skip codes someone typed in by hand (imports keep the code they come with).
        first = last - count + 1
        codes = [f"{prefix}{n:03d}" for n in range(first, last + 1)]
        taken: set[str] = set()
        for at in range(0, len(codes), 5000):  # stay under the database's parameter limit
            batch = codes[at : at + 5000]
            taken.update(Customer.objects.filter(code__in=batch).values_list("code", flat=True))
        if not taken:
            return codes
    return [c for c in codes if c not in taken] + customer_code_next(year=year, count=len(taken))


@transaction.atomic
def customer_create(
    *,
    name: str,
    kind: str = CustomerKind.COMPANY,
    code: str = "",
    actor: Any = None,
    request: Any = None,
    **fields: Any,
) -> Customer:
    """Create a customer; a code like C2024001 is generated when none is given.

    ``actor`` is the user acting (None for the system); the creation is audited.
    """
    if actor is not None:
        require(actor, "customers.add_customer")
    customer = Customer(name=name, kind=kind, code=code or customer_code_next()[0], **fields)
    customer.full_clean()
    customer.save()
    audit_event(
        actor=actor, action="create", obj=customer, after=snapshot(customer), request=request
    )
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, actor: Any = None, request: Any = None, **fields: Any
) -> Customer:
    if actor is not None and not customer_can_edit(actor, customer):
        raise PermissionDenied("customers.change_customer")
    before = snapshot(customer, fields)
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.full_clean()
    customer.save(update_fields=[*fields, "updated_at"])
    audit_event(
        actor=actor,
        action="update",
        obj=customer,
        before=before,
        after=snapshot(customer, fields),
        request=request,
    )
    return customer


@transaction.atomic
def contact_create(
    *,
    customer: Customer,
    name: str,
    is_primary: bool = False,
    actor: Any = None,
    request: Any = None,
    **fields: Any,
) -> Contact:
    """Add a contact; making it primary demotes the customer's previous primary contact."""
    if actor is not None and not customer_can_edit(actor, customer):
        raise PermissionDenied("customers.add_contact")
    if is_primary:
        Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    contact = Contact(customer=customer, name=name, is_primary=is_primary, **fields)
    contact.full_clean()
    contact.save()
    audit_event(actor=actor, action="create", obj=contact, after=snapshot(contact), request=request)
    return contact


@transaction.atomic
def contact_mark_left(*, contact: Contact, left_on: dt.date, actor: Any = None) -> Contact:
    before = snapshot(contact, ["left_on", "is_primary"])
    contact.left_on = left_on
    contact.is_primary = False
    contact.save(update_fields=["left_on", "is_primary"])
    audit_event(
        actor=actor,
        action="update",
        obj=contact,
        before=before,
        after=snapshot(contact, ["left_on", "is_primary"]),
    )
    return contact


@transaction.atomic
def consent_set(
    *,
    customer: Customer,
    channel: str,
    granted: bool,
    source: str,
    at: dt.datetime | None = None,
    actor: Any = None,
    request: Any = None,
) -> Consent:
    """Record a customer's consent (or its withdrawal) on one channel; audited."""
    if actor is not None:
        require(actor, "customers.change_consent")
        if not customer_is_visible(actor, customer):
            raise PermissionDenied("customers.change_consent")
    previous = Consent.objects.filter(customer=customer, channel=channel).first()
    before = snapshot(previous, CONSENT_FIELDS) if previous else None
    consent, _ = Consent.objects.update_or_create(
        customer=customer,
        channel=channel,
        defaults={
            "status": ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN,
            "recorded_at": at or timezone.now(),
            "source": source,
        },
    )
    audit_event(
        actor=actor,
        action="consent",
        obj=consent,
        customer=customer,
        before=before,
        after=snapshot(consent, CONSENT_FIELDS),
        request=request,
    )
    return consent


CONSENT_FIELDS = ("channel", "status", "recorded_at", "source")
