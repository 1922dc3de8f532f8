"""The REST API, /api/v1 (Django Ninja), one module per resource. Thin: every endpoint asks
retain.accounts.access who may see what and calls the same services and selectors as the web pages."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.operation import Operation
from ninja.security import HttpBearer, django_auth

from retain.accounts.access import SearchLimited
from retain.api.services import api_token_user
from retain.api.v1 import (
    audit,
    complaints,
    customers,
    followups,
    interactions,
    kpis,
    loyalty,
    orders,
    playbooks,
    scores,
    segments,
    survey_answers,
    tags,
    tasks,
    tokens,
)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rt_…`` with a token from the "API tokens" page."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


class RetainApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """``retain_api_api_<function>``, as when the whole API was one module ``retain.api.api``:
        clients generated from the OpenAPI schema keep their method names across the split."""
        return f"retain_api_api_{operation.view_func.__name__}"


api = RetainApi(
    title="retain API",
    version="1",
    description=(
        "Customers, contacts, orders, follow-ups (`/followups`; `/interactions` is its "
        "deprecated old name), complaints, survey answers, tags, consent, "
        "audit trail and KPIs. Authenticate with a personal token: "
        "`Authorization: Bearer rt_…`. You see and change exactly what your role allows in the "
        "web app; phone numbers and emails are masked unless your role may see them."
    ),
    auth=[TokenAuth(), django_auth],
    urls_namespace="api-v1",
    docs_url="/docs",
    docs_decorator=login_required,  # the docs page and the schema too
)


def _error(request: HttpRequest, status: int, detail: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail}, status=status)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "You do not have permission to do this.")


@api.exception_handler(SearchLimited)
def _search_limited(request: HttpRequest, exc: SearchLimited) -> HttpResponse:
    response = _error(request, 429, "Too many searches by phone number or email; try later.")
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        detail = [
            {"loc": ["body", *field.split(".")], "msg": " ".join(messages), "type": "invalid"}
            for field, messages in exc.message_dict.items()
        ]
    else:
        detail = [{"loc": ["body"], "msg": " ".join(exc.messages), "type": "invalid"}]
    return _error(request, 422, detail)


@api.exception_handler(DataError)
def _data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    return _error(request, 422, [{"loc": ["body"], "msg": "value out of range", "type": "invalid"}])


api.add_router("/customers", customers.router)
api.add_router("/orders", orders.router)
api.add_router("/followups", followups.router)
api.add_router("/interactions", interactions.router)  # deprecated name of /followups
api.add_router("/complaints", complaints.router)
api.add_router("/survey-answers", survey_answers.router)
api.add_router("/tags", tags.router)
api.add_router("/scores", scores.router)
api.add_router("/segments", segments.router)
api.add_router("/tasks", tasks.router)
api.add_router("/audit", audit.router)
api.add_router("/kpis", kpis.router)
api.add_router("/tokens", tokens.router)
api.add_router("/loyalty", loyalty.router)
api.add_router("/playbooks", playbooks.router)
