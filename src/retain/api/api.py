"""The REST API, /api/v1 (Django Ninja). Thin: every endpoint asks retain.accounts.access
who may see what and calls the same services and selectors as the web pages."""

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, NinjaAPI, Path, Query, Router, Status
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import HttpBearer, django_auth

from retain.accounts.access import (
    VIEW_AUDIT,
    SearchLimited,
    customers_visible_to,
    require,
    visible_to,
)
from retain.accounts.models import User
from retain.api import schemas as s
from retain.api.models import ApiToken
from retain.api.services import api_token_create, api_token_revoke, api_token_user
from retain.audit.selectors import audit_report, customer_audit_trail
from retain.complaints.models import Complaint
from retain.complaints.services import complaint_open
from retain.customers.models import Channel, Customer
from retain.customers.privacy import customer_erase, customer_personal_data_export
from retain.customers.selectors import customer_list
from retain.customers.services import consent_set, contact_create, customer_create, customer_update
from retain.feedback.models import SurveyResponse
from retain.interactions.models import Interaction
from retain.interactions.services import followup_log
from retain.kpis.figures import kpi_figures, kpi_values
from retain.orders.models import Order
from retain.orders.services import order_create, orders_bulk_create
from retain.playbooks.models import Segment
from retain.playbooks.selectors import segment_members
from retain.scoring.models import CustomerScore
from retain.tags.models import Tag
from retain.tasks.models import Task

Code = Annotated[str, Path(max_length=32, description="Customer code, e.g. C2024001")]
Id = Annotated[int, Path(ge=1, le=2**53)]
SearchText = Annotated[s.Text, Query("", max_length=200)]


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rt_…`` with a token from the "API tokens" page."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="retain API",
    version="1",
    description=(
        "Customers, contacts, orders, follow-ups, complaints, survey answers, tags, consent, "
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


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _customer(request: HttpRequest, code: str) -> Customer:
    return get_object_or_404(customers_visible_to(_user(request)), code=code)


def _owner(request: HttpRequest, username: str | None) -> User | None:
    if username is None:
        return None
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist as exc:
        raise ValidationError({"owner": ["no such user"]}) from exc


def _by_day(qs: QuerySet[Any], field: str, since: dt.date | None, until: dt.date | None) -> Any:
    if since:
        qs = qs.filter(**{f"{field}__gte": _start(since)})
    if until:
        qs = qs.filter(**{f"{field}__lt": _start(until + dt.timedelta(days=1))})
    return qs


def _start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class Paging(LimitOffsetPagination):
    class Input(LimitOffsetPagination.Input):
        limit: int = Field(50, ge=1, le=500)
        offset: int = Field(0, ge=0, le=10**9)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=500, **kwargs)


# --- customers ---------------------------------------------------------------------------
customers = Router(tags=["customers"])


@customers.get("", response={200: list[s.CustomerOut], **s.ERRORS})
@paginate(Paging)
def customers_list(
    request: HttpRequest,
    q: SearchText = "",
    status: SearchText = "",
    kind: SearchText = "",
    owner: SearchText = "",
    city: SearchText = "",
    region: SearchText = "",
) -> Any:
    """Customers you may see; ``q`` matches code, name, phone or a contact's phone or name."""
    user = _user(request)
    require(user, "customers.view_customer")
    qs = customers_visible_to(user, customer_list(search=q, user=user, request=request))
    filters = {"status": status, "kind": kind, "owner__username": owner, "city": city}
    qs = qs.filter(**{k: v for k, v in filters.items() if v})
    if region:
        qs = qs.filter(region=region)
    return qs


@customers.post("", response={201: s.CustomerOut, **s.ERRORS})
def customers_create(request: HttpRequest, payload: s.CustomerIn) -> Any:
    user = _user(request)
    data = payload.dict()
    owner = _owner(request, data.pop("owner"))
    # Whom a customer may be given to is the service's rule (as on the pages and in bulk).
    customer = customer_create(actor=user, request=request, owner=owner, **data)
    return Status(201, customer)


@customers.get("/{code}", response={200: s.CustomerOut, **s.ERRORS})
def customers_get(request: HttpRequest, code: Code) -> Any:
    return _customer(request, code)


@customers.patch("/{code}", response={200: s.CustomerOut, **s.ERRORS})
def customers_update(request: HttpRequest, code: Code, payload: s.CustomerPatch) -> Any:
    user = _user(request)
    customer = _customer(request, code)
    fields = payload.dict(exclude_unset=True)
    if "owner" in fields:
        fields["owner"] = _owner(request, fields["owner"])
    if any(v is None for k, v in fields.items() if k != "owner"):
        raise ValidationError({k: ["may not be null"] for k, v in fields.items() if v is None})
    return customer_update(customer=customer, actor=user, request=request, **fields)


