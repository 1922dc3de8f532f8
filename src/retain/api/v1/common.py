"""What every resource module of /api/v1 shares: path and query types, the caller, the customer
they may see, date filters and paging."""

import datetime as dt
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Path, Query
from ninja.pagination import LimitOffsetPagination

from retain.accounts.access import customers_visible_to
from retain.accounts.models import User
from retain.api import schemas as s
from retain.customers.models import Customer

Code = Annotated[str, Path(max_length=32, description="Customer code, e.g. C2024001")]
Id = Annotated[int, Path(ge=1, le=2**53)]
SearchText = Annotated[s.Text, Query("", max_length=200)]


def user_of(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def customer_of(request: HttpRequest, code: str) -> Customer:
    return get_object_or_404(customers_visible_to(user_of(request)), code=code)


def owner_of(request: HttpRequest, username: str | None) -> User | None:
    if username is None:
        return None
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist as exc:
        raise ValidationError({"owner": ["no such user"]}) from exc


def by_day(qs: QuerySet[Any], field: str, since: dt.date | None, until: dt.date | None) -> Any:
    if since:
        qs = qs.filter(**{f"{field}__gte": day_start(since)})
    if until:
        qs = qs.filter(**{f"{field}__lt": day_start(until + dt.timedelta(days=1))})
    return qs


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class Paging(LimitOffsetPagination):
    class Input(LimitOffsetPagination.Input):
        limit: int = Field(50, ge=1, le=500)
        offset: int = Field(0, ge=0, le=10**9)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=500, **kwargs)
