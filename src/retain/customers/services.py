from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

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
    *, name: str, kind: str = CustomerKind.COMPANY, code: str = "", **fields: Any
) -> Customer:
    """Create a customer; a code like C2024001 is generated when none is given."""
    customer = Customer(name=name, kind=kind, code=code or customer_code_next()[0], **fields)
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.full_clean()
    customer.save(update_fields=[*fields, "updated_at"])
    return customer


@transaction.atomic
def contact_create(
    *, customer: Customer, name: str, is_primary: bool = False, **fields: Any
) -> Contact:
    """Add a contact; making it primary demotes the customer's previous primary contact."""
    if is_primary:
        Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    contact = Contact(customer=customer, name=name, is_primary=is_primary, **fields)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_mark_left(*, contact: Contact, left_on: dt.date) -> Contact:
    contact.left_on = left_on
    contact.is_primary = False
    contact.save(update_fields=["left_on", "is_primary"])
    return contact


@transaction.atomic
def consent_set(
    *, customer: Customer, channel: str, granted: bool, source: str, at: dt.datetime | None = None
) -> Consent:
    """Record a customer's consent (or its withdrawal) on one channel."""
    consent, _ = Consent.objects.update_or_create(
        customer=customer,
        channel=channel,
        defaults={
            "status": ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN,
            "recorded_at": at or timezone.now(),
            "source": source,
        },
    )
    return consent
