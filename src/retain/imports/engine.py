"""Read, check and write one import file: the pipeline every door (CLI, web, tests) uses.

A file is read as a stream in batches. Each row is parsed field by field (``values``),
checked against the database in bulk per batch (customer codes, users), and written in
bulk. The whole file is one transaction: in all-or-nothing mode a single bad row rolls
everything back; in valid-rows mode the bad rows go to a reject file (the original
cells plus an error column) and the rest is committed. Upserts key on the customer code,
the order number, or a natural key per kind, so importing a file twice changes nothing
the second time; every update of an existing row is audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gc
import hashlib
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import (
    import_customer_ids,
    import_customer_owner,
    import_may_change,
    import_may_create,
    import_refused,
    interaction_may_record_for,
)
from retain.accounts.models import User
from retain.audit.services import audit_event
from retain.complaints.models import Complaint
from retain.core.bulk import BulkWriter
from retain.core.exports import safe_row
from retain.customers.models import Contact, Customer, CustomerKind, CustomerSource
from retain.feedback.models import Survey, SurveyResponse
from retain.imports import values as V
from retain.imports.reading import MAX_CELL, ImportFileError, open_table
from retain.imports.schema import Field, ImportKind, Parse, choice_key, field_names, mapping_guess
from retain.interactions.models import Interaction
from retain.interactions.services import followup_check, followup_next_step_save
from retain.orders.models import Order

BATCH = 5000
#: Row errors kept in the result (the reject file holds them all).
ERRORS_KEPT = 1000
ERROR_COLUMN = "错误原因 / Errors"

Progress = Callable[[int, int | None], None]  # (rows read, rows expected)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = _("row %(row)s") % {"row": self.row}
        if self.column:
            where += f", {self.column}"
        return f"{where}: {self.message}"


@dataclass
class ImportResult:
    kind: str
    file: str
    encoding: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    committed: bool = False
    #: Rows without a customer code matched to a customer by name and phone or email.
    matched_by_name: int = 0
    errors: list[RowError] = field(default_factory=list)
    reject_path: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.committed


@dataclass
class Row:
    number: int
    cells: list[Any]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))


class _Rollback(Exception):
    pass


# --------------------------------------------------------------------------- parsing


def _too_long(raw: Any) -> None:
    if isinstance(raw, str) and len(raw) > MAX_CELL:
        raise V.CellError(
            _("the cell holds %(n)s characters; the most a cell may hold is %(max)s")
            % {"n": f"{len(raw):,}", "max": f"{MAX_CELL:,}"}
        )


#: Fields that identify a row: normalised (NFKC, no invisible characters) before matching.
KEY_FIELDS = frozenset({"code", "customer_code", "number"})


def cell_parser(f: Field, tz: dt.tzinfo) -> Callable[[Any], Any]:
    """A function that reads one cell of field ``f`` (chosen once per column, not per cell:
    the million-row import spends most of its time here). Every cell passes
    ``values.prepare`` first (NUL, reject-file apostrophe, invisible characters,
    placeholders such as 无 or N/A)."""
    parse = _cell_parser(f, tz)
    prepare = V.prepare
    if f.name in KEY_FIELDS:
        normalise = V.normalise_code

        def key(raw: Any) -> Any:
            value = parse(prepare(raw))
            return normalise(value) if isinstance(value, str) else value

        return key

    def prepared(raw: Any) -> Any:
        return parse(prepare(raw))

    return prepared


def _cell_parser(f: Field, tz: dt.tzinfo) -> Callable[[Any], Any]:
    kind = str(f.parse)
    if kind == Parse.TEXT:
        limit = f.max_length

        def text(raw: Any) -> str:
            _too_long(raw)
            value = raw.strip() if isinstance(raw, str) else V.clean_text(raw)
            if limit and len(value) > limit:
                raise V.CellError(
                    _("%(n)s characters is too long; the most is %(max)s")
                    % {"n": f"{len(value):,}", "max": f"{limit:,}"}
                )
            return value

        return text
    if kind == Parse.DATETIME:

        def moment(raw: Any) -> dt.datetime | None:
            _too_long(raw)
            value = V.parse_datetime_parts(raw)
            return None if value is None else value.replace(tzinfo=tz)

        return moment
    if kind == Parse.CHOICE:
        values = set(f.choices.values())
        known: dict[Any, str] = {"": "", None: ""}

        def choice(raw: Any) -> str:
            if raw in known:
                return known[raw]
            _too_long(raw)
            text = V.clean_text(raw)
            key = choice_key(text)
            if key in values or not text:
                found = key
            elif key in f.choices:
                found = f.choices[key]
            else:
                allowed = "、".join(dict.fromkeys([*f.choices, *sorted(values)]))
                raise V.CellError(
                    _("%(value)s is not one of: %(allowed)s")
                    % {"value": text[:40], "allowed": allowed}
                )
            if len(known) < 10_000:
                known[raw] = found
            return found

        return choice
    simple: dict[str, Callable[[Any], Any]] = {
        Parse.DATE: V.parse_date,
        Parse.AMOUNT: V.parse_amount,
        Parse.PHONE: V.parse_phone,
        Parse.EMAIL: V.parse_email,
        Parse.BOOL: V.parse_bool,
        Parse.NPS: lambda raw: V.parse_int(raw, low=0, high=10),
        Parse.SATISFACTION: lambda raw: V.parse_int(raw, low=1, high=5),
    }
    parse = simple[kind]

    def checked(raw: Any) -> Any:
        _too_long(raw)
        return parse(raw)

    return checked


def _blank(value: Any) -> bool:
    return value is None or value == ""


# --------------------------------------------------------------------------- kinds


class Handler:
    """How one kind of row is checked against the database and written."""

    model: type[models.Model]
    #: The key that must be unique within one file (and finds the existing row).
    file_key_fields: tuple[str, ...] = ()

    def __init__(self, *, actor: Any, mapped: set[str], tz: dt.tzinfo, now: dt.datetime) -> None:
        self.actor = actor
        self.mapped = mapped
        self.tz = tz
        self.now = now
        self.customer_ids: dict[str, int] = {}
        # The import runs as ``actor`` (None: a system import, no rule applies).
        self.may_change = True

    def file_key(self, row: Row) -> tuple[Any, ...] | None:
        if not self.file_key_fields:
            return None
        key = tuple(row.values.get(f) for f in self.file_key_fields)
        return None if any(_blank(k) for k in key) else key

    def label(self, name: str) -> str:
        """The column a field came from, as the user named it."""
        if name in self.headers:
            return self.headers[name]
        known = field_names(self.kind)
        return known[name].zh if name in known else name

    kind: str = ""
    headers: dict[str, str] = {}

    def resolve_customers(self, rows: list[Row], column: str = "customer_code") -> None:
        codes = {r.values[column] for r in rows if r.values.get(column)}
        missing = codes - self.customer_ids.keys()
        if missing:
            found = dict(Customer.objects.filter(code__in=missing).values_list("code", "id"))
            # A customer the user may not see is answered like one that does not exist.
            allowed = import_customer_ids(self.actor, found.values())
            self.customer_ids.update({c: i for c, i in found.items() if i in allowed})
        for row in rows:
            code = row.values.get(column)
            if code and code not in self.customer_ids:
                row.fail(self.label(column), not_found(code))

    def resolve(self, rows: list[Row]) -> None:
        self.resolve_customers(rows)

    def write(self, rows: list[Row], result: ImportResult) -> None:
        raise NotImplementedError


def not_found(code: str) -> str:
    """The one answer for a customer that does not exist or that the user may not see."""
    return _("customer %(code)s: not found or not yours") % {"code": code}


def _changes(instance: models.Model, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{field: (old, new)} for the given non-blank values that differ from the instance."""
    changed = {}
    for name, new in values.items():
        if _blank(new):
            continue  # an empty cell never erases what the database knows
        old = getattr(instance, name)
        if old != new:
            changed[name] = (old, new)
    return changed


