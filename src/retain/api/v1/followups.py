"""Follow-ups (跟进记录: a logged contact with a customer, with its next step): list and log.
``/api/v1/interactions`` is the deprecated old name of the same endpoints (interactions.py)."""

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from retain.accounts.access import require, visible_to
from retain.api import schemas as s
from retain.api.v1.common import Paging, SearchText, by_day, customer_of, user_of
from retain.interactions.models import FollowUp
from retain.interactions.services import followup_log

router = Router(tags=["follow-ups"])


def followups_visible(
    request: HttpRequest, *, customer: str, kind: str, since: dt.date | None, until: dt.date | None
) -> QuerySet[FollowUp]:
    user = user_of(request)
    require(user, "interactions.view_followup")
    qs = visible_to(user, FollowUp.objects.select_related("customer", "owner"))
    qs = qs.filter(**{k: v for k, v in {"customer__code": customer, "kind": kind}.items() if v})
    return by_day(qs, "occurred_at", since, until).order_by("-occurred_at", "id")  # type: ignore[no-any-return]


def followup_create(request: HttpRequest, payload: s.FollowUpIn) -> Any:
    data = payload.dict()
    customer = customer_of(request, data.pop("customer"))
    return Status(
        201, followup_log(customer=customer, actor=user_of(request), request=request, **data)
    )


@router.get("", response={200: list[s.FollowUpOut], **s.ERRORS})
@paginate(Paging)
def followups_list(
    request: HttpRequest,
    customer: SearchText = "",
    kind: SearchText = "",
    since: s.Day | None = None,
    until: s.Day | None = None,
) -> Any:
    return followups_visible(request, customer=customer, kind=kind, since=since, until=until)


@router.post("", response={201: s.FollowUpOut, **s.ERRORS})
def followups_create(request: HttpRequest, payload: s.FollowUpIn) -> Any:
    return followup_create(request, payload)
