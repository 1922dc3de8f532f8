"""Bulk actions of the customer list: tag, assign an owner, export. Permission-checked and
audited like the single-customer services; set-based (no query per customer).

Also the contact rules in their set-based form, which the single-contact services
(``contact_create``, ``contact_update``) and the imports all call: one primary contact per
customer (``contacts_primary_clear``), a contact who has left is not primary
(``contact_fields_rule``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import (
    EXPORT_CUSTOMERS,
    can,
    customers_visible_to,
    mask_value,
    may_give_customers_to,
    require,
    shows_personal_data,
)
from retain.accounts.models import User
from retain.audit.models import AuditAction, AuditEvent
from retain.audit.services import audit_event, audit_events_bulk
from retain.customers.models import Contact, Customer
from retain.tags.models import CustomerTag, Tag

#: At most this many customers per bulk change (export streams any number).
BULK_LIMIT = 5_000


def contacts_primary_clear(*, keep: Mapping[int, int | None]) -> int:
    """The one-primary-contact rule for any number of customers, in one UPDATE: every primary
    contact of customer ``c`` except the contact ``keep[c]`` (None: all of them) stops being
    primary. Call it before a contact of ``c`` is made primary (the database allows one).
    Returns how many contacts stopped being primary."""
    if not keep:
        return 0
    primaries = Contact.objects.filter(customer_id__in=list(keep), is_primary=True)
    kept = [pk for pk in keep.values() if pk is not None]
    if kept:
        primaries = primaries.exclude(pk__in=kept)
    return primaries.update(is_primary=False)


def contact_fields_rule(fields: dict[str, Any]) -> dict[str, Any]:
    """A contact's fields as every door must write them: one who has left (``left_on`` set)
    is not the primary contact."""
    if fields.get("left_on"):
        fields["is_primary"] = False
    return fields


def _visible(actor: Any, customer_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(int(i) for i in customer_ids))
    if len(ids) > BULK_LIMIT:
        raise ValidationError(
            _("At most %(limit)s customers at a time; %(n)s were selected.")
            % {"limit": BULK_LIMIT, "n": len(ids)}
        )
    visible = set(customers_visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))
    if len(visible) != len(ids):
        raise PermissionDenied("customers not visible to the user")
    return ids


@transaction.atomic
def customers_tag(*, customer_ids: Sequence[int], tag: Tag, actor: Any, request: Any = None) -> int:
    """Put a (manual) tag on the customers; returns how many were newly tagged. Audited."""
    require(actor, "tags.add_customertag")
    if tag.automatic:
        raise ValidationError(_("%(tag)s is set by scoring rules, not by hand.") % {"tag": tag})
    if tag.retired:
        raise ValidationError(_("%(tag)s is retired.") % {"tag": tag})
    ids = _visible(actor, customer_ids)
    have = set(
        CustomerTag.objects.filter(tag=tag, customer_id__in=ids).values_list(
            "customer_id", flat=True
        )
    )
    now = timezone.now()
    new = [
        CustomerTag(customer_id=cid, tag=tag, tagged_by=actor, automatic=False, tagged_at=now)
        for cid in ids
        if cid not in have
    ]
    CustomerTag.objects.bulk_create(new, batch_size=1000)
    created = list(
        CustomerTag.objects.filter(tag=tag, customer_id__in=[t.customer_id for t in new])
    )
    audit_events_bulk(actor=actor, action=AuditAction.CREATE, objs=created, request=request)
    return len(new)


@transaction.atomic
def customers_assign_owner(
    *, customer_ids: Sequence[int], owner: User | None, actor: Any, request: Any = None
) -> int:
    """Give the customers a new account owner; returns how many changed. Audited."""
    require(actor, "customers.change_customer")
    # The same rule as one customer's owner (customers.services): whom the actor oversees.
    if not may_give_customers_to(actor, owner):
        raise PermissionDenied("owner")
    ids = _visible(actor, customer_ids)
    before = dict(
        Customer.objects.filter(pk__in=ids).select_for_update().values_list("pk", "owner_id")
    )
    owner_id = owner.pk if owner is not None else None
    changing = sorted(pk for pk, old in before.items() if old != owner_id)
    now = timezone.now()
    Customer.objects.filter(pk__in=changing).update(owner_id=owner_id, updated_at=now)
    names = dict(Customer.objects.filter(pk__in=changing).values_list("pk", "code"))
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                at=now,
                actor=actor,
                actor_name=actor.get_username(),
                action=AuditAction.UPDATE,
                object_type="customers.customer",
                object_id=str(pk),
                object_repr=names.get(pk, "")[:200],
                customer_id=pk,
                before={"owner": before[pk]},
                after={"owner": owner_id},
                ip=ip,
            )
            for pk in changing
        ],
        batch_size=1000,
    )
    return len(changing)


EXPORT_HEADER = [
    "code",
    "name",
    "kind",
    "industry",
    "status",
    "owner",
    "region",
    "city",
    "phone",
    "email",
    "quadrant",
    "lifecycle_stage",
    "rfm_segment",
    "churn_risk",
    "order_count",
    "total_spend",
    "last_purchase",
    "p_alive",
    "predicted_ltv",
]


def export_header_labels() -> list[str]:
    """The export's column names in the active language (the people's exports)."""
    from django.utils.translation import gettext_lazy as lazy

    names = {
        "code": lazy("Code"),
        "name": lazy("Name"),
        "kind": lazy("Kind"),
        "industry": lazy("Industry"),
        "status": lazy("Status"),
        "owner": lazy("Owner"),
        "region": lazy("Region"),
        "city": lazy("City"),
        "phone": lazy("Phone"),
        "email": lazy("Email"),
        "quadrant": lazy("Quadrant"),
        "lifecycle_stage": lazy("Lifecycle stage"),
        "rfm_segment": lazy("RFM segment"),
        "churn_risk": lazy("Churn risk"),
        "order_count": lazy("Orders"),
        "total_spend": lazy("Spend"),
        "last_purchase": lazy("Last purchase"),
        "p_alive": lazy("P(alive)"),
        "predicted_ltv": lazy("Predicted value"),
    }
    return [str(names[c]) for c in EXPORT_HEADER]


def _value_labels() -> dict[int, dict[str, str]]:
    """Column -> code -> label in the active language, for the columns holding codes."""
    from retain.customers.models import CustomerKind, CustomerStatus
    from retain.tasks.templatetags.task_tags import LABELS

    scores = {k: str(v) for k, v in LABELS.items()}
    return {
        2: {k: str(v) for k, v in CustomerKind.choices},
        4: {k: str(v) for k, v in CustomerStatus.choices},
        10: scores,
        11: scores,
        13: scores,
    }


def customers_export_rows(
    *,
    queryset: QuerySet[Customer],
    actor: Any,
    description: str,
    request: Any = None,
    labels: bool = False,
) -> Iterator[list[Any]]:
    """Rows of the export (header first), personal data masked for roles without it.

    Checks the export permission and writes the audit event before the first row; reads in
    chunks so a million rows stream in constant memory. ``labels``: the header and the coded
    values (kind, status, quadrant, stage, risk) in the active language, for people; without
    it, the stable codes, for scripts (``retain export``).
    """
    require(actor, EXPORT_CUSTOMERS)
    full = shows_personal_data(actor)
    audit_event(
        actor=actor,
        action=AuditAction.EXPORT,
        object_repr=_("customer list: %(query)s") % {"query": description or "*"},
        request=request,
    )

    # resolved now, while the request's language is active (the rows stream later)
    header = export_header_labels() if labels else list(EXPORT_HEADER)
    coded = _value_labels() if labels else {}

    def rows() -> Iterator[list[Any]]:
        yield header
        values = queryset.values_list(
            "code",
            "name",
            "kind",
            "industry",
            "status",
            "owner__username",
            "region",
            "city",
            "phone",
            "email",
            "score__quadrant",
            "score__lifecycle_stage",
            "score__rfm_segment",
            "score__churn_risk",
            "score__order_count",
            "score__total_spend",
            "score__last_purchase",
            "score__p_alive",
            "score__predicted_ltv",
        )
        for row in values.iterator(chunk_size=2000):
            out = list(row)
            if not full:
                out[8] = mask_value("phone", str(out[8] or ""))
                out[9] = mask_value("email", str(out[9] or ""))
            for at, names in coded.items():
                if out[at]:
                    out[at] = names.get(str(out[at]), str(out[at]))
            yield ["" if v is None else v for v in out]

    return rows()


def may_export(user: Any) -> bool:
    return can(user, EXPORT_CUSTOMERS)
