"""Request and response bodies of /api/v1."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime

from retain.accounts.access import personal
from retain.complaints.models import ComplaintChannel, Severity
from retain.customers.models import CustomerKind, CustomerStatus
from retain.interactions.models import FollowUpKind
from retain.orders.models import OrderStatus, PaymentMethod, SalesChannel


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; say so instead of failing in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _sane_datetime(value: dt.datetime) -> dt.datetime:
    if not 1900 <= value.year <= 2200:
        raise ValueError("year must be between 1900 and 2200")
    return value


def _sane_date(value: dt.date) -> dt.date:
    if not 1900 <= value.year <= 2200:
        raise ValueError("year must be between 1900 and 2200")
    return value


Text = Annotated[str, AfterValidator(_text)]
When = Annotated[AwareDatetime, AfterValidator(_sane_datetime)]
Day = Annotated[dt.date, AfterValidator(_sane_date)]
# The models' choices as enums, so that the schema lists them (and clients can too).
Payment = PaymentMethod | Literal[""]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]


class ErrorOut(Schema):
    """Every error: ``detail`` is a message, or a list of field errors (with ``loc``)."""

    detail: str | list[dict[str, Any]]


ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _request_user(context: Any) -> Any:
    return context["request"].auth


class CustomerOut(Schema):
    code: str
    kind: str
    name: str
    industry: str
    status: str
    owner: str | None
    region: str
    city: str
    phone: str
    email: str
    first_contact_date: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_owner(obj: Any) -> str | None:
        return obj.owner.username if obj.owner_id else None

    @staticmethod
    def resolve_phone(obj: Any, context: Any) -> str:
        return personal(_request_user(context), "phone", obj.phone)

    @staticmethod
    def resolve_email(obj: Any, context: Any) -> str:
        return personal(_request_user(context), "email", obj.email)


class CustomerIn(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    kind: CustomerKind = CustomerKind.COMPANY
    code: Annotated[Text, Field(max_length=32)] = ""
    industry: Annotated[Text, Field(max_length=100)] = ""
    status: CustomerStatus = CustomerStatus.PROSPECT
    owner: Text | None = Field(None, description="Username of the owner; yours by default.")
    region: Annotated[Text, Field(max_length=100)] = ""
    city: Annotated[Text, Field(max_length=100)] = ""
    phone: Annotated[Text, Field(max_length=40)] = ""
    email: Annotated[Text, Field(max_length=254)] = ""
    first_contact_date: Day | None = None
    notes: Text = ""


class CustomerPatch(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    industry: Annotated[Text, Field(max_length=100)] | None = None
    status: CustomerStatus | None = None
    owner: Text | None = None
    region: Annotated[Text, Field(max_length=100)] | None = None
    city: Annotated[Text, Field(max_length=100)] | None = None
    phone: Annotated[Text, Field(max_length=40)] | None = None
    email: Annotated[Text, Field(max_length=254)] | None = None
    notes: Text | None = None


class ContactOut(Schema):
    id: int
    name: str
    title: str
    phone: str
    email: str
    wechat_id: str
    is_primary: bool
    left_on: dt.date | None

    @staticmethod
    def resolve_phone(obj: Any, context: Any) -> str:
        return personal(_request_user(context), "phone", obj.phone)

    @staticmethod
    def resolve_email(obj: Any, context: Any) -> str:
        return personal(_request_user(context), "email", obj.email)

    @staticmethod
    def resolve_wechat_id(obj: Any, context: Any) -> str:
        return personal(_request_user(context), "wechat_id", obj.wechat_id)


class ContactIn(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    title: Annotated[Text, Field(max_length=100)] = ""
    phone: Annotated[Text, Field(max_length=40)] = ""
    email: Annotated[Text, Field(max_length=254)] = ""
    wechat_id: Annotated[Text, Field(max_length=100)] = ""
    is_primary: bool = False


class ConsentOut(Schema):
    channel: str
    status: str
    recorded_at: dt.datetime
    source: str


class ConsentIn(Schema):
    granted: bool
    source: Annotated[Text, Field(min_length=1, max_length=100)]


class TagOut(Schema):
    id: int
    name: str
    group: str
    kind: str
    automatic: bool

    @staticmethod
    def resolve_group(obj: Any) -> str:
        return obj.group.name

    @staticmethod
    def resolve_kind(obj: Any) -> str:
        return obj.group.kind


class CustomerTagOut(Schema):
    tag: str
    group: str
    automatic: bool
    tagged_at: dt.datetime

    @staticmethod
    def resolve_tag(obj: Any) -> str:
        return obj.tag.name

    @staticmethod
    def resolve_group(obj: Any) -> str:
        return obj.tag.group.name


class OrderOut(Schema):
    number: str
    customer: str
    ordered_at: dt.datetime
    amount: Decimal
    currency: str
    channel: str
    payment_method: str
    status: str

    @staticmethod
    def resolve_customer(obj: Any) -> str:
        return obj.customer.code


class OrderIn(Schema):
    customer: Annotated[Text, Field(description="Customer code", max_length=32)]
    number: Annotated[Text, Field(min_length=1, max_length=64)]
    ordered_at: When
    amount: Money
    currency: Annotated[Text, Field(min_length=3, max_length=3)] = "CNY"
    channel: SalesChannel
    payment_method: Payment = ""
    status: OrderStatus = OrderStatus.PAID


class BulkOrdersIn(Schema):
    orders: Annotated[list[OrderIn], Field(min_length=1, max_length=1000)]


class BulkOrdersOut(Schema):
    created: int
    numbers: list[str]


class FollowUpOut(Schema):
    id: int
    customer: str
    kind: str
    occurred_at: dt.datetime
    logged_at: dt.datetime
    content: str
    feedback: str
    outcome: str
    next_step: str
    next_step_on: dt.date | None
    owner: str | None

    @staticmethod
    def resolve_customer(obj: Any) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_owner(obj: Any) -> str | None:
        return obj.owner.username if obj.owner_id else None


class FollowUpIn(Schema):
    customer: Annotated[Text, Field(max_length=32)]
    kind: FollowUpKind
    occurred_at: When
    content: Annotated[Text, Field(min_length=1)]
    feedback: Text = ""
    outcome: Annotated[Text, Field(max_length=300)] = ""
    next_step: Annotated[Text, Field(max_length=300)] = ""
    next_step_on: Day | None = None


class ComplaintOut(Schema):
    id: int
    customer: str
    opened_at: dt.datetime
    channel: str
    category: str
    severity: str
    description: str
    status: str
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None

    @staticmethod
    def resolve_customer(obj: Any) -> str:
        return obj.customer.code


class ComplaintIn(Schema):
    customer: Annotated[Text, Field(max_length=32)]
    opened_at: When
    channel: ComplaintChannel
    category: Annotated[Text, Field(min_length=1, max_length=100)]
    severity: Severity = Severity.NORMAL
    description: Annotated[Text, Field(min_length=1)]


class SurveyAnswerOut(Schema):
    id: int
    customer: str
    survey: str
    sent_at: dt.datetime
    answered_at: dt.datetime | None
    nps: int | None
    satisfaction: int | None
    comment: str

    @staticmethod
    def resolve_customer(obj: Any) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_survey(obj: Any) -> str:
        return obj.survey.name


class AuditEventOut(Schema):
    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    customer: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None

    @staticmethod
    def resolve_actor(obj: Any) -> str:
        return obj.actor_name

    @staticmethod
    def resolve_customer(obj: Any) -> str | None:
        return obj.customer.code if obj.customer_id else None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token itself; shown this once only.")


class TokenIn(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = Field(
        None, description="Days until the token stops working; none: it does not expire."
    )


class KpisOut(Schema):
    """The board's figures (``retain.kpis.figures``): the same definitions and scope."""

    as_of: dt.date
    scope: str = Field(description='"all": every customer; "own": the customers you see.')
    customers: int
    companies: int
    persons: int
    buyers_12m: int = Field(description="Customers with a paid order in the 365 days to as_of.")
    orders_12m: int
    revenue_12m: Decimal
    open_complaints: int
    retention_rate: float | None = Field(description="Fraction; see docs/analytics.md.")
    churn_rate: float | None
    repurchase_rate: float | None = Field(
        description="Share of buyers with purchases on at least two days."
    )
    core_repurchase_rate: float | None = Field(
        description="The same among the customers of the core quadrant."
    )
    average_ltv: float | None
    nps: float | None = Field(description="Promoters minus detractors per 100 answers.")
    complaint_rate: float | None
    positive_review_rate: float | None
    active_customers: int | None
    new_customers: int | None


