"""Survey answers: upsert by customer, survey and sending time."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from retain.accounts.access import import_may_create
from retain.imports.kinds.base import KeyedHandler, register
from retain.imports.rows import Row
from retain.imports.schema import ImportKind
from retain.surveys.models import Survey, SurveyResponse
from retain.surveys.services import answers_follow_up_open_bulk


@register(ImportKind.SURVEYS)
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

    def created(self, new: list[Any]) -> None:
        # An unhappy answer (a detractor's, a low satisfaction) opens its call-back task
        # now, as one entered by hand does.
        answers_follow_up_open_bulk(responses=new, now=self.now)

    def changed(self, updated: list[Any]) -> None:
        answers_follow_up_open_bulk(responses=updated, now=self.now)

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
