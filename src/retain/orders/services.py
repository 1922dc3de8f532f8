from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from retain.accounts.access import can, customers_visible_to
from retain.audit.services import audit_event, audit_events_bulk, snapshot
from retain.customers.models import Customer
from retain.orders.models import Order


def _check(actor: Any, customers: Sequence[Customer]) -> None:
    if actor is None:
        return
    if not can(actor, "orders.add_order"):
        raise PermissionDenied("orders.add_order")
    ids = {c.pk for c in customers}
    visible = set(customers_visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))
    if visible != ids:
        raise PermissionDenied("customer")


@transaction.atomic
def order_create(
    *, customer: Customer, actor: Any = None, request: Any = None, **fields: Any
) -> Order:
    """Record one order of a customer; audited."""
    _check(actor, [customer])
    order = Order(customer=customer, **fields)
    order.full_clean()
    order.save()
    audit_event(actor=actor, action="create", obj=order, after=snapshot(order), request=request)
    return order


@transaction.atomic
def orders_bulk_create(
    *, rows: Sequence[dict[str, Any]], actor: Any = None, request: Any = None
) -> list[Order]:
    """Create many orders, all or none.

    Each row holds ``customer`` (a Customer) and the order's fields. Every row is validated
    first; a ValidationError names the row (from 0) and the field, and nothing is saved.
    """
    orders = [Order(**row) for row in rows]
    _check(actor, list({o.customer.pk: o.customer for o in orders}.values()))
    errors: dict[str, list[str]] = {}
    numbers: dict[str, int] = {}
    for i, order in enumerate(orders):
        try:
            order.full_clean(validate_unique=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors[f"{i}.{field}"] = messages
        if order.number in numbers:
            errors[f"{i}.number"] = [f"repeats row {numbers[order.number]}"]
        numbers.setdefault(order.number, i)
    taken = set(Order.objects.filter(number__in=list(numbers)).values_list("number", flat=True))
    for number in sorted(taken):
        errors[f"{numbers[number]}.number"] = ["an order with this number exists"]
    if errors:
        raise ValidationError(errors)
    created = Order.objects.bulk_create(orders, batch_size=1000)
    if any(o.pk is None for o in created):  # backends without RETURNING
        by_number = dict(Order.objects.filter(number__in=list(numbers)).values_list("number", "pk"))
        for o in created:
            o.pk = by_number[o.number]
    audit_events_bulk(actor=actor, action="create", objs=created, request=request)
    return created
