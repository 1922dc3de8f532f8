"""Export customers as CSV: only the customers the user sees, personal data masked unless
the role may see it, neutralised against spreadsheet formulas, and audited."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import transaction

from retain.accounts.access import (
    EXPORT_CUSTOMERS,
    customers_visible_to,
    personal,
    require,
)
from retain.audit.services import audit_event
from retain.core.exports import csv_write

HEADER = [
    "code",
    "name",
    "kind",
    "status",
    "industry",
    "owner",
    "region",
    "city",
    "phone",
    "email",
    "first_contact_date",
    "created_at",
]


def _rows(user: Any, customers: Any) -> Iterator[list[Any]]:
    for c in customers.iterator(chunk_size=2000):
        yield [
            c.code,
            c.name,
            c.kind,
            c.status,
            c.industry,
            c.owner.username if c.owner_id else "",
            c.region,
            c.city,
            personal(user, "phone", c.phone),
            personal(user, "email", c.email),
            c.first_contact_date.isoformat() if c.first_contact_date else "",
            c.created_at.isoformat(),
        ]


@transaction.atomic
def customers_export(
    *, actor: Any, target: Path | io.TextIOBase, search: str = "", request: Any = None
) -> int:
    """Write the customers ``actor`` may see to ``target`` (a path or a text buffer).

    Needs the export permission; returns the number of customers written.
    """
    require(actor, EXPORT_CUSTOMERS)
    from retain.customers.selectors import customer_list

    customers = customers_visible_to(actor, customer_list(search=search)).select_related("owner")
    count = customers.count()
    csv_write(target, HEADER, _rows(actor, customers))
    audit_event(
        actor=actor,
        action="export",
        object_repr=f"{count} customers",
        after={"kind": "customers", "count": count, "search": search},
        request=request,
    )
    return count