def _audit_update(actor: Any, obj: models.Model, customer_id: int | None, changed: dict) -> None:

    customer = Customer(pk=customer_id) if customer_id else None
    audit_event(
        actor=actor,
        action="update",
        obj=obj,
        customer=customer,
        before={k: old for k, (old, _new) in changed.items()} | {"via": "import"},
        after={k: new for k, (_old, new) in changed.items()} | {"via": "import"},
    )


class KeyedHandler(Handler):
    """Upsert by a natural key with the ORM: full_clean per new row, bulk create/update."""

    #: Model fields written from ``row.values`` (after resolve()).
    fields: tuple[str, ...] = ()
    exclude_clean: tuple[str, ...] = ("customer",)

    def db_key(self, values: dict[str, Any]) -> Hashable:
        raise NotImplementedError

    def existing(self, rows: list[Row]) -> dict[Hashable, models.Model]:
        raise NotImplementedError

    def model_values(self, row: Row) -> dict[str, Any]:
        return {f: row.values.get(f) for f in self.fields if f in row.values}

    def defaults(self, row: Row) -> dict[str, Any]:
        return {}

    def created(self, new: list[Any]) -> None:
        """After the new rows of a batch are inserted (with their ids)."""

    def write(self, rows: list[Row], result: ImportResult) -> None:
        existing = self.existing(rows)
        new: list[models.Model] = []
        updated: list[models.Model] = []
        update_fields: set[str] = set()
        for row in rows:
            values = self.model_values(row)
            current = existing.get(self.db_key(values))
            if current is None:
                data = {k: v for k, v in values.items() if not _blank(v)}
                obj = self.model(**(self.defaults(row) | data))
                try:
                    obj.full_clean(
                        exclude=list(self.exclude_clean),
                        validate_unique=False,
                        validate_constraints=False,
                    )
                except ValidationError as exc:
                    for name, messages in exc.message_dict.items():
                        row.fail(self.label(name), " ".join(messages))
                    continue
                new.append(obj)
                existing[self.db_key(values)] = obj
                continue
            changed = _changes(current, values)
            if not changed:
                result.unchanged += 1
                continue
            if not self.may_change:
                row.fail(
                    "",
                    _("this row changes a record that exists already; your role may not change it"),
                )
                continue
            for name, (_old, value) in changed.items():
                setattr(current, name, value)
            try:
                current.full_clean(
                    exclude=list(self.exclude_clean),
                    validate_unique=False,
                    validate_constraints=False,
                )
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    row.fail(self.label(name), " ".join(messages))
                continue
            update_fields.update(changed)
            if current.pk is not None and current not in updated:
                updated.append(current)
                _audit_update(self.actor, current, getattr(current, "customer_id", None), changed)
        manager = self.model._default_manager
        manager.bulk_create(new, batch_size=1000)
        self.created(new)
        if updated:
            manager.bulk_update(updated, sorted(update_fields), batch_size=1000)
        result.created += len(new)
        result.updated += len(updated)


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
                    code=row.values["code"], **{k: v for k, v in values.items() if not _blank(v)}
                )
                customer.kind = kind
                customer.owner = owner
                if self._clean(row, customer):
                    new.append((row, customer))
                continue
            changed = _changes(customer, values)
            if changed:
                for name, (_old, value) in changed.items():
                    setattr(customer, name, value)
                if not self._clean(row, customer):
                    continue
                update_fields.update(changed)
                customer.updated_at = self.now
                updates.append(customer)
                _audit_update(self.actor, customer, customer.pk, changed)
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
        demote: list[int] = []
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
                demote.extend(c.pk for c in mine if c.is_primary)
                contact = Contact(customer=customer, name=name, is_primary=True, **extra)
                try:
                    contact.full_clean(
                        exclude=["customer"], validate_unique=False, validate_constraints=False
                    )
                except ValidationError as exc:
                    for field_name, messages in exc.message_dict.items():
                        row.fail(self.label(field_name), " ".join(messages))
                    continue
                create.append(contact)
                current.setdefault(customer.pk, []).append(contact)
                if customer.pk not in new_ids:
                    changed_customers.add(customer.pk)
                continue
            changed = _changes(same, extra | {"is_primary": True})
            if changed and same.pk is not None:
                if "is_primary" in changed:
                    demote.extend(c.pk for c in mine if c.is_primary and c.pk != same.pk)
                for k, (_old, new) in changed.items():
                    setattr(same, k, new)
                updates.append(same)
                changed_customers.add(customer.pk)
                _audit_update(self.actor, same, customer.pk, changed)
        if demote:
            Contact.objects.filter(pk__in=demote).update(is_primary=False)
        if updates:
            Contact.objects.bulk_update(updates, ["phone", "email", "is_primary"], batch_size=1000)
        Contact.objects.bulk_create(create, batch_size=1000)
        for contact in create:
            if contact.customer_id not in new_ids:
                audit_event(
                    actor=self.actor,
                    action="create",
                    obj=contact,
                    customer=contact.customer,
                    after={"name": contact.name, "is_primary": True, "via": "import"},
                )
        return changed_customers


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

        # One primary contact per customer: a row that makes a contact primary demotes
        # the others of that customer first.
        primary = {
            self.customer_ids[r.values["customer_code"]]: r.values["name"]
            for r in rows
            if r.values.get("is_primary")
        }
        for customer_id, name in primary.items():
            Contact.objects.filter(customer_id=customer_id, is_primary=True).exclude(
                name=name
            ).update(is_primary=False)
        super().write(rows, result)