@customers.get("/{code}/contacts", response={200: list[s.ContactOut], **s.ERRORS})
def customers_contacts(request: HttpRequest, code: Code) -> Any:
    require(_user(request), "customers.view_contact")
    return _customer(request, code).contacts.all()


@customers.post("/{code}/contacts", response={201: s.ContactOut, **s.ERRORS})
def customers_contact_add(request: HttpRequest, code: Code, payload: s.ContactIn) -> Any:
    customer = _customer(request, code)
    contact = contact_create(
        customer=customer, actor=_user(request), request=request, **payload.dict()
    )
    return Status(201, contact)


@customers.get("/{code}/consents", response={200: list[s.ConsentOut], **s.ERRORS})
def customers_consents(request: HttpRequest, code: Code) -> Any:
    require(_user(request), "customers.view_consent")
    return _customer(request, code).consents.order_by("channel")


@customers.put("/{code}/consents/{channel}", response={200: s.ConsentOut, **s.ERRORS})
def customers_consent_set(
    request: HttpRequest, code: Code, channel: Channel, payload: s.ConsentIn
) -> Any:
    """Grant or withdraw marketing consent on one channel (email, sms, phone, wechat)."""
    customer = _customer(request, code)
    return consent_set(
        customer=customer,
        channel=channel.value,
        granted=payload.granted,
        source=payload.source,
        actor=_user(request),
        request=request,
    )


@customers.get("/{code}/tags", response={200: list[s.CustomerTagOut], **s.ERRORS})
def customers_tags(request: HttpRequest, code: Code) -> Any:
    require(_user(request), "tags.view_customertag")
    return _customer(request, code).customer_tags.select_related("tag", "tag__group")


@customers.get("/{code}/audit", response={200: list[s.AuditEventOut], **s.ERRORS})
@paginate(Paging)
def customers_audit(request: HttpRequest, code: Code) -> Any:
    require(_user(request), VIEW_AUDIT)
    return customer_audit_trail(customer=_customer(request, code)).select_related("customer")


@customers.get("/{code}/personal-data", response={200: dict[str, Any], **s.ERRORS})
def customers_personal_data(request: HttpRequest, code: Code) -> Any:
    """Everything held about this customer (data-subject access request); audited."""
    return customer_personal_data_export(
        actor=_user(request), customer=_customer(request, code), request=request
    )


@customers.post("/{code}/erase", response={200: s.CustomerOut, **s.ERRORS})
def customers_erase(request: HttpRequest, code: Code) -> Any:
    """Erase the customer's personal data by anonymisation (orders and scores stay)."""
    return customer_erase(actor=_user(request), customer=_customer(request, code), request=request)


# --- orders --------------------------------------------------------------------------------
orders = Router(tags=["orders"])


@orders.get("", response={200: list[s.OrderOut], **s.ERRORS})
@paginate(Paging)
def orders_list(
    request: HttpRequest,
    customer: SearchText = "",
    status: SearchText = "",
    channel: SearchText = "",
    since: s.Day | None = None,
    until: s.Day | None = None,
) -> Any:
    user = _user(request)
    require(user, "orders.view_order")
    qs = visible_to(user, Order.objects.select_related("customer")).order_by("-ordered_at", "id")
    filters = {"customer__code": customer, "status": status, "channel": channel}
    qs = qs.filter(**{k: v for k, v in filters.items() if v})
    return _by_day(qs, "ordered_at", since, until)


def _order_fields(
    request: HttpRequest, row: s.OrderIn, customers: dict[str, Customer]
) -> dict[str, Any]:
    data = row.dict()
    code = data.pop("customer")
    if code not in customers:
        raise Http404
    return {"customer": customers[code], **data}


@orders.post("", response={201: s.OrderOut, **s.ERRORS})
def orders_create(request: HttpRequest, payload: s.OrderIn) -> Any:
    customer = _customer(request, payload.customer)
    fields = _order_fields(request, payload, {customer.code: customer})
    return Status(201, order_create(actor=_user(request), request=request, **fields))


