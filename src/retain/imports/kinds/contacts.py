"""Contacts: upsert by customer code and name; one primary contact per customer."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from retain.customers.bulk import contact_fields_rule, contacts_primary_clear
from retain.customers.models import Contact
from retain.imports.kinds.base import KeyedHandler, register
from retain.imports.rows import ImportResult, Row
from retain.imports.schema import ImportKind


@register(ImportKind.CONTACTS)
class ContactHandler(KeyedHandler):
    model = Contact
    file_key_fields = ("customer_code", "name")
    fields = (
        "customer_id",
        "name",
        "title",
        "phone",
        "email",
        "wechat_id",
        "birthday",
        "is_primary",
        "left_on",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.primary_rows: dict[str, int] = {}

    def resolve(self, rows: list[Row]) -> None:
        self.resolve_customers(rows)
        for row in rows:
            contact_fields_rule(row.values)
            if row.errors or not row.values.get("is_primary"):
                continue
            code = row.values["customer_code"]
            first = self.primary_rows.setdefault(code, row.number)
            if first != row.number:
                row.fail(
                    self.label("is_primary"),
                    _("%(code)s has a primary contact on row %(first)s already; a customer has one")
                    % {"code": code, "first": first},
                )

    def model_values(self, row: Row) -> dict[str, Any]:
        values = super().model_values(row)
        values["customer_id"] = self.customer_ids[row.values["customer_code"]]
        if values.get("is_primary") is None:
            values.pop("is_primary", None)
        return values

    def db_key(self, values: dict[str, Any]) -> Hashable:
        return (values["customer_id"], values["name"])

    def existing(self, rows: list[Row]) -> dict[Hashable, models.Model]:

        ids = {self.customer_ids[r.values["customer_code"]] for r in rows}
        return {(c.customer_id, c.name): c for c in Contact.objects.filter(customer_id__in=ids)}

    def write(self, rows: list[Row], result: ImportResult) -> None:

        # One primary contact per customer (the rule of contact_create/contact_update): a
        # row that makes a contact primary demotes the others of that customer first.
        wanted = {
            self.customer_ids[r.values["customer_code"]]: r.values["name"]
            for r in rows
            if r.values.get("is_primary")
        }
        if wanted:
            found = {
                c: pk
                for c, name, pk in Contact.objects.filter(
                    customer_id__in=list(wanted), name__in=set(wanted.values())
                ).values_list("customer_id", "name", "pk")
                if wanted[c] == name
            }
            contacts_primary_clear(keep={c: found.get(c) for c in wanted})
        super().write(rows, result)