class ReasonCodeOut(Schema):
    code: str
    params: dict[str, float]


class ScoreOut(Schema):
    customer: str
    as_of: dt.date
    quadrant: str
    lifecycle_stage: str
    rfm_segment: str
    churn_risk: str
    risk_reasons: str = Field(
        description='The engine\'s reason codes, e.g. "overdue(multiple=3.2); nps(score=4)".'
    )
    churn_probability: float | None = Field(
        description="Calibrated probability of no purchase in the churn model's horizon (90 days)."
    )
    churn_model: str = Field(description="logistic, hgb (learned) or bgnbd (fallback).")
    expected_lost_value: float | None = Field(
        description="Predicted lifetime value x churn probability."
    )
    reason_codes: list[ReasonCodeOut]
    order_count: int
    total_spend: float
    last_purchase: dt.date | None
    p_alive: float | None
    predicted_ltv: float | None
    expected_purchases_90d: float | None

    @staticmethod
    def resolve_customer(obj: Any) -> str:
        return obj.customer.code


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    conditions: dict[str, Any]


class TaskOut(Schema):
    id: int
    customer: str
    kind: str
    title: str
    reason: str
    channel: str
    due_on: dt.date
    status: str
    owner: str | None
    created_at: dt.datetime
    closed_at: dt.datetime | None

    @staticmethod
    def resolve_customer(obj: Any) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_owner(obj: Any) -> str | None:
        return obj.owner.username if obj.owner_id else None