@orders.post("/bulk", response={201: s.BulkOrdersOut, **s.ERRORS})
def orders_bulk(request: HttpRequest, payload: s.BulkOrdersIn) -> Any:
    """Create up to 1,000 orders at once: all of them, or (on any error) none."""
    codes = {row.customer for row in payload.orders}
    found = {c.code: c for c in customers_visible_to(_user(request)).filter(code__in=codes)}
    missing = sorted(codes - set(found))
    if missing:
        raise ValidationError({"customer": [f"unknown customer: {', '.join(missing[:20])}"]})
    rows = [_order_fields(request, row, found) for row in payload.orders]
    created = orders_bulk_create(rows=rows, actor=_user(request), request=request)
    return Status(201, {"created": len(created), "numbers": [o.number for o in created]})


@orders.get("/{number}", response={200: s.OrderOut, **s.ERRORS})
def orders_get(request: HttpRequest, number: Annotated[str, Path(max_length=64)]) -> Any:
    user = _user(request)
    require(user, "orders.view_order")
    return get_object_or_404(
        visible_to(user, Order.objects.select_related("customer")), number=number
    )


# --- follow-ups, complaints, survey answers, tags -----------------------------------------------
interactions = Router(tags=["interactions"])


@interactions.get("", response={200: list[s.InteractionOut], **s.ERRORS})
@paginate(Paging)
def interactions_list(
    request: HttpRequest,
    customer: SearchText = "",
    kind: SearchText = "",
    since: s.Day | None = None,
    until: s.Day | None = None,
) -> Any:
    user = _user(request)
    require(user, "interactions.view_interaction")
    qs = visible_to(user, Interaction.objects.select_related("customer", "owner"))
    qs = qs.filter(**{k: v for k, v in {"customer__code": customer, "kind": kind}.items() if v})
    return _by_day(qs, "occurred_at", since, until).order_by("-occurred_at", "id")


@interactions.post("", response={201: s.InteractionOut, **s.ERRORS})
def interactions_create(request: HttpRequest, payload: s.InteractionIn) -> Any:
    data = payload.dict()
    customer = _customer(request, data.pop("customer"))
    return Status(
        201, followup_log(customer=customer, actor=_user(request), request=request, **data)
    )


complaints = Router(tags=["complaints"])


@complaints.get("", response={200: list[s.ComplaintOut], **s.ERRORS})
@paginate(Paging)
def complaints_list(
    request: HttpRequest,
    customer: SearchText = "",
    status: SearchText = "",
    severity: SearchText = "",
) -> Any:
    user = _user(request)
    require(user, "complaints.view_complaint")
    qs = visible_to(user, Complaint.objects.select_related("customer"))
    filters = {"customer__code": customer, "status": status, "severity": severity}
    return qs.filter(**{k: v for k, v in filters.items() if v}).order_by("-opened_at", "id")


@complaints.post("", response={201: s.ComplaintOut, **s.ERRORS})
def complaints_create(request: HttpRequest, payload: s.ComplaintIn) -> Any:
    data = payload.dict()
    customer = _customer(request, data.pop("customer"))
    return Status(
        201, complaint_open(customer=customer, actor=_user(request), request=request, **data)
    )


survey_answers = Router(tags=["survey answers"])


@survey_answers.get("", response={200: list[s.SurveyAnswerOut], **s.ERRORS})
@paginate(Paging)
def survey_answers_list(
    request: HttpRequest,
    customer: SearchText = "",
    survey: SearchText = "",
    answered: bool | None = None,
) -> Any:
    user = _user(request)
    require(user, "feedback.view_surveyresponse")
    qs = visible_to(user, SurveyResponse.objects.select_related("customer", "survey"))
    qs = qs.filter(
        **{k: v for k, v in {"customer__code": customer, "survey__name": survey}.items() if v}
    )
    if answered is not None:
        qs = qs.filter(answered_at__isnull=not answered)
    return qs.order_by("-sent_at", "id")


tags = Router(tags=["tags"])


@tags.get("", response={200: list[s.TagOut], **s.ERRORS})
@paginate(Paging)
def tags_list(request: HttpRequest, group: SearchText = "", kind: SearchText = "") -> Any:
    require(_user(request), "tags.view_tag")
    qs = Tag.objects.select_related("group").order_by("group__name", "name")
    return qs.filter(**{k: v for k, v in {"group__name": group, "group__kind": kind}.items() if v})


# --- scores, segments, tasks (from the scoring, playbooks and tasks apps) -------------------
scores = Router(tags=["scores"])


@scores.get("", response={200: list[s.ScoreOut], **s.ERRORS})
@paginate(Paging)
def scores_list(
    request: HttpRequest,
    customer: SearchText = "",
    quadrant: SearchText = "",
    lifecycle_stage: SearchText = "",
    churn_risk: SearchText = "",
) -> Any:
    """Current scores of the customers you may see (from the latest scoring run)."""
    user = _user(request)
    require(user, "scoring.view_customerscore")
    qs = visible_to(user, CustomerScore.objects.select_related("customer"))
    filters = {
        "customer__code": customer,
        "quadrant": quadrant,
        "lifecycle_stage": lifecycle_stage,
        "churn_risk": churn_risk,
    }
    return qs.filter(**{k: v for k, v in filters.items() if v}).order_by("customer__code")


