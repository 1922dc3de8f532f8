"""retain.analytics: the customer-retention engine.

Pure Python + Ibis + NumPy / SciPy; it never imports Django. Every function takes an explicit
``as_of`` date; inputs are Ibis tables on any backend (DuckDB, SQLite, PostgreSQL, Spark).
See docs/analytics.md for the definitions.
"""

from retain.analytics._churn import (
    CHURN_FEATURES,
    Backtest,
    ChurnClassifier,
    ChurnModel,
    backtest,
    churn_features,
    fit_churn_model,
)
from retain.analytics._cohorts import cohort_retention
from retain.analytics._inputs import MODEL_INPUT_COLUMNS, model_inputs
from retain.analytics._io import InputError, OrderFile, read_orders
from retain.analytics._kpis import (
    KpiSnapshot,
    QuadrantKpi,
    kpis,
    kpis_at,
    kpis_by_month,
    month_ends,
)
from retain.analytics._labels import (
    ActivityLevel,
    LifecycleStage,
    Quadrant,
    RfmSegment,
    RiskLevel,
    ValueTier,
)
from retain.analytics._models import (
    BGNBD,
    MBGNBD,
    GammaGamma,
    ModelNotConvergedError,
    ParetoNBD,
    lifetime_value,
    simulate_bgnbd,
)
from retain.analytics._report import render_report, write_report
from retain.analytics._risk import REASON_CODES, ReasonCode, format_reasons, parse_reasons
from retain.analytics._scoring import (
    SCORE_COLUMNS,
    FittedModels,
    fit_models,
    score_customers,
    score_summary,
)
from retain.analytics._settings import (
    AnalyticsSettings,
    ComplaintColumns,
    CustomerColumns,
    FollowupColumns,
    InteractionColumns,
    OrderColumns,
    SurveyColumns,
)
from retain.analytics._summary import (
    MIX_COLUMNS,
    PREFERENCE_COLUMNS,
    SUMMARY_COLUMNS,
    customer_summary,
)
from retain.analytics._tables import Tables

__all__ = [
    "BGNBD",
    "CHURN_FEATURES",
    "MBGNBD",
    "MIX_COLUMNS",
    "MODEL_INPUT_COLUMNS",
    "PREFERENCE_COLUMNS",
    "REASON_CODES",
    "SCORE_COLUMNS",
    "SUMMARY_COLUMNS",
    "ActivityLevel",
    "AnalyticsSettings",
    "Backtest",
    "ChurnClassifier",
    "ChurnModel",
    "ComplaintColumns",
    "CustomerColumns",
    "FittedModels",
    "FollowupColumns",
    "GammaGamma",
    "InputError",
    "InteractionColumns",
    "KpiSnapshot",
    "LifecycleStage",
    "ModelNotConvergedError",
    "OrderColumns",
    "OrderFile",
    "ParetoNBD",
    "Quadrant",
    "QuadrantKpi",
    "ReasonCode",
    "RfmSegment",
    "RiskLevel",
    "SurveyColumns",
    "Tables",
    "ValueTier",
    "backtest",
    "churn_features",
    "cohort_retention",
    "customer_summary",
    "fit_churn_model",
    "fit_models",
    "format_reasons",
    "kpis",
    "kpis_at",
    "kpis_by_month",
    "lifetime_value",
    "model_inputs",
    "month_ends",
    "parse_reasons",
    "read_orders",
    "render_report",
    "score_customers",
    "score_summary",
    "simulate_bgnbd",
    "write_report",
]
