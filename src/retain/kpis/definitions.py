"""The KPIs of the board: where each figure comes from, its unit and which way is better.

Rates are stored by the engine as fractions; the board shows them (and their targets) in
percent. The definitions are those of ``retain.analytics.kpis`` (docs/analytics.md), plus
the repurchase rate of core customers, computed from the current scores.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class KpiKey(models.TextChoices):
    RETENTION = "retention_rate", _("Yearly retention")
    CORE_REPURCHASE = "core_repurchase_rate", _("Core customers' repurchase")
    AVERAGE_LTV = "average_ltv", _("Average lifetime value")
    NPS = "nps", _("NPS")
    COMPLAINT_RATE = "complaint_rate", _("Complaint rate")
    POSITIVE_REVIEWS = "positive_review_rate", _("Positive reviews")
    REPURCHASE = "repurchase_rate", _("Repurchase rate")
    CHURN = "churn_rate", _("Churn rate")
    ACTIVE_CUSTOMERS = "active_customers", _("Active customers")
    NEW_CUSTOMERS = "new_customers", _("New customers")


class Comparison(models.TextChoices):
    AT_LEAST = "gte", "≥"
    AT_MOST = "lte", "≤"


@dataclass(frozen=True)
class KpiDefinition:
    key: KpiKey
    #: the key of the figure in the engine's snapshot (``KpiSnapshot.to_row()``)
    source: str
    unit: str  # "percent", "cny", "points", "count"
    higher_is_better: bool
    help: Promise

    @property
    def label(self) -> str:
        return str(self.key.label)

    def display(self, raw: float | None) -> float | None:
        """The engine's figure in the unit the board shows (percent for rates)."""
        if raw is None:
            return None
        return raw * 100.0 if self.unit == "percent" else float(raw)


KPIS: dict[str, KpiDefinition] = {
    d.key.value: d
    for d in (
        KpiDefinition(
            KpiKey.RETENTION,
            "retention_rate",
            "percent",
            True,
            _(
                "Of the customers who bought in the year before last, the share who bought "
                "again in the last 12 months."
            ),
        ),
        KpiDefinition(
            KpiKey.CORE_REPURCHASE,
            "core_repurchase_rate",
            "percent",
            True,
            _("Share of today's core customers who have bought on at least two days."),
        ),
        KpiDefinition(
            KpiKey.AVERAGE_LTV,
            "average_historical_ltv",
            "cny",
            True,
            _("Mean net spend to date of the customers who have bought (CNY)."),
        ),
        KpiDefinition(
            KpiKey.NPS,
            "nps",
            "points",
            True,
            _("Promoters minus detractors, per 100 survey answers of the last 12 months."),
        ),
        KpiDefinition(
            KpiKey.COMPLAINT_RATE,
            "complaint_rate",
            "percent",
            False,
            _("Complaints of the last 12 months per order of the last 12 months."),
        ),
        KpiDefinition(
            KpiKey.POSITIVE_REVIEWS,
            "positive_review_rate",
            "percent",
            True,
            _("Share of satisfaction ratings of 4 or 5 in the last 12 months."),
        ),
        KpiDefinition(
            KpiKey.REPURCHASE,
            "repurchase_rate",
            "percent",
            True,
            _("Share of customers who have bought on at least two days."),
        ),
        KpiDefinition(
            KpiKey.CHURN,
            "churn_rate",
            "percent",
            False,
            _("100% minus the yearly retention."),
        ),
        KpiDefinition(
            KpiKey.ACTIVE_CUSTOMERS,
            "active_customers",
            "count",
            True,
            _("Customers whose lifecycle stage is new or returning."),
        ),
        KpiDefinition(
            KpiKey.NEW_CUSTOMERS,
            "new_customers",
            "count",
            True,
            _("Customers whose first purchase was in the last 90 days."),
        ),
    )
}

#: Targets from PRODUCT.md section 11 (seed 000), loaded by migration 0002.
DEFAULT_TARGETS: list[tuple[str, str, float]] = [
    (KpiKey.RETENTION.value, Comparison.AT_LEAST.value, 80.0),
    (KpiKey.CORE_REPURCHASE.value, Comparison.AT_LEAST.value, 60.0),
    (KpiKey.AVERAGE_LTV.value, Comparison.AT_LEAST.value, 500.0),
    (KpiKey.NPS.value, Comparison.AT_LEAST.value, 50.0),
    (KpiKey.COMPLAINT_RATE.value, Comparison.AT_MOST.value, 2.0),
    (KpiKey.POSITIVE_REVIEWS.value, Comparison.AT_LEAST.value, 70.0),
]
