"""Complaints: upsert by customer, opening time and category."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django.db import models

from retain.audit.models import AuditAction
from retain.audit.services import snapshot
from retain.complaints.models import Complaint
from retain.complaints.services import CHANNEL_UNSAID, complaints_opened
from retain.imports.kinds.base import KeyedHandler, register
from retain.imports.rows import Row
from retain.imports.schema import ImportKind


@register(ImportKind.COMPLAINTS)
class ComplaintHandler(KeyedHandler):
    model = Complaint
    # Twice in one file would silently overwrite the first: a row error instead.
    file_key_fields = ("customer_code", "opened_at", "category")
    fields = (
        "customer_id",
        "opened_at",
        "category",
        "description",
        "channel",
        "severity",
        "status",
        "resolution",
    )
    exclude_clean = ("customer", "owner")

    def model_values(self, row: Row) -> dict[str, Any]:
        values = super().model_values(row)
        values["customer_id"] = self.customer_ids[row.values["customer_code"]]
        return values

    def resolve(self, rows: list[Row]) -> None:
        self.resolve_customers(rows)
        for row in rows:
            if not row.values.get("channel"):
                row.values["channel"] = CHANNEL_UNSAID

    def created(self, new: list[Any]) -> None:
        # As complaint_open does for one: the "opened" event, and a create audit of each
        # (written in bulk with the batch's other audit rows).
        complaints_opened(new, actor=self.actor)
        for complaint in new:
            after = snapshot(complaint)
            self.audited(
                complaint,
                complaint.customer_id,
                {k: (None, v) for k, v in after.items()},
                AuditAction.CREATE,
            )

    def db_key(self, values: dict[str, Any]) -> Hashable:
        return (values["customer_id"], values["opened_at"], values["category"])

    def existing(self, rows: list[Row]) -> dict[Hashable, models.Model]:

        ids = {self.customer_ids[r.values["customer_code"]] for r in rows}
        times = {r.values["opened_at"] for r in rows}
        found = Complaint.objects.filter(customer_id__in=ids, opened_at__in=times)
        return {(c.customer_id, c.opened_at, c.category): c for c in found}
