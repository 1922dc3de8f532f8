"""Customers and what hangs on one: contacts, consents, tags, audit trail, personal data, erasure."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from retain.accounts.access import VIEW_AUDIT, customers_visible_to, require
from retain.api import schemas as s
from retain.api.v1.common import Code, Paging, SearchText, customer_of, owner_of, user_of
from retain.audit.selectors import customer_audit_trail
from retain.customers.models import Channel
from retain.customers.privacy import customer_erase, customer_personal_data_export
from retain.customers.selectors import customer_list
from retain.customers.services import consent_set, contact_create, customer_create, customer_update
from retain.playbooks.conditions import conditions_q

router = Router(tags=["customers"])


@router.get("", response={200: list[s.CustomerOut], **s.ERRORS})
@paginate(Paging)
def customers_list(
    request: HttpRequest,
    q: SearchText = "",
    status: SearchText = "",
    kind: SearchText = "",
    owner: SearchText = "",
    city: SearchText = "",
    region: SearchText = "",
    tier: SearchText = "",
    points_min: int | None = None,
    points_max: int | None = None,
) -> Any:
    """Customers you may see; ``q`` matches code, name, phone or a contact's phone or name;
    ``tier`` is a membership tier code (several: comma-separated), ``points_min`` and
    ``points_max`` bound the points balance (the sum of the ledger, 0 without points)."""
    user = user_of(request)
    require(user, "customers.view_customer")
    qs = customers_visible_to(user, customer_list(search=q, user=user, request=request))
    filters = {"status": status, "kind": kind, "owner__username": owner, "city": city}
    qs = qs.filter(**{k: v for k, v in filters.items() if v})
    if region:
        qs = qs.filter(region=region)
    conditions: list[dict[str, Any]] = []
    if tier:
        codes = [t.strip() for t in tier.split(",") if t.strip()]
        conditions.append({"field": "member_tier", "op": "in", "value": codes})
    if points_min is not None:
        conditions.append({"field": "points_balance", "op": "gte", "value": points_min})
    if points_max is not None:
        conditions.append({"field": "points_balance", "op": "lte", "value": points_max})
    if conditions:
        # the segment builder's conditions: one rule for the list, the API and segments
        qs = qs.filter(conditions_q({"all": conditions}))
    return qs


@router.post("", response={201: s.CustomerOut, **s.ERRORS})
def customers_create(request: HttpRequest, payload: s.CustomerIn) -> Any:
    user = user_of(request)
    data = payload.dict()
    owner = owner_of(request, data.pop("owner"))
    # Whom a customer may be given to is the service's rule (as on the pages and in bulk).
    customer = customer_create(actor=user, request=request, owner=owner, **data)
    return Status(201, customer)


@router.get("/{code}", response={200: s.CustomerOut, **s.ERRORS})
def customers_get(request: HttpRequest, code: Code) -> Any:
    return customer_of(request, code)


@router.patch("/{code}", response={200: s.CustomerOut, **s.ERRORS})
def customers_update(request: HttpRequest, code: Code, payload: s.CustomerPatch) -> Any:
    user = user_of(request)
    customer = customer_of(request, code)
    fields = payload.dict(exclude_unset=True)
    if "owner" in fields:
        fields["owner"] = owner_of(request, fields["owner"])
    if any(v is None for k, v in fields.items() if k != "owner"):
        raise ValidationError({k: ["may not be null"] for k, v in fields.items() if v is None})
    return customer_update(customer=customer, actor=user, request=request, **fields)


@router.get("/{code}/contacts", response={200: list[s.ContactOut], **s.ERRORS})
def customers_contacts(request: HttpRequest, code: Code) -> Any:
    require(user_of(request), "customers.view_contact")
    return customer_of(request, code).contacts.all()


@router.post("/{code}/contacts", response={201: s.ContactOut, **s.ERRORS})
def customers_contact_add(request: HttpRequest, code: Code, payload: s.ContactIn) -> Any:
    customer = customer_of(request, code)
    contact = contact_create(
        customer=customer, actor=user_of(request), request=request, **payload.dict()
    )
    return Status(201, contact)


@router.get("/{code}/consents", response={200: list[s.ConsentOut], **s.ERRORS})
def customers_consents(request: HttpRequest, code: Code) -> Any:
    require(user_of(request), "customers.view_consent")
    return customer_of(request, code).consents.order_by("channel")


@router.put("/{code}/consents/{channel}", response={200: s.ConsentOut, **s.ERRORS})
def customers_consent_set(
    request: HttpRequest, code: Code, channel: Channel, payload: s.ConsentIn
) -> Any:
    """Grant or withdraw marketing consent on one channel (email, sms, phone, wechat)."""
    customer = customer_of(request, code)
    return consent_set(
        customer=customer,
        channel=channel.value,
        granted=payload.granted,
        source=payload.source,
        actor=user_of(request),
        request=request,
    )


@router.get("/{code}/tags", response={200: list[s.CustomerTagOut], **s.ERRORS})
def customers_tags(request: HttpRequest, code: Code) -> Any:
    require(user_of(request), "tags.view_customertag")
    return customer_of(request, code).customer_tags.select_related("tag", "tag__group")


@router.get("/{code}/audit", response={200: list[s.AuditEventOut], **s.ERRORS})
@paginate(Paging)
def customers_audit(request: HttpRequest, code: Code) -> Any:
    require(user_of(request), VIEW_AUDIT)
    return customer_audit_trail(customer=customer_of(request, code)).select_related("customer")


@router.get("/{code}/personal-data", response={200: dict[str, Any], **s.ERRORS})
def customers_personal_data(request: HttpRequest, code: Code) -> Any:
    """Everything held about this customer (data-subject access request); audited."""
    return customer_personal_data_export(
        actor=user_of(request), customer=customer_of(request, code), request=request
    )


@router.post("/{code}/erase", response={200: s.CustomerOut, **s.ERRORS})
def customers_erase(request: HttpRequest, code: Code) -> Any:
    """Erase the customer's personal data by anonymisation (orders and scores stay)."""
    return customer_erase(
        actor=user_of(request), customer=customer_of(request, code), request=request
    )
