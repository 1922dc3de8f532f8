"""Follow-ups: upsert by customer, time, kind and content; a next-step date becomes a task."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from retain.accounts.access import followup_may_record_for
from retain.accounts.models import User
from retain.customers.models import Contact
from retain.imports.kinds.base import KeyedHandler, register
from retain.imports.rows import ImportResult, Row
from retain.imports.schema import ImportKind
from retain.interactions.models import FollowUp
from retain.interactions.services import followup_check, followup_next_step_save


@register(ImportKind.FOLLOWUPS)
class FollowupHandler(KeyedHandler):
    model = FollowUp
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
                elif not followup_may_record_for(self.actor, self.users[owner]):
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
        followup_next_step_save(followups=new, now=self.now)

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
        found = FollowUp.objects.filter(customer_id__in=ids, occurred_at__in=times)
        return {(i.customer_id, i.occurred_at, i.kind, i.content): i for i in found}
