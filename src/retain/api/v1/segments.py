"""Segments and their members."""

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router
from ninja.pagination import paginate

from retain.accounts.access import customers_visible_to, require
from retain.api import schemas as s
from retain.api.v1.common import Id, Paging, user_of
from retain.playbooks.models import Segment
from retain.playbooks.selectors import segment_members

router = Router(tags=["segments"])


@router.get("", response={200: list[s.SegmentOut], **s.ERRORS})
@paginate(Paging)
def segments_list(request: HttpRequest) -> Any:
    require(user_of(request), "playbooks.view_segment")
    return Segment.objects.order_by("name")


@router.get("/{segment_id}/members", response={200: list[s.CustomerOut], **s.ERRORS})
@paginate(Paging)
def segments_members(request: HttpRequest, segment_id: Id) -> Any:
    """The customers the segment selects now, of those you may see."""
    user = user_of(request)
    require(user, "playbooks.view_segment")
    segment = get_object_or_404(Segment, pk=segment_id)
    members = segment_members(segment=segment).select_related("owner").order_by("code")
    return customers_visible_to(user, members)
