"""Typed settings of the analytics engine: every threshold, window and quantile in one place."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AnalyticsSettings",
    "ComplaintColumns",
    "CustomerColumns",
    "FollowupColumns",
    "InteractionColumns",
    "OrderColumns",
    "SurveyColumns",
]


@dataclass(frozen=True, slots=True)
class OrderColumns:
    """Names of the columns of an orders table.

    Only ``customer_id``, ``timestamp`` and ``amount`` are required. A refund is a row with a
    negative amount, or a row whose ``status`` (when given) is one of ``refund_statuses``.
    Rows whose status is in ``ignored_statuses`` (cancelled, failed ...) are dropped.
    """

    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    amount: str = "amount"
    status: str | None = None
    channel: str | None = None
    category: str | None = None
    refund_statuses: tuple[str, ...] = ("refund", "refunded", "returned")
    ignored_statuses: tuple[str, ...] = ("cancelled", "canceled", "failed", "void")


@dataclass(frozen=True, slots=True)
class CustomerColumns:
    """Names of the columns of an optional customers table (prospects have no orders).

    ``kind`` (optional) tells a business from a person: a customer is a business when its
    value, as lower-case text, is one of ``business_kinds``; any other non-null value is a
    person; null or no column: unknown.
    """

    customer_id: str = "customer_id"
    first_contact: str | None = None
    kind: str | None = None
    business_kinds: tuple[str, ...] = ("company", "business", "b2b")


@dataclass(frozen=True, slots=True)
class InteractionColumns:
    """Names of the columns of an optional interactions table (calls, visits, e-mails ...)."""

    customer_id: str = "customer_id"
    timestamp: str = "timestamp"


@dataclass(frozen=True, slots=True)
class FollowupColumns:
    """Names of the columns of an optional follow-ups table: the to-dos of the team.

    Next steps, win-back calls, playbook actions: each is created at ``created``, due on
    ``due`` and closed at ``closed`` (null while open). As of a date a follow-up counts only
    when created on or before it, is open when not closed by then, and its ``outcome``
    (optional; ``won_outcomes`` / ``lost_outcomes``, case-insensitive) counts only when it
    was closed by then: a later status never leaks into an earlier date.
    """

    customer_id: str = "customer_id"
    created: str = "created_at"
    due: str = "due_on"
    closed: str | None = "closed_at"
    outcome: str | None = None
    won_outcomes: tuple[str, ...] = ("won_back", "won")
    lost_outcomes: tuple[str, ...] = ("lost",)


@dataclass(frozen=True, slots=True)
class ComplaintColumns:
    """Names of the columns of an optional complaints table.

    A complaint is unresolved when ``resolved`` (a boolean column) is false or null, or, when
    ``status`` is given instead, when its status is not in ``resolved_statuses``.
    """

    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    resolved: str | None = "resolved"
    status: str | None = None
    resolved_statuses: tuple[str, ...] = ("resolved", "closed")


@dataclass(frozen=True, slots=True)
class SurveyColumns:
    """Names of the columns of an optional survey-responses table.

    ``nps`` holds the 0-10 "would you recommend" answer; ``rating`` (optional) a 1-5 review.
    """

    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    nps: str | None = "nps"
    rating: str | None = None


@dataclass(frozen=True, slots=True)
class AnalyticsSettings:
    """Every threshold, window, quantile, horizon and rate used by the engine.

    All windows are in days and end on (and include) the ``as_of`` date.

    Attributes
    ----------
    rfm_bins : int
        Number of RFM score bins (5 = quintiles). Ties get the same score (see docs/analytics.md).
    recent_window_days : int
        Window of the "last 90 days" orders and spend columns.
    interaction_window_days : int
        Window of the "interactions in the last 3 months" column.
    value_window_days : int
        Spend over this window is the customer's value for the value tier and quadrant.
    high_value_share : float
        Top share of purchasing customers (by value) that is "high" value.
    medium_value_share : float
        Next share of purchasing customers that is "medium" value; the rest is "low".
    high_value_min_spend : float | None
        When set, an absolute spend threshold replaces the ``high_value_share`` quantile.
    medium_value_min_spend : float | None
        When set, an absolute spend threshold replaces the ``medium_value_share`` quantile.
    activity_window_days : int
        Window in which orders are counted for the activity level.
    active_min_orders : int
        Orders in the activity window that make a customer highly active ...
    active_max_recency_days : int
        ... or a purchase at most this many days ago.
    new_window_days : int
        A customer whose first purchase is at most this old is "new".
    silent_after_days : int
        No purchase for more than this many days: "silent".
    churned_after_days : int
        No purchase for more than this many days: "churned".
    ltv_horizon_months : int
        Horizon of the predicted lifetime value, in 30-day months.
    monthly_discount_rate : float
        Monthly discount rate of the predicted lifetime value.
    model_time_unit_days : float
        Time unit of the BG/NBD and Gamma-Gamma fit (7 = weeks, as in the published results).
    penalizer : float
        L2 penalty on the model parameters (0 = plain maximum likelihood).
    risk_interval_multiple : float
        No purchase for this many times the usual inter-purchase interval is a risk reason.
    risk_p_alive_high : float
        P(alive) below this is a high-risk reason.
    risk_p_alive_medium : float
        P(alive) below this is a medium-risk reason.
    risk_spend_drop : float
        Spend in the recent window below this share of the previous window is a risk reason.
    nps_detractor_max : int
        NPS answers up to this value are detractors (standard: 0-6).
    nps_promoter_min : int
        NPS answers from this value are promoters (standard: 9-10).
    positive_rating_min : int
        Ratings from this value (on a 1-5 scale) are positive reviews.
    kpi_window_days : int
        Window of the rate KPIs (complaint rate, NPS, positive reviews).
    retention_period_days : int
        Period of the retention and churn rate (customers of the previous period still buying).
    churn_horizon_days : int
        Horizon of the churn probability and of the back-test: "no purchase in the next N days".
    churn_train_periods : int
        Labelled periods (cut-offs one horizon apart) the churn classifier is trained on.
    churn_backtest_origins : int
        Cut-offs of the rolling-origin back-test.
    churn_min_buyers : int
        Buyers needed at the newest labelled cut-off to learn the classifier (else BG/NBD).
    churn_min_class_rows : int
        Churners, and buyers who came back, needed in the labelled periods (else BG/NBD).
    churn_max_train_rows : int
        Most labelled rows a classifier is trained on: above it, a seeded sample stratified by
        period and label (every fit of the back-test and the final one).
    churn_large_buyers : int
        Above this many buyers (by the as-of day), the back-test and the training read a
        seeded random sample of this many of them, the back-test has one cut-off and the
        classifier two labelled periods (each period costs a summary and model fits). The
        scores are still computed for every customer.
    churn_seed : int
        Seed of the training sample, the folds' models and the Pareto/NBD fitting sample.
    risk_probability_high : float
        Churn probability from which the risk is high (with a large lost value) or medium.
    risk_probability_medium : float
        Churn probability from which a large lost value makes the risk medium.
    risk_lost_value_share : float
        Top share of buyers by expected lost value (CLV x probability) that is "large".
    risk_lost_value_min : float | None
        When set, an absolute expected lost value replaces ``risk_lost_value_share``.
    risk_max_reasons : int
        Reasons kept per customer (those that pushed the probability up the most).
    """

    rfm_bins: int = 5
    recent_window_days: int = 90
    interaction_window_days: int = 90
    value_window_days: int = 365
    high_value_share: float = 0.2
    medium_value_share: float = 0.3
    high_value_min_spend: float | None = None
    medium_value_min_spend: float | None = None
    activity_window_days: int = 90
    active_min_orders: int = 2
    active_max_recency_days: int = 30
    new_window_days: int = 90
    silent_after_days: int = 180
    churned_after_days: int = 365
    ltv_horizon_months: int = 12
    monthly_discount_rate: float = 0.01
    model_time_unit_days: float = 7.0
    penalizer: float = 0.0
    risk_interval_multiple: float = 3.0
    risk_p_alive_high: float = 0.3
    risk_p_alive_medium: float = 0.6
    risk_spend_drop: float = 0.5
    nps_detractor_max: int = 6
    nps_promoter_min: int = 9
    positive_rating_min: int = 4
    kpi_window_days: int = 365
    retention_period_days: int = 365
    churn_horizon_days: int = 90
    churn_train_periods: int = 4
    churn_backtest_origins: int = 3
    churn_min_buyers: int = 200
    churn_min_class_rows: int = 30
    churn_max_train_rows: int = 50_000
    churn_large_buyers: int = 200_000
    churn_seed: int = 0
    risk_probability_high: float = 0.5
    risk_probability_medium: float = 0.3
    risk_lost_value_share: float = 0.2
    risk_lost_value_min: float | None = None
    risk_max_reasons: int = 3

    def __post_init__(self) -> None:
        if self.rfm_bins < 2:
            raise ValueError("rfm_bins must be at least 2")
        if not 0 < self.high_value_share < 1 or not 0 <= self.medium_value_share < 1:
            raise ValueError("value shares must lie in (0, 1)")
        if self.high_value_share + self.medium_value_share > 1:
            raise ValueError("high_value_share + medium_value_share must not exceed 1")
        if not self.silent_after_days < self.churned_after_days:
            raise ValueError("silent_after_days must be smaller than churned_after_days")
        if self.ltv_horizon_months < 1 or self.monthly_discount_rate < 0:
            raise ValueError("ltv_horizon_months >= 1 and monthly_discount_rate >= 0 required")
        if self.churn_horizon_days < 1 or self.churn_train_periods < 1:
            raise ValueError("churn_horizon_days >= 1 and churn_train_periods >= 1 required")
        if self.churn_max_train_rows < 100:
            raise ValueError("churn_max_train_rows must be at least 100")
        if not 0 <= self.risk_probability_medium <= self.risk_probability_high <= 1:
            raise ValueError("0 <= risk_probability_medium <= risk_probability_high <= 1 required")
        if not 0 < self.risk_lost_value_share <= 1:
            raise ValueError("risk_lost_value_share must lie in (0, 1]")
        if self.model_time_unit_days <= 0 or self.penalizer < 0:
            raise ValueError("model_time_unit_days > 0 and penalizer >= 0 required")
