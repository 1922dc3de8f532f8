"""Deprecated: ``/api/v1/interactions`` is the old name of ``/api/v1/followups`` (followups.py),
kept so scripts written against it keep working; it is marked deprecated in the OpenAPI schema."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from retain.api import schemas as s
from retain.api.v1.common import Paging, SearchText
from retain.api.v1.followups import followup_create, followups_visible

router = Router(tags=["interactions"])


@router.get("", response={200: list[s.FollowUpOut], **s.ERRORS}, deprecated=True)
@paginate(Paging)
def interactions_list(
    request: HttpRequest,
    customer: SearchText = "",
    kind: SearchText = "",
    since: s.Day | None = None,
    until: s.Day | None = None,
) -> Any:
    """Deprecated: use ``GET /api/v1/followups``."""
    return followups_visible(request, customer=customer, kind=kind, since=since, until=until)


@router.post("", response={201: s.FollowUpOut, **s.ERRORS}, deprecated=True)
def interactions_create(request: HttpRequest, payload: s.FollowUpIn) -> Any:
    """Deprecated: use ``POST /api/v1/followups``."""
    return followup_create(request, payload)
