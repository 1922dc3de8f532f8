"""Tasks (to-dos): list."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from retain.accounts.access import require, visible_to
from retain.api import schemas as s
from retain.api.v1.common import Paging, SearchText, user_of
from retain.tasks.models import Task

router = Router(tags=["tasks"])


@router.get("", response={200: list[s.TaskOut], **s.ERRORS})
@paginate(Paging)
def tasks_list(
    request: HttpRequest,
    mine: bool = True,
    status: SearchText = "open",
    customer: SearchText = "",
    due_until: s.Day | None = None,
) -> Any:
    """Tasks of the customers you may see; by default your own open ones, soonest first."""
    user = user_of(request)
    require(user, "tasks.view_task")
    qs = visible_to(user, Task.objects.select_related("customer", "owner"))
    if mine:
        qs = qs.filter(owner=user)
    qs = qs.filter(**{k: v for k, v in {"status": status, "customer__code": customer}.items() if v})
    if due_until:
        qs = qs.filter(due_on__lte=due_until)
    return qs.order_by("due_on", "id")
