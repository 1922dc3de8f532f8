"""Privacy requests and personal data: reveal a masked value, export one person's data,
erase a customer by anonymisation. Each is permission-checked and audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import (
    HANDLE_PRIVACY_REQUESTS,
    UNMASK_PERSONAL_DATA,
    VIEW_PERSONAL_DATA,
    can,
    customer_is_visible,
    require,
)
from retain.audit.models import AuditEvent
from retain.audit.services import audit_event, snapshot
from retain.complaints.models import Complaint
from retain.customers.models import Consent, ConsentStatus, Contact, Customer
from retain.interactions.models import FollowUp
from retain.orders.models import Order
from retain.surveys.models import SurveyResponse

ERASED = "[erased]"

#: Fields that can be revealed one at a time, per model.
REVEALABLE = {"customer": ("phone", "email"), "contact": ("phone", "email", "wechat_id")}

#: Keys scrubbed from the before/after values of the audit trail on erasure.
PERSONAL_KEYS = {
    "name",
    "phone",
    "email",
    "wechat_id",
    "birthday",
    "notes",
    "key_needs",
    "occupation",
    "title",
    "content",
    "feedback",
    "outcome",
    "next_step",
    "description",
    "resolution",
    "comment",
}


def personal_data_reveal(
    *, actor: Any, customer: Customer, model: str, pk: int, field: str, request: Any = None
) -> str:
    """The full value of one masked field, for a user allowed to see it; audited as unmask."""
    if field not in REVEALABLE.get(model, ()):
        raise ValidationError(_("This field cannot be revealed."))
    if not (can(actor, UNMASK_PERSONAL_DATA) or can(actor, VIEW_PERSONAL_DATA)):
        raise PermissionDenied(UNMASK_PERSONAL_DATA)
    if not customer_is_visible(actor, customer):
        raise PermissionDenied("customer")
    obj: Customer | Contact
    if model == "customer":
        if pk != customer.pk:
            raise ValidationError(_("This field cannot be revealed."))
        obj = customer
    else:
        obj = Contact.objects.get(pk=pk, customer=customer)
    value = getattr(obj, field)
    audit_event(
        actor=actor,
        action="unmask",
        obj=obj,
        customer=customer,
        after={"field": field},
        request=request,
    )
    return value


def customer_personal_data(*, customer: Customer) -> dict[str, Any]:
    """Everything retain holds about one customer, as JSON-ready data."""
    return {
        "customer": snapshot(customer),
        "contacts": [snapshot(c) for c in customer.contacts.all()],
        "consents": [snapshot(c) for c in customer.consents.all()],
        "tags": [
            {"tag": ct.tag.name, "group": ct.tag.group.name, "tagged_at": ct.tagged_at.isoformat()}
            for ct in customer.customer_tags.select_related("tag", "tag__group")
        ],
        "orders": [snapshot(o) for o in Order.objects.filter(customer=customer)],
        "followups": [snapshot(i) for i in FollowUp.objects.filter(customer=customer)],
        "complaints": [snapshot(c) for c in Complaint.objects.filter(customer=customer)],
        "survey_responses": [snapshot(s) for s in SurveyResponse.objects.filter(customer=customer)],
    }


@transaction.atomic
def customer_personal_data_export(
    *, actor: Any, customer: Customer, request: Any = None
) -> dict[str, Any]:
    """A data-subject access request: one person's data as JSON; audited as export."""
    require(actor, HANDLE_PRIVACY_REQUESTS)
    if not customer_is_visible(actor, customer):
        raise PermissionDenied("customer")
    data = customer_personal_data(customer=customer)
    audit_event(
        actor=actor,
        action="export",
        obj=customer,
        after={"kind": "personal_data", "sections": sorted(data)},
        request=request,
    )
    return data


@transaction.atomic
def customer_erase(*, actor: Any, customer: Customer, request: Any = None) -> Customer:
    """Erase a customer's personal data by anonymisation.

    The customer row, its code, kind, industry, region and status stay, and so do orders,
    tags and survey scores, so counts, revenue, retention and NPS are unchanged. Names,
    phone numbers, emails, birthdays and free text go, on the customer, its contacts,
    follow-ups, complaints, survey comments and in the before/after values of its audit
    trail; every consent is withdrawn.
    """
    require(actor, HANDLE_PRIVACY_REQUESTS)
    if not customer_is_visible(actor, customer):
        raise PermissionDenied("customer")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    now = timezone.now()
    identifiers = _identifiers(customer)
    Customer.objects.filter(pk=customer.pk).update(
        name=f"{ERASED} {customer.code}",
        phone="",
        email="",
        birthday=None,
        occupation="",
        notes="",
        key_needs="",
        updated_at=now,
    )
    Contact.objects.filter(customer=customer).update(
        name=ERASED, title="", phone="", email="", wechat_id="", birthday=None
    )
    FollowUp.objects.filter(customer=customer).update(
        content=ERASED, feedback="", outcome="", next_step=""
    )
    Complaint.objects.filter(customer=customer).update(description=ERASED, resolution="")
    SurveyResponse.objects.filter(customer=customer).update(comment="")
    _erase_elsewhere(customer)
    files_purged = _erase_files(identifiers)
    Consent.objects.filter(customer=customer).update(
        status=ConsentStatus.WITHDRAWN, recorded_at=now, source="erasure"
    )
    events = list(AuditEvent.objects.filter(customer=customer))
    for event in events:
        event.before = _scrub(event.before)
        event.after = _scrub(event.after)
        event.object_repr = ERASED
    AuditEvent.objects.bulk_update(events, ["before", "after", "object_repr"], batch_size=500)
    customer.refresh_from_db()
    audit_event(
        actor=actor,
        action="erase",
        obj=customer,
        after={
            "erased": True,
            "audit_events_scrubbed": len(events),
            "import_files_purged": files_purged,
        },
        request=request,
    )
    return customer


def _erase_elsewhere(customer: Customer) -> None:
    """Personal data the other apps keep about the customer: care messages (the address
    and the greeting text), task notes."""
    from django.apps import apps

    if apps.is_installed("retain.care"):
        Delivery = apps.get_model("care", "Delivery")
        Delivery.objects.filter(customer=customer).update(address="", subject=ERASED, body=ERASED)
    if apps.is_installed("retain.tasks"):
        Task = apps.get_model("tasks", "Task")
        Task.objects.filter(customer=customer).update(reason="", outcome_reason="")


def _identifiers(customer: Customer) -> set[str]:
    """What names the person in a stored file: code, name, phone, email, and the names,
    phones, emails and WeChat IDs of the contacts."""
    found = {customer.code, customer.name, customer.phone, customer.email}
    for row in Contact.objects.filter(customer=customer).values_list(
        "name", "phone", "email", "wechat_id"
    ):
        found.update(row)
    return {v for v in found if v}


def _erase_files(identifiers: set[str]) -> int:
    from django.apps import apps

    if not apps.is_installed("retain.imports"):
        return 0
    from retain.imports.privacy import import_files_erase

    return import_files_erase(identifiers=identifiers)


def _scrub(values: Any) -> Any:
    if not isinstance(values, dict):
        return values
    return {
        k: (ERASED if k in PERSONAL_KEYS and v not in ("", None) else v) for k, v in values.items()
    }