segments = Router(tags=["segments"])


@segments.get("", response={200: list[s.SegmentOut], **s.ERRORS})
@paginate(Paging)
def segments_list(request: HttpRequest) -> Any:
    require(_user(request), "playbooks.view_segment")
    return Segment.objects.order_by("name")


@segments.get("/{segment_id}/members", response={200: list[s.CustomerOut], **s.ERRORS})
@paginate(Paging)
def segments_members(request: HttpRequest, segment_id: Id) -> Any:
    """The customers the segment selects now, of those you may see."""
    user = _user(request)
    require(user, "playbooks.view_segment")
    segment = get_object_or_404(Segment, pk=segment_id)
    members = segment_members(segment=segment).select_related("owner").order_by("code")
    return customers_visible_to(user, members)


tasks = Router(tags=["tasks"])


@tasks.get("", response={200: list[s.TaskOut], **s.ERRORS})
@paginate(Paging)
def tasks_list(
    request: HttpRequest,
    mine: bool = True,
    status: SearchText = "open",
    customer: SearchText = "",
    due_until: s.Day | None = None,
) -> Any:
    """Tasks of the customers you may see; by default your own open ones, soonest first."""
    user = _user(request)
    require(user, "tasks.view_task")
    qs = visible_to(user, Task.objects.select_related("customer", "owner"))
    if mine:
        qs = qs.filter(owner=user)
    qs = qs.filter(**{k: v for k, v in {"status": status, "customer__code": customer}.items() if v})
    if due_until:
        qs = qs.filter(due_on__lte=due_until)
    return qs.order_by("due_on", "id")


# --- audit, KPIs, tokens ---------------------------------------------------------------------
audit = Router(tags=["audit"])


@audit.get("", response={200: list[s.AuditEventOut], **s.ERRORS})
@paginate(Paging)
def audit_list(
    request: HttpRequest,
    action: SearchText = "",
    actor: SearchText = "",
    customer: SearchText = "",
    since: s.Day | None = None,
    until: s.Day | None = None,
) -> Any:
    require(_user(request), VIEW_AUDIT)
    return audit_report(
        action=action, actor=actor, customer_code=customer, since=since, until=until
    )


kpis = Router(tags=["kpis"])


@kpis.get("", response={200: s.KpisOut, **s.ERRORS})
def kpis_get(request: HttpRequest, as_of: s.Day | None = None) -> Any:
    """The board's KPIs over the customers you may see, as of ``as_of`` (today)."""
    user = _user(request)
    require(user, "customers.view_customer")
    figures = kpi_figures(as_of=as_of or timezone.localdate(), user=user)
    return {
        "as_of": figures.as_of,
        "scope": figures.scope,
        **asdict(figures.overview),
        **kpi_values(figures.engine),
    }


tokens = Router(tags=["tokens"])


@tokens.get("", response={200: list[s.TokenOut], **s.ERRORS})
def tokens_list(request: HttpRequest) -> Any:
    """Your own API tokens (never the tokens themselves)."""
    return ApiToken.objects.filter(user=_user(request))


@tokens.post("", response={201: s.TokenCreatedOut, **s.ERRORS})
def tokens_create(request: HttpRequest, payload: s.TokenIn) -> Any:
    token, raw = api_token_create(
        user=_user(request),
        name=payload.name,
        request=request,
        expires_in_days=payload.expires_in_days,
    )
    return Status(201, {**s.TokenOut.from_orm(token).dict(), "token": raw})


@tokens.delete("/{token_id}", response={200: s.TokenOut, **s.ERRORS})
def tokens_revoke(request: HttpRequest, token_id: Id) -> Any:
    token = get_object_or_404(ApiToken, pk=token_id, user=_user(request))
    return api_token_revoke(token=token, actor=_user(request), request=request)


api.add_router("/customers", customers)
api.add_router("/orders", orders)
api.add_router("/interactions", interactions)
api.add_router("/complaints", complaints)
api.add_router("/survey-answers", survey_answers)
api.add_router("/tags", tags)
api.add_router("/scores", scores)
api.add_router("/segments", segments)
api.add_router("/tasks", tasks)
api.add_router("/audit", audit)
api.add_router("/kpis", kpis)
api.add_router("/tokens", tokens)
