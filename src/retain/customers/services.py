from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import (
    VIEW_ALL_CUSTOMERS,
    can,
    customer_can_edit,
    customer_is_visible,
    may_give_customers_to,
    require,
)
from retain.audit.services import audit_event, snapshot
from retain.customers.bulk import contact_fields_rule, contacts_primary_clear
from retain.customers.models import (
    CodeSequence,
    Consent,
    ConsentStatus,
    Contact,
    Customer,
    CustomerKind,
    StatusChange,
)
from retain.tags.models import CustomerTag, Tag


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


def _check_owner(actor: Any, owner: Any, current: Any = None) -> None:
    """A user hands a customer only to someone whose work they oversee (themselves, their
    team, sales and managers for managers and admins; nobody only for roles that see every
    customer); leaving the owner as it is is always allowed."""
    if actor is None or owner == current:
        return
    if not may_give_customers_to(actor, owner):
        raise PermissionDenied("owner")


def _status_record(
    *, customer: Customer, before: str, reason: str, actor: Any, now: dt.datetime | None = None
) -> None:
    StatusChange.objects.create(
        customer=customer,
        from_status=before,
        to_status=customer.status,
        reason=reason[:300],
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        changed_at=now or timezone.now(),
    )


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

    ``actor`` is the user acting (None for the system); the creation is audited and starts
    the status history. Whoever sees only their own accounts creates their own accounts.
    """
    if actor is not None:
        require(actor, "customers.add_customer")
        if fields.get("owner") is None and not can(actor, VIEW_ALL_CUSTOMERS):
            fields["owner"] = actor
        _check_owner(actor, fields.get("owner"))
    customer = Customer(name=name, kind=kind, code=code or customer_code_next()[0], **fields)
    customer.full_clean()
    customer.save()
    _status_record(customer=customer, before="", reason="", actor=actor)
    audit_event(
        actor=actor, action="create", obj=customer, after=snapshot(customer), request=request
    )
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    actor: Any = None,
    request: Any = None,
    status_reason: str = "",
    **fields: Any,
) -> Customer:
    """Change fields of a customer; audited. A change of status is kept in its history with
    who, when and ``status_reason``; a new owner must be someone the actor may assign to."""
    if actor is not None and not customer_can_edit(actor, customer):
        raise PermissionDenied("customers.change_customer")
    if "owner" in fields:
        _check_owner(actor, fields["owner"], customer.owner)
    fields = {k: v for k, v in fields.items() if getattr(customer, k) != v}
    if not fields:
        return customer
    before = snapshot(customer, fields)
    old_status = customer.status
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.full_clean()
    customer.save(update_fields=[*fields, "updated_at"])
    if customer.status != old_status:
        _status_record(customer=customer, before=old_status, reason=status_reason, actor=actor)
    audit_event(
        actor=actor,
        action="update",
        obj=customer,
        before=before,
        after=snapshot(customer, fields),
        request=request,
    )
    return customer


def customer_status_change(
    *, customer: Customer, status: str, reason: str, actor: Any = None, request: Any = None
) -> Customer:
    """Move a customer to another status (潜在客户 → 核心客户) and say why."""
    if status == customer.status:
        raise ValidationError({"status": _("The customer already has this status.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the status changes.")})
    return customer_update(
        customer=customer, actor=actor, request=request, status=status, status_reason=reason
    )


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
    fields = contact_fields_rule({"is_primary": is_primary, **fields})
    if fields["is_primary"]:
        contacts_primary_clear(keep={customer.pk: None})
    contact = Contact(customer=customer, name=name, **fields)
    contact.full_clean()
    contact.save()
    audit_event(actor=actor, action="create", obj=contact, after=snapshot(contact), request=request)
    return contact


@transaction.atomic
def contact_update(
    *, contact: Contact, actor: Any = None, request: Any = None, **fields: Any
) -> Contact:
    """Change a contact's fields; making it primary demotes the previous primary. Audited.
    ``left_on`` set marks the contact as having left (离职): no longer primary."""
    if actor is not None and not customer_can_edit(actor, contact.customer):
        raise PermissionDenied("customers.change_contact")
    # The rule reads the contact as it will be: one who has left (now or before) is not
    # made primary.
    fields = contact_fields_rule({"left_on": contact.left_on} | fields)
    fields = {k: v for k, v in fields.items() if getattr(contact, k) != v}
    if not fields:
        return contact
    if fields.get("is_primary"):
        contacts_primary_clear(keep={contact.customer_id: contact.pk})
    before = snapshot(contact, fields)
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.full_clean()
    contact.save(update_fields=list(fields))
    audit_event(
        actor=actor,
        action="update",
        obj=contact,
        before=before,
        after=snapshot(contact, fields),
        request=request,
    )
    return contact


def contact_mark_left(
    *, contact: Contact, left_on: dt.date, actor: Any = None, request: Any = None
) -> Contact:
    """The contact left the company (离职) on ``left_on``; they stop being the primary."""
    return contact_update(contact=contact, left_on=left_on, actor=actor, request=request)


def _may_tag(actor: Any, customer: Customer, permission: str) -> None:
    if actor is not None:
        require(actor, permission)
        if not customer_is_visible(actor, customer):
            raise PermissionDenied(permission)


@transaction.atomic
def customer_tag_add(
    *, customer: Customer, tag: Tag, actor: Any = None, request: Any = None
) -> CustomerTag | None:
    """Put a manual tag on one customer (None when it already has it). Audited."""
    _may_tag(actor, customer, "tags.add_customertag")
    if tag.automatic:
        raise ValidationError(_("%(tag)s is set by scoring rules, not by hand.") % {"tag": tag})
    if tag.retired:
        raise ValidationError(_("%(tag)s is retired.") % {"tag": tag})
    if CustomerTag.objects.filter(customer=customer, tag=tag).exists():
        return None
    link = CustomerTag.objects.create(
        customer=customer,
        tag=tag,
        tagged_by=actor if getattr(actor, "is_authenticated", False) else None,
        automatic=False,
        tagged_at=timezone.now(),
    )
    audit_event(
        actor=actor,
        action="create",
        obj=link,
        after={"tag": str(tag)},
        request=request,
    )
    return link


@transaction.atomic
def customer_tag_remove(
    *, customer: Customer, tag: Tag, actor: Any = None, request: Any = None
) -> bool:
    """Take a manual tag off a customer; automatic tags belong to the scoring rules."""
    _may_tag(actor, customer, "tags.delete_customertag")
    link = CustomerTag.objects.filter(customer=customer, tag=tag).first()
    if link is None:
        return False
    if link.automatic:
        raise ValidationError(_("%(tag)s is set by scoring rules, not by hand.") % {"tag": tag})
    audit_event(actor=actor, action="delete", obj=link, before={"tag": str(tag)}, request=request)
    link.delete()
    return True


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
    """Record a customer's consent (or its withdrawal) on one channel; audited.

    The newest decision wins (``consent_replaces``): a decision dated before the one on
    record (``at`` in the past, e.g. from an old file) leaves it as it is and is returned
    unchanged, so a later withdrawal is never undone by an earlier grant."""
    if actor is not None:
        require(actor, "customers.change_consent")
        if not customer_is_visible(actor, customer):
            raise PermissionDenied("customers.change_consent")
    at = at or timezone.now()
    previous = (
        Consent.objects.select_for_update().filter(customer=customer, channel=channel).first()
    )
    status = ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN
    if previous is not None and not consent_replaces(
        old_status=previous.status, old_at=previous.recorded_at, new_status=status, new_at=at
    ):
        return previous
    before = snapshot(previous, CONSENT_FIELDS) if previous else None
    consent, _ = Consent.objects.update_or_create(
        customer=customer,
        channel=channel,
        defaults={"status": status, "recorded_at": at, "source": source},
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


def consent_replaces(
    *, old_status: str, old_at: dt.datetime, new_status: str, new_at: dt.datetime
) -> bool:
    """Whether a consent decision replaces the one on record for the same channel: the
    newest decision wins; at the same moment a withdrawal wins. The one rule for
    ``consent_set``, merges and their undo."""
    if new_at != old_at:
        return new_at > old_at
    return new_status == ConsentStatus.WITHDRAWN or old_status == new_status
