"""Survey answers: list."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from retain.accounts.access import require, visible_to
from retain.api import schemas as s
from retain.api.v1.common import Paging, SearchText, user_of
from retain.surveys.models import SurveyResponse

router = Router(tags=["survey answers"])


@router.get("", response={200: list[s.SurveyAnswerOut], **s.ERRORS})
@paginate(Paging)
def survey_answers_list(
    request: HttpRequest,
    customer: SearchText = "",
    survey: SearchText = "",
    answered: bool | None = None,
) -> Any:
    user = user_of(request)
    require(user, "surveys.view_surveyresponse")
    qs = visible_to(user, SurveyResponse.objects.select_related("customer", "survey"))
    qs = qs.filter(
        **{k: v for k, v in {"customer__code": customer, "survey__name": survey}.items() if v}
    )
    if answered is not None:
        qs = qs.filter(answered_at__isnull=not answered)
    return qs.order_by("-sent_at", "id")
