"""Orders: list, create, bulk create, get."""

from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Path, Router, Status
from ninja.pagination import paginate

from retain.accounts.access import customers_visible_to, require, visible_to
from retain.api import schemas as s
from retain.api.v1.common import Paging, SearchText, by_day, customer_of, user_of
from retain.customers.models import Customer
from retain.orders.models import Order
from retain.orders.services import order_create, orders_bulk_create

router = Router(tags=["orders"])


@router.get("", response={200: list[s.OrderOut], **s.ERRORS})
@paginate(Paging)
def orders_list(
    request: HttpRequest,
    customer: SearchText = "",
    status: SearchText = "",
    channel: SearchText = "",
    since: s.Day | None = None,
    until: s.Day | None = None,
) -> Any:
    user = user_of(request)
    require(user, "orders.view_order")
    qs = visible_to(user, Order.objects.select_related("customer")).order_by("-ordered_at", "id")
    filters = {"customer__code": customer, "status": status, "channel": channel}
    qs = qs.filter(**{k: v for k, v in filters.items() if v})
    return by_day(qs, "ordered_at", since, until)


def _order_fields(
    request: HttpRequest, row: s.OrderIn, customers: dict[str, Customer]
) -> dict[str, Any]:
    data = row.dict()
    code = data.pop("customer")
    if code not in customers:
        raise Http404
    return {"customer": customers[code], **data}


@router.post("", response={201: s.OrderOut, **s.ERRORS})
def orders_create(request: HttpRequest, payload: s.OrderIn) -> Any:
    customer = customer_of(request, payload.customer)
    fields = _order_fields(request, payload, {customer.code: customer})
    return Status(201, order_create(actor=user_of(request), request=request, **fields))


@router.post("/bulk", response={201: s.BulkOrdersOut, **s.ERRORS})
def orders_bulk(request: HttpRequest, payload: s.BulkOrdersIn) -> Any:
    """Create up to 1,000 orders at once: all of them, or (on any error) none."""
    codes = {row.customer for row in payload.orders}
    found = {c.code: c for c in customers_visible_to(user_of(request)).filter(code__in=codes)}
    missing = sorted(codes - set(found))
    if missing:
        raise ValidationError({"customer": [f"unknown customer: {', '.join(missing[:20])}"]})
    rows = [_order_fields(request, row, found) for row in payload.orders]
    created = orders_bulk_create(rows=rows, actor=user_of(request), request=request)
    return Status(201, {"created": len(created), "numbers": [o.number for o in created]})


@router.get("/{number}", response={200: s.OrderOut, **s.ERRORS})
def orders_get(request: HttpRequest, number: Annotated[str, Path(max_length=64)]) -> Any:
    user = user_of(request)
    require(user, "orders.view_order")
    return get_object_or_404(
        visible_to(user, Order.objects.select_related("customer")), number=number
    )
