"""Complaints: list and open."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from retain.accounts.access import require, visible_to
from retain.api import schemas as s
from retain.api.v1.common import Paging, SearchText, customer_of, user_of
from retain.complaints.models import Complaint
from retain.complaints.services import complaint_open

router = Router(tags=["complaints"])


@router.get("", response={200: list[s.ComplaintOut], **s.ERRORS})
@paginate(Paging)
def complaints_list(
    request: HttpRequest,
    customer: SearchText = "",
    status: SearchText = "",
    severity: SearchText = "",
) -> Any:
    user = user_of(request)
    require(user, "complaints.view_complaint")
    qs = visible_to(user, Complaint.objects.select_related("customer"))
    filters = {"customer__code": customer, "status": status, "severity": severity}
    return qs.filter(**{k: v for k, v in filters.items() if v}).order_by("-opened_at", "id")


@router.post("", response={201: s.ComplaintOut, **s.ERRORS})
def complaints_create(request: HttpRequest, payload: s.ComplaintIn) -> Any:
    data = payload.dict()
    customer = customer_of(request, data.pop("customer"))
    return Status(
        201, complaint_open(customer=customer, actor=user_of(request), request=request, **data)
    )
