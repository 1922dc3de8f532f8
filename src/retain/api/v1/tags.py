"""Tags: list."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from retain.accounts.access import require
from retain.api import schemas as s
from retain.api.v1.common import Paging, SearchText, user_of
from retain.tags.models import Tag

router = Router(tags=["tags"])


@router.get("", response={200: list[s.TagOut], **s.ERRORS})
@paginate(Paging)
def tags_list(request: HttpRequest, group: SearchText = "", kind: SearchText = "") -> Any:
    require(user_of(request), "tags.view_tag")
    qs = Tag.objects.select_related("group").order_by("group__name", "name")
    return qs.filter(**{k: v for k, v in {"group__name": group, "group__kind": kind}.items() if v})