class DifferenceOut(Schema):
    """An arm minus its control group: estimate, 95% interval, two-sided p-value."""

    estimate: float
    low: float
    high: float
    p_value: float


class PlanArmOut(Schema):
    """One arm of a measured plan (the control group has no difference or verdict)."""

    key: str
    name: str
    holdout: bool
    customers: int
    reached: int
    reached_share: float | None
    followed: int
    repurchase_30: float | None
    repurchase_90: float | None
    revenue_per_customer: float | None
    churn_rate: float | None
    complaint_rate: float | None
    nps_mean: float | None
    verdict: Literal["too_early", "works", "no_effect", "harmful"] | None
    horizon_reached: bool | None
    needed_treated: int | None
    needed_control: int | None
    difference_repurchase_30: DifferenceOut | None
    difference_repurchase_90: DifferenceOut | None
    difference_revenue: DifferenceOut | None
    #: the revenue interval: bootstrap (a group under 1,000 followed) or Welch's t
    revenue_interval: Literal["bootstrap", "welch"] | None
    difference_churn: DifferenceOut | None
    difference_complaint: DifferenceOut | None
    difference_nps: DifferenceOut | None


class PlanResultsOut(Schema):
    playbook: int
    name: str
    holdout_percent: int
    min_effect_points: int
    as_of: dt.datetime
    arms: list[PlanArmOut]


class ActivationOut(Schema):
    """Potential customers of the month and how many made a paid purchase within ``days``."""

    days: int
    potential: int
    activated: int
    window_open: int
    rate: float | None


class PlanCaseOut(Schema):
    id: int
    playbook: int
    playbook_name: str
    customer: str | None  # the customer code
    outcome: Literal["success", "failure"]
    note: str
    author: str | None
    created_at: dt.datetime


class PlanReviewOut(Schema):
    """The monthly review: each plan's arms over the month's entrants, the activation rate,
    the cases recorded."""

    month: str  # YYYY-MM
    plans: list[PlanResultsOut]
    activation: ActivationOut
    cases: list[PlanCaseOut]