class OrderHandler(Handler):
    """Orders are the big file: inserted with COPY / executemany, updated in bulk."""

    model = Order

    file_key_fields = ("number",)
    compared = (
        "customer_id",
        "ordered_at",
        "amount",
        "currency",
        "channel",
        "payment_method",
        "status",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.writer = BulkWriter()

    def resolve(self, rows: list[Row]) -> None:
        self.resolve_customers(rows)
        for row in rows:
            v = row.values
            if not v.get("channel"):
                if "channel" in self.mapped:
                    row.fail(self.label("channel"), _("this field is required"))
                v["channel"] = v.get("channel") or "offline"
            v["status"] = v.get("status") or "paid"
            v["currency"] = (v.get("currency") or "CNY").upper()
            v["payment_method"] = v.get("payment_method") or ""

    def write(self, rows: list[Row], result: ImportResult) -> None:

        numbers = [r.values["number"] for r in rows]
        found = Order.objects.values_list("number", "id", *self.compared)
        if self.writer.postgres:
            # One array parameter instead of 5,000 placeholders: cheaper to bind and parse.
            found = found.extra(where=["number = ANY(%s)"], params=[numbers])
        else:
            found = found.filter(number__in=numbers)
        existing = {o[0]: o for o in found}
        allowed = import_customer_ids(self.actor, {o[2] for o in existing.values()})
        inserts: list[tuple[Any, ...]] = []
        updates: list[Order] = []
        changed_fields: set[str] = set()
        for row in rows:
            v = row.values
            v["customer_id"] = self.customer_ids[v["customer_code"]]
            old = existing.get(v["number"])
            if old is not None and old[2] not in allowed:
                # Another customer's order, one this user may not see: not theirs to move.
                row.fail(
                    self.label("number"),
                    _("order %(number)s: not found or not yours") % {"number": v["number"]},
                )
                continue
            if old is None:
                inserts.append(self._db_row(v))
                continue
            before = dict(zip(self.compared, old[2:], strict=True))
            changed = {k: (before[k], v[k]) for k in self.compared if before[k] != v[k]}
            if not changed:
                result.unchanged += 1
                continue
            order = Order(pk=old[1], number=v["number"], **{k: v[k] for k in self.compared})
            updates.append(order)
            changed_fields.update(changed)
            _audit_update(self.actor, order, v["customer_id"], changed)
        if inserts:
            self.writer.insert(Order, ["number", *self.compared], inserts)
        if updates:
            Order.objects.bulk_update(updates, sorted(changed_fields), batch_size=1000)
        result.created += len(inserts)
        result.updated += len(updates)

    def _db_row(self, v: dict[str, Any]) -> tuple[Any, ...]:
        when = v["ordered_at"]
        amount = v["amount"]
        if not self.writer.postgres:
            when = when.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
            amount = str(amount)
        return (
            v["number"],
            v["customer_id"],
            when,
            amount,
            v["currency"],
            v["channel"],
            v["payment_method"],
            v["status"],
        )


class FollowupHandler(KeyedHandler):
    model = Interaction
    file_key_fields = ("customer_code", "occurred_at", "kind", "content")
    fields = (
        "customer_id",
        "contact_id",
        "kind",
        "occurred_at",
        "content",
        "feedback",
        "outcome",
        "next_step",
        "next_step_on",
        "owner_id",
    )
    exclude_clean = ("customer", "contact", "owner")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.users: dict[str, int] | None = None

    def resolve(self, rows: list[Row]) -> None:

        self.resolve_customers(rows)
        if self.users is None:
            self.users = {}
            for user in User.objects.filter(is_active=True):
                for label in (
                    user.get_full_name(),
                    user.last_name + user.first_name,
                    user.username,
                ):
                    if label.strip():
                        self.users.setdefault(label.strip(), user.pk)
        for row in rows:
            owner = row.values.get("owner")
            if owner:
                if owner not in self.users:
                    row.fail(self.label("owner"), _("no user is called %(name)s") % {"name": owner})
                elif not interaction_may_record_for(self.actor, self.users[owner]):
                    row.fail(
                        self.label("owner"),
                        _("you may log follow-ups only as yourself, not as %(name)s")
                        % {"name": owner},
                    )
                else:
                    row.values["owner_id"] = self.users[owner]
            elif self.actor is not None:
                row.values["owner_id"] = self.actor.pk
            # The same date rules as every other door (interactions.services).
            try:
                followup_check(
                    occurred_at=row.values.get("occurred_at"),
                    next_step_on=row.values.get("next_step_on"),
                    now=self.now,
                )
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    row.fail(self.label(name), " ".join(messages))

    def created(self, new: list[Any]) -> None:
        # A next-step date becomes a follow-up task, as when the follow-up is logged by hand.
        followup_next_step_save(interactions=new, now=self.now)

    def write(self, rows: list[Row], result: ImportResult) -> None:

        wanted = {
            (self.customer_ids[r.values["customer_code"]], r.values["contact"])
            for r in rows
            if r.values.get("contact")
        }
        contacts: dict[tuple[int, str], int] = {}
        if wanted:
            ids = {c for c, _n in wanted}
            for c in Contact.objects.filter(customer_id__in=ids).values_list(
                "customer_id", "name", "id"
            ):
                contacts[(c[0], c[1])] = c[2]
            missing = [Contact(customer_id=c, name=n) for c, n in sorted(wanted - contacts.keys())]
            for contact in Contact.objects.bulk_create(missing):
                contacts[(contact.customer_id, contact.name)] = contact.pk
        for row in rows:
            if row.values.get("contact"):
                row.values["contact_id"] = contacts[
                    (self.customer_ids[row.values["customer_code"]], row.values["contact"])
                ]
        super().write(rows, result)

    def model_values(self, row: Row) -> dict[str, Any]:
        values = super().model_values(row)
        values["customer_id"] = self.customer_ids[row.values["customer_code"]]
        return values

    def defaults(self, row: Row) -> dict[str, Any]:
        return {"logged_at": self.now}

    def db_key(self, values: dict[str, Any]) -> Hashable:
        return (values["customer_id"], values["occurred_at"], values["kind"], values["content"])

    def existing(self, rows: list[Row]) -> dict[Hashable, models.Model]:

        ids = {self.customer_ids[r.values["customer_code"]] for r in rows}
        times = {r.values["occurred_at"] for r in rows}
        found = Interaction.objects.filter(customer_id__in=ids, occurred_at__in=times)
        return {(i.customer_id, i.occurred_at, i.kind, i.content): i for i in found}


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
                row.values["channel"] = "phone"

    def db_key(self, values: dict[str, Any]) -> Hashable:
        return (values["customer_id"], values["opened_at"], values["category"])

    def existing(self, rows: list[Row]) -> dict[Hashable, models.Model]:

        ids = {self.customer_ids[r.values["customer_code"]] for r in rows}
        times = {r.values["opened_at"] for r in rows}
        found = Complaint.objects.filter(customer_id__in=ids, opened_at__in=times)
        return {(c.customer_id, c.opened_at, c.category): c for c in found}


class SurveyHandler(KeyedHandler):
    model = SurveyResponse
    file_key_fields = ("customer_code", "survey", "sent_at")
    fields = (
        "customer_id",
        "survey_id",
        "sent_at",
        "answered_at",
        "nps",
        "satisfaction",
        "comment",
    )
    exclude_clean = ("customer", "survey")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.surveys: dict[str, int] = {}

    def resolve(self, rows: list[Row]) -> None:

        self.resolve_customers(rows)
        for row in rows:
            name = row.values.get("survey")
            if name and name not in self.surveys:
                if not Survey.objects.filter(name=name).exists() and not import_may_create(
                    self.actor, "survey"
                ):
                    row.fail(
                        self.label("survey"),
                        _("no survey is called %(name)s; an admin can add it") % {"name": name},
                    )
                    continue
                self.surveys[name] = Survey.objects.get_or_create(name=name)[0].pk
            if name:
                row.values["survey_id"] = self.surveys[name]

    def model_values(self, row: Row) -> dict[str, Any]:
        values = super().model_values(row)
        values["customer_id"] = self.customer_ids[row.values["customer_code"]]
        return values

    def db_key(self, values: dict[str, Any]) -> Hashable:
        return (values["customer_id"], values["survey_id"], values["sent_at"])

    def existing(self, rows: list[Row]) -> dict[Hashable, models.Model]:

        ids = {self.customer_ids[r.values["customer_code"]] for r in rows}
        times = {r.values["sent_at"] for r in rows}
        found = SurveyResponse.objects.filter(customer_id__in=ids, sent_at__in=times)
        return {(s.customer_id, s.survey_id, s.sent_at): s for s in found}


def _handler_class(kind: str) -> type[Handler]:
    handlers: dict[str, type[Handler]] = {
        ImportKind.CUSTOMERS: CustomerHandler,
        ImportKind.CONTACTS: ContactHandler,
        ImportKind.ORDERS: OrderHandler,
        ImportKind.FOLLOWUPS: FollowupHandler,
        ImportKind.COMPLAINTS: ComplaintHandler,
        ImportKind.SURVEYS: SurveyHandler,
    }
    return handlers[kind]


# --------------------------------------------------------------------------- the pipeline


def mapping_check(kind: str, headers: list[str], mapping: dict[str, str], *, name: str) -> None:
    """Raise ImportFileError when the mapping names unknown columns or fields, or leaves a
    required field without a column."""
    known = field_names(kind)
    for header, target in mapping.items():
        if header not in headers:
            raise ImportFileError(
                _("%(file)s has no column %(column)s (named in the mapping).")
                % {"file": name, "column": header}
            )
        if target and target not in known:
            raise ImportFileError(
                _("%(field)s is not a field of a %(kind)s import.")
                % {"field": target, "kind": ImportKind(kind).label}
            )
    targets = [t for t in mapping.values() if t]
    doubled = {t for t in targets if targets.count(t) > 1}
    if doubled:
        raise ImportFileError(
            _("%(file)s: more than one column is mapped to %(fields)s.")
            % {"file": name, "fields": ", ".join(sorted(doubled))}
        )
    missing = [f for f in known.values() if f.required and f.name not in targets]
    if missing:
        raise ImportFileError(
            _(
                "%(file)s has no column for the required field(s): %(fields)s. Found columns: %(headers)s."
            )
            % {
                "file": name,
                "fields": ", ".join(f"{f.zh} / {f.en}" for f in missing),
                "headers": ", ".join(h for h in headers if h) or "-",
            }
        )


def access_check(kind: str, mapping: dict[str, str], *, actor: Any, name: str) -> None:
    """Refuse the whole file, before anything is read or written, when ``actor``'s role
    may not import ``kind`` or write one of the mapped columns (docs/access.md)."""
    refused = import_refused(actor, kind, {t for t in mapping.values() if t})
    if refused == ["*"]:
        raise ImportFileError(
            _("%(file)s: your role may not import %(kind)s. Nothing was imported.")
            % {"file": name, "kind": str(ImportKind(kind).label).lower()}
        )
    if refused:
        columns = [h for h, t in mapping.items() if t in refused]
        raise ImportFileError(
            _(
                "%(file)s: your role may not write the column(s) %(columns)s; leave them out "
                "or unmapped. Nothing was imported."
            )
            % {"file": name, "columns": ", ".join(columns)}
        )


Column = tuple[int, str, Field, Callable[[Any], Any]]


def _row_parse(row: Row, columns: list[Column], width: int) -> None:
    cells = row.cells
    if len(cells) > width and any(
        c not in (None, "") and not (isinstance(c, str) and not c.strip()) for c in cells[width:]
    ):
        row.fail(
            "",
            _("the row has %(n)s values but the header only %(m)s columns")
            % {"n": len(cells), "m": width},
        )
    values = row.values
    for index, header, f, parse in columns:
        raw = cells[index] if index < len(cells) else None
        try:
            value = parse(raw)
        except V.CellError as exc:
            row.fail(header, str(exc))
            continue
        if f.required and (value is None or value == ""):
            row.fail(header, _("this field is required"))
        values[f.name] = value


def import_file(
    *,
    path: Path,
    kind: str,
    mapping: dict[str, str] | None = None,
    valid_rows: bool = False,
    actor: Any = None,
    name: str | None = None,
    reject_path: Path | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> ImportResult:
    """Import one file of ``kind``. Raises ImportFileError when the file as a whole is
    unusable (encoding, empty, header only, columns); row problems end in ``result.errors``
    and, when ``reject_path`` is given, in a reject file.

    ``dry_run`` checks everything against the database and rolls back (the preview).
    """
    import time

    started = time.perf_counter()
    name = name or path.name
    if kind not in ImportKind.values:
        raise ImportFileError(_("%(kind)s is not a kind of import.") % {"kind": kind})
    table = open_table(path, name=name, encoding=encoding, sheet=sheet)
    if table.doubt:
        table.close()
        raise ImportFileError(
            table.doubt
            + " "
            + _("Choose the encoding in the wizard, or give --encoding (gbk or latin-1).")
        )
    rejects = RejectSink(reject_path, table.headers)
    try:
        result = ImportResult(kind=kind, file=name, encoding=table.encoding)
        if mapping is None:
            mapping = mapping_guess(kind, table.headers)
        mapping = {h: t for h, t in mapping.items() if t}
        mapping_check(kind, table.headers, mapping, name=name)
        access_check(kind, mapping, actor=actor, name=name)
        result.mapping = dict(mapping)
        fields = field_names(kind)
        tz = timezone.get_current_timezone()
        columns = [
            (table.headers.index(h), h, fields[t], cell_parser(fields[t], tz))
            for h, t in mapping.items()
        ]
        width = len(table.headers)
        now = timezone.now()

        def make_handler() -> Handler:
            handler = _handler_class(kind)(
                actor=actor, mapped=set(mapping.values()), tz=tz, now=now
            )
            handler.kind = kind
            handler.may_change = import_may_change(actor, kind)
            handler.headers = {t: h for h, t in mapping.items()}
            return handler

        handler = make_handler()
        seen: dict[tuple[Any, ...], int] = {}
        key_label = ", ".join(handler.label(f) for f in handler.file_key_fields)

        def parsed() -> Iterator[list[Row]]:
            """The file's rows in parsed batches: the cells' own errors and keys twice in
            the file are found here, without the database."""
            batch: list[Row] = []
            for number, cells in table.rows:
                batch.append(Row(number, cells))
                if len(batch) >= BATCH:
                    _parse(handler, batch, columns, width, seen, key_label, result)
                    yield batch
                    batch = []
                    if progress:
                        progress(result.rows, table.total_hint)
                if limit is not None and result.rows + len(batch) >= limit:
                    break
            if batch:
                _parse(handler, batch, columns, width, seen, key_label, result)
                yield batch
            if result.rows == 0:
                raise ImportFileError(
                    _("%(file)s has a header but no rows to import.") % {"file": name}
                )

        apply = functools.partial(
            _apply,
            result=result,
            rejects=rejects,
            valid_rows=valid_rows,
            dry_run=dry_run,
            actor=actor,
            name=name,
            kind=kind,
        )
        if connection.vendor != "sqlite":
            # PostgreSQL locks rows, not the database: read, check and write as one stream.
            apply(handler, parsed())
        else:
            # SQLite has one writer at a time. 1. Stage: read and parse the whole file with
            # no transaction open (no lock held). 2. Apply: check against the database and
            # write in one transaction that holds the write lock only that long, retried
            # while another writer holds it.
            with _Staged() as staged:
                for batch in parsed():
                    staged.add(batch)
                for attempt in range(1, LOCK_TRIES + 1):
                    result.created = result.updated = result.unchanged = 0
                    result.matched_by_name = 0
                    result.errors = []
                    rejects.reset()
                    try:
                        apply(make_handler(), staged)
                    except OperationalError as exc:
                        if not _locked(exc):
                            raise
                        if attempt == LOCK_TRIES:
                            raise ImportFileError(
                                _(
                                    "%(file)s: the database stayed busy with another change; "
                                    "nothing was imported. Try again in a minute."
                                )
                                % {"file": name}
                            ) from exc
                        time.sleep(LOCK_PAUSE * attempt)
                    else:
                        break
        if progress:
            progress(result.rows, result.rows)
        if rejects.count and reject_path is not None:
            result.reject_path = reject_path
    except ImportFileError:
        # The file as a whole failed: a half-written reject file would only mislead.
        rejects.close()
        if rejects.count and reject_path is not None:
            reject_path.unlink(missing_ok=True)
        raise
    finally:
        rejects.close()
        table.close()
    result.seconds = time.perf_counter() - started
    return result


#: Tries to take SQLite's write lock for the apply step (each waits the database's busy
#: timeout, 20 s), with a growing pause between them; then the import says the database is busy.
LOCK_TRIES = 3
LOCK_PAUSE = 2.0


def _locked(exc: Exception) -> bool:
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


#: Parsed rows kept in memory before the rest go to a temporary file (about 1.5 KB each).
STAGE_IN_MEMORY = 20_000


class _Staged:
    """Parsed batches of rows, read back for the apply step: the first ``STAGE_IN_MEMORY``
    rows in memory, the rest pickled to a temporary file, so a million-row file is never
    held in memory. Rows are kept as plain tuples and rebuilt for each attempt, so a retried
    apply starts from the rows as parsed."""

    def __enter__(self) -> _Staged:
        self._memory: list[list[tuple[Any, ...]]] = []
        self._kept = 0
        self._fh: Any = None
        self._sizes: list[int] = []
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()

    def add(self, batch: list[Row]) -> None:
        import pickle

        items = [(r.number, r.cells, r.values, r.errors) for r in batch]
        if self._fh is None and self._kept + len(items) <= STAGE_IN_MEMORY:
            self._memory.append(items)
            self._kept += len(items)
            return
        if self._fh is None:
            import tempfile

            self._fh = tempfile.TemporaryFile(prefix="retain-import-")  # noqa: SIM115 - closed on exit
        data = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
        self._fh.write(data)
        self._sizes.append(len(data))

    def __iter__(self) -> Iterator[list[Row]]:
        import pickle

        for items in self._memory:
            yield [Row(n, c, dict(v), list(e)) for n, c, v, e in items]
        if self._fh is not None:
            self._fh.seek(0)
            for size in self._sizes:
                # Unpickling makes many objects at once: without this the cyclic garbage
                # collector runs over and over and doubles the time.
                gc.disable()
                try:
                    items = pickle.loads(self._fh.read(size))
                finally:
                    gc.enable()
                yield [Row(n, c, v, e) for n, c, v, e in items]
            self._fh.seek(0, 2)


def _parse(
    handler: Handler,
    batch: list[Row],
    columns: list[Column],
    width: int,
    seen: dict[tuple[Any, ...], int],
    key_label: str,
    result: ImportResult,
) -> None:
    result.rows += len(batch)
    for row in batch:
        _row_parse(row, columns, width)
        if row.errors:
            continue
        key = handler.file_key(row)
        if key is not None:
            first = seen.setdefault(key, row.number)
            if first != row.number:
                row.fail(
                    key_label,
                    _("%(value)s appears more than once in this file (first on row %(first)s)")
                    % {"value": " / ".join(str(k) for k in key), "first": first},
                )


def _apply(
    handler: Handler,
    batches: Iterable[list[Row]],
    *,
    result: ImportResult,
    rejects: RejectSink,
    valid_rows: bool,
    dry_run: bool,
    actor: Any,
    name: str,
    kind: str,
) -> None:
    try:
        with transaction.atomic():
            for batch in batches:
                _batch(handler, batch, result, rejects, valid_rows)
            result.rejected = rejects.count
            if dry_run or (rejects and not valid_rows):
                raise _Rollback
            if result.created or result.updated:
                audit_event(
                    actor=actor,
                    action="import",
                    after={
                        "file": name,
                        "kind": kind,
                        "rows": result.rows,
                        "created": result.created,
                        "updated": result.updated,
                        "rejected": result.rejected,
                        # Who the rules were those of: a user, or nobody (the system).
                        "run_as": actor.get_username() if actor is not None else "system",
                    },
                )
            result.committed = True
    except _Rollback:
        if rejects and not valid_rows:
            # Nothing was written: nothing counts as created or updated.
            result.created = result.updated = result.unchanged = 0
    except IntegrityError as exc:
        # A rule only the database knows; the transaction is rolled back, nothing is kept.
        raise ImportFileError(
            _("%(file)s: the database refused the rows, nothing was imported (%(error)s).")
            % {"file": name, "error": str(exc).splitlines()[0][:200]}
        ) from exc


def _batch(
    handler: Handler,
    batch: list[Row],
    result: ImportResult,
    rejects: RejectSink,
    valid_rows: bool,
) -> None:
    good = [r for r in batch if not r.errors]
    handler.resolve(good)
    good = [r for r in good if not r.errors]
    # After the first bad row an all-or-nothing import only checks: the writes would be
    # rolled back anyway.
    if good and (valid_rows or (not rejects and all(not r.errors for r in batch))):
        handler.write(good, result)
    for row in batch:
        if row.errors:
            rejects.add(row)
            if len(result.errors) < ERRORS_KEPT:
                result.errors.extend(row.errors[: ERRORS_KEPT - len(result.errors)])


class RejectSink:
    """Rejected rows go straight to the reject file as they are found, so a file of a
    million bad rows is never held in memory: the cells as the user sent them plus a
    column that says what is wrong, UTF-8 CSV with a BOM, cells neutralised against CSV
    injection."""

    def __init__(self, path: Path | None, headers: list[str]) -> None:
        self.path = path
        self.headers = headers
        self.count = 0
        self._fh: Any = None
        self._writer: Any = None

    def __bool__(self) -> bool:
        return self.count > 0

    def reset(self) -> None:
        """Start again (the apply step is retried when the database was locked)."""
        self.close()
        self._writer = None
        self.count = 0

    def add(self, row: Row) -> None:
        self.count += 1
        if self.path is None:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(safe_row([*self.headers, ERROR_COLUMN]))
        width = len(self.headers)
        cells = ["" if c is None else _cell_text(c) for c in row.cells[:width]]
        cells += [""] * (width - len(cells))
        errors = "; ".join(
            (f"{e.column}: {e.message}" if e.column else e.message) for e in row.errors
        )
        line = _("row %(row)s") % {"row": row.number} + ": " + errors
        self._writer.writerow(safe_row([*cells, line]))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _cell_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(" ") if value.time() != dt.time.min else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, V.Uncached):
        return str(value)
    return value
