"""What every import kind shares: the Handler base class, the keyed upsert, and the registry
that maps an ImportKind to its handler.

A new kind: add its fields to ``imports/schema.py`` (ImportKind and the field list), write a
module in this package with a Handler subclass decorated ``@register(ImportKind.X)``, and
import that module in ``kinds/__init__.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from retain.accounts.access import import_customer_ids
from retain.audit.models import AuditAction
from retain.audit.services import Change, audit_changes_bulk
from retain.customers.models import Customer
from retain.imports.rows import ImportResult, Row
from retain.imports.schema import field_names

#: ImportKind value -> the handler class that checks and writes its rows.
HANDLERS: dict[str, type[Handler]] = {}

H = TypeVar("H", bound="type[Handler]")


def register(kind: str) -> Callable[[H], H]:
    """Class decorator: the handler of import ``kind`` (one per kind)."""

    def add(cls: H) -> H:
        if kind in HANDLERS and HANDLERS[kind] is not cls:
            raise ValueError(f"import kind {kind!r} has a handler already: {HANDLERS[kind]}")
        HANDLERS[kind] = cls
        return cls

    return add


def blank(value: Any) -> bool:
    return value is None or value == ""


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
        # Changed and created records of the batch being written, audited together.
        self._audit: dict[str, list[Change]] = {AuditAction.UPDATE: [], AuditAction.CREATE: []}

    def audited(
        self,
        obj: models.Model,
        customer_id: int | None,
        changed: dict[str, tuple[Any, Any]],
        action: str = AuditAction.UPDATE,
    ) -> None:
        """Remember one changed (or created) record for the batch's audit (``audit_flush``)."""
        self._audit[action].append((obj, customer_id, changed))

    def audit_flush(self) -> int:
        """Audit the records the last ``write`` changed: one audit row each, written in bulk
        (a few INSERTs per batch, not one per row). Returns the rows written."""
        written = 0
        for action, items in self._audit.items():
            if items:
                written += audit_changes_bulk(
                    actor=self.actor, changes=items, action=action, note={"via": "import"}
                )
                items.clear()
        return written

    def file_key(self, row: Row) -> tuple[Any, ...] | None:
        if not self.file_key_fields:
            return None
        key = tuple(row.values.get(f) for f in self.file_key_fields)
        return None if any(blank(k) for k in key) else key

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


def changes(instance: models.Model, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{field: (old, new)} for the given non-blank values that differ from the instance."""
    changed = {}
    for name, new in values.items():
        if blank(new):
            continue  # an empty cell never erases what the database knows
        old = getattr(instance, name)
        if old != new:
            changed[name] = (old, new)
    return changed


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

    def changed(self, updated: list[Any]) -> None:
        """After the changed rows of a batch are updated."""

    def write(self, rows: list[Row], result: ImportResult) -> None:
        existing = self.existing(rows)
        new: list[models.Model] = []
        updated: list[models.Model] = []
        update_fields: set[str] = set()
        for row in rows:
            values = self.model_values(row)
            current = existing.get(self.db_key(values))
            if current is None:
                data = {k: v for k, v in values.items() if not blank(v)}
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
            changed = changes(current, values)
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
                self.audited(current, getattr(current, "customer_id", None), changed)
        manager = self.model._default_manager
        manager.bulk_create(new, batch_size=1000)
        self.created(new)
        if updated:
            manager.bulk_update(updated, sorted(update_fields), batch_size=1000)
            self.changed(updated)
        result.created += len(new)
        result.updated += len(updated)
