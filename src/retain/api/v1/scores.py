"""Churn and value scores: list."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from retain.accounts.access import require, visible_to
from retain.api import schemas as s
from retain.api.v1.common import Paging, SearchText, user_of
from retain.scoring.models import CustomerScore

router = Router(tags=["scores"])


@router.get("", response={200: list[s.ScoreOut], **s.ERRORS})
@paginate(Paging)
def scores_list(
    request: HttpRequest,
    customer: SearchText = "",
    quadrant: SearchText = "",
    lifecycle_stage: SearchText = "",
    churn_risk: SearchText = "",
) -> Any:
    """Current scores of the customers you may see (from the latest scoring run)."""
    user = user_of(request)
    require(user, "scoring.view_customerscore")
    qs = visible_to(user, CustomerScore.objects.select_related("customer"))
    filters = {
        "customer__code": customer,
        "quadrant": quadrant,
        "lifecycle_stage": lifecycle_stage,
        "churn_risk": churn_risk,
    }
    return qs.filter(**{k: v for k, v in filters.items() if v}).order_by("customer__code")
