from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction

from retain.accounts.access import can, customers_visible_to
from retain.audit.services import audit_changes_bulk, audit_event, audit_events_bulk, snapshot
from retain.core.bulk import BulkWriter
from retain.customers.models import Customer
from retain.orders.models import Order, SalesChannel

#: The channel of an order that does not say one (an import file without a channel column).
CHANNEL_UNSAID = SalesChannel.OFFLINE

#: The fields an order upsert compares and writes (besides its number).
UPSERT_FIELDS = (
    "customer_id",
    "ordered_at",
    "amount",
    "currency",
    "channel",
    "payment_method",
    "status",
)


def order_fields_defaults(fields: dict[str, Any]) -> dict[str, Any]:
    """An order's fields as every door writes them: a blank status, currency or payment
    method takes the model's default (paid, CNY, none) and the currency is in capitals.
    Changes and returns ``fields``."""
    for name in ("status", "currency", "payment_method"):
        if fields.get(name) in (None, ""):
            field = Order._meta.get_field(name)
            assert isinstance(field, models.Field)
            fields[name] = field.get_default()
    fields["currency"] = str(fields["currency"]).upper()
    return fields


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
    order = Order(customer=customer, **order_fields_defaults(fields))
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
    orders = [Order(**order_fields_defaults(dict(row))) for row in rows]
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


def orders_upsert_bulk(
    *,
    new: Sequence[dict[str, Any]],
    changed: Sequence[tuple[Order, dict[str, tuple[Any, Any]]]],
    actor: Any = None,
    note: dict[str, Any] | None = None,
    writer: BulkWriter | None = None,
) -> None:
    """Write many orders at once, checked already by the caller (an import): ``new`` rows
    (``number`` and ``UPSERT_FIELDS``, defaults applied with ``order_fields_defaults``) are
    inserted with COPY / executemany; ``changed`` orders (``{field: (old, new)}`` set on
    them) are updated in bulk and audited in bulk, one audit row each, a few statements per
    thousand orders. ``note`` goes into each audit row (e.g. ``{"via": "import"}``)."""
    writer = writer or BulkWriter()
    if new:
        columns = ["number", *UPSERT_FIELDS]
        writer.insert(Order, columns, (_db_row(writer, o, columns) for o in new))
    if changed:
        fields = sorted({f for _o, c in changed for f in c})
        Order.objects.bulk_update([o for o, _c in changed], fields, batch_size=1000)
        audit_changes_bulk(
            actor=actor, changes=[(o, o.customer_id, c) for o, c in changed], note=note
        )


def _db_row(writer: BulkWriter, order: dict[str, Any], columns: list[str]) -> tuple[Any, ...]:
    values = dict(order)
    if not writer.postgres:
        # sqlite3 without Django's adapters: UTC text and decimal text.
        values["ordered_at"] = (
            values["ordered_at"].astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
        )
        values["amount"] = str(values["amount"])
    return tuple(values[c] for c in columns)
