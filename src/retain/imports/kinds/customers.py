"""Customers: upsert by customer code (or matched by name and phone or email), with the
联系人 column as the primary contact."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from retain.accounts.access import import_customer_ids, import_customer_owner, import_may_create
from retain.audit.models import AuditAction
from retain.customers.bulk import contact_fields_rule, contacts_primary_clear
from retain.customers.models import Contact, Customer, CustomerKind, CustomerSource
from retain.imports.kinds.base import Handler, blank, changes, not_found, register
from retain.imports.rows import ImportResult, Row
from retain.imports.schema import ImportKind, choice_key


@register(ImportKind.CUSTOMERS)
class CustomerHandler(Handler):
    model = Customer
    file_key_fields = ("code",)
    fields = (
        "name",
        "kind",
        "industry",
        "first_contact_date",
        "status",
        "key_needs",
        "notes",
        "region",
        "city",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sources: dict[str, int] = {}

    def resolve(self, rows: list[Row]) -> None:

        names = {r.values["source"] for r in rows if r.values.get("source")}
        if names - self.sources.keys():
            for source in CustomerSource.objects.all():
                for label in (source.name_zh, source.name, source.code):
                    if label:
                        self.sources.setdefault(choice_key(label), source.pk)
        for row in rows:
            if row.values.get("kind") == "":
                row.values.pop("kind")
            if row.values.get("status") == "":
                row.values.pop("status")
            name = row.values.get("source")
            if name and choice_key(name) not in self.sources:
                if not import_may_create(self.actor, "source"):
                    row.fail(
                        self.label("source"),
                        _("no customer source is called %(name)s; an admin can add it")
                        % {"name": name},
                    )
                    continue
                code = "import-" + hashlib.sha1(name.encode()).hexdigest()[:10]
                source, _created = CustomerSource.objects.get_or_create(
                    code=code, defaults={"name": name, "name_zh": name}
                )
                self.sources[choice_key(name)] = source.pk
            if name:
                row.values["source_id"] = self.sources[choice_key(name)]

    def write(self, rows: list[Row], result: ImportResult) -> None:
        from retain.customers.services import customer_code_next

        result.matched_by_name += self._match_without_code(rows)
        codes = [r.values["code"] for r in rows if r.values.get("code")]
        existing = {c.code: c for c in Customer.objects.filter(code__in=codes)}
        allowed = import_customer_ids(self.actor, [c.pk for c in existing.values()])
        owner = import_customer_owner(self.actor)
        fresh = [r for r in rows if not r.values.get("code")]
        for row, code in zip(
            fresh, customer_code_next(count=len(fresh)) if fresh else [], strict=True
        ):
            row.values["code"] = code
        new: list[tuple[Row, Customer]] = []
        updates: list[Customer] = []
        update_fields: set[str] = set()
        for row in rows:
            values = {f: row.values[f] for f in (*self.fields, "source_id") if f in row.values}
            kind = values.get("kind") or CustomerKind.COMPANY
            if kind == CustomerKind.PERSON:
                for f in ("phone", "email"):
                    if row.values.get(f):
                        values[f] = row.values[f]
            customer = existing.get(row.values["code"])
            if customer is not None and customer.pk not in allowed:
                # Taken by a customer this user may not see: the same answer as "no such".
                row.fail(self.label("code"), not_found(row.values["code"]))
                continue
            if customer is None:
                customer = Customer(
                    code=row.values["code"], **{k: v for k, v in values.items() if not blank(v)}
                )
                customer.kind = kind
                customer.owner = owner
                if self._clean(row, customer):
                    new.append((row, customer))
                continue
            changed = changes(customer, values)
            if changed:
                for name, (_old, value) in changed.items():
                    setattr(customer, name, value)
                if not self._clean(row, customer):
                    continue
                update_fields.update(changed)
                customer.updated_at = self.now
                updates.append(customer)
                self.audited(customer, customer.pk, changed)
            row.values["_customer"] = customer
        Customer.objects.bulk_create([c for _r, c in new], batch_size=1000)
        if updates:
            Customer.objects.bulk_update(
                updates, sorted({*update_fields, "updated_at"}), batch_size=1000
            )
        # bulk_create sets primary keys on PostgreSQL and SQLite (RETURNING).
        for row, customer in new:
            row.values["_customer"] = customer
        new_ids = {c.pk for _r, c in new}
        updated_ids = {c.pk for c in updates} | self._contacts(rows, new_ids)
        result.created += len(new)
        result.updated += len(updated_ids)
        result.unchanged += sum(
            1
            for r in rows
            if not r.errors
            and "_customer" in r.values
            and r.values["_customer"].pk not in new_ids | updated_ids
        )

    def _match_without_code(self, rows: list[Row]) -> int:
        """A row without a customer code is the customer with the same normalised name and
        the same phone or email (its own or an active contact's), when the user may see it:
        re-importing a file without codes then updates instead of creating duplicates."""
        from retain.dedup.normalise import company_full

        fresh = [
            r
            for r in rows
            if not r.values.get("code") and (r.values.get("phone") or r.values.get("email"))
        ]
        if not fresh:
            return 0
        phones = {r.values["phone"] for r in fresh if r.values.get("phone")}
        emails = {r.values["email"].lower() for r in fresh if r.values.get("email")}
        by_contact = Contact.objects.filter(
            models.Q(phone__in=phones) | models.Q(email__in=emails)
        ).values_list("customer_id", "phone", "email")
        by_customer = Customer.objects.filter(
            models.Q(phone__in=phones) | models.Q(email__in=emails)
        ).values_list("id", "phone", "email")
        reach: dict[str, set[int]] = {}
        for customer_id, phone, email in (*by_customer, *by_contact):
            for key in (phone, (email or "").lower()):
                if key:
                    reach.setdefault(key, set()).add(customer_id)
        ids = import_customer_ids(self.actor, {i for found in reach.values() for i in found})
        if not ids:
            return 0
        names = {
            pk: (code, company_full(name))
            for pk, code, name in Customer.objects.filter(pk__in=ids).values_list(
                "pk", "code", "name"
            )
        }
        matched = 0
        for row in fresh:
            name = company_full(row.values.get("name") or "")
            keys = [row.values.get("phone"), (row.values.get("email") or "").lower()]
            same = sorted(
                pk
                for key in keys
                if key
                for pk in reach.get(key, ())
                if pk in names and names[pk][1] == name
            )
            if same and name:
                row.values["code"] = names[same[0]][0]
                matched += 1
        return matched

    def _clean(self, row: Row, customer: Any) -> bool:
        try:
            customer.full_clean(
                exclude=["source", "owner"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                row.fail(self.label(name), " ".join(messages))
            return False
        return True

    def _contacts(self, rows: list[Row], new_ids: set[int]) -> set[int]:
        """The 联系人 column becomes the customer's primary contact (with the row's phone
        and email when the customer is a company). Returns ids of customers whose contacts
        changed."""
        wanted = [r for r in rows if r.values.get("contact") and "_customer" in r.values]
        if not wanted:
            return set()
        ids = [r.values["_customer"].pk for r in wanted]
        current: dict[int, list[Any]] = {}
        for contact in Contact.objects.filter(customer_id__in=ids):
            current.setdefault(contact.customer_id, []).append(contact)
        changed_customers: set[int] = set()
        # One primary contact per customer: customer id -> the contact that stays primary.
        keep: dict[int, int | None] = {}
        create: list[Any] = []
        updates: list[Any] = []
        for row in wanted:
            customer = row.values["_customer"]
            name = row.values["contact"]
            extra = {}
            if customer.kind == "company":
                extra = {f: row.values[f] for f in ("phone", "email") if row.values.get(f)}
            mine = current.get(customer.pk, [])
            same = next((c for c in mine if c.name == name), None)
            if same is None:
                contact = Contact(customer=customer, name=name, is_primary=True, **extra)
                try:
                    contact.full_clean(
                        exclude=["customer"], validate_unique=False, validate_constraints=False
                    )
                except ValidationError as exc:
                    for field_name, messages in exc.message_dict.items():
                        row.fail(self.label(field_name), " ".join(messages))
                    continue
                keep[customer.pk] = None
                create.append(contact)
                current.setdefault(customer.pk, []).append(contact)
                if customer.pk not in new_ids:
                    changed_customers.add(customer.pk)
                continue
            # The same rule as contact_update: one who has left does not become primary.
            fields = contact_fields_rule(extra | {"is_primary": True, "left_on": same.left_on})
            del fields["left_on"]
            changed = changes(same, fields)
            if changed and same.pk is not None:
                if changed.get("is_primary", (None, False))[1]:
                    keep[customer.pk] = same.pk
                for k, (_old, new) in changed.items():
                    setattr(same, k, new)
                updates.append(same)
                changed_customers.add(customer.pk)
                self.audited(same, customer.pk, changed)
        contacts_primary_clear(keep=keep)
        if updates:
            Contact.objects.bulk_update(updates, ["phone", "email", "is_primary"], batch_size=1000)
        Contact.objects.bulk_create(create, batch_size=1000)
        for contact in create:
            if contact.customer_id not in new_ids:
                self.audited(
                    contact,
                    contact.customer_id,
                    {"name": (None, contact.name), "is_primary": (None, True)},
                    AuditAction.CREATE,
                )
        return changed_customers
