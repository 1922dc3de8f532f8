from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from retain.customers.models import Customer
from retain.scoring.models import ChurnModelVersion, CustomerScore, ScoringRun, SegmentChange


def customer_score(*, customer: Customer) -> CustomerScore | None:
    return CustomerScore.objects.filter(customer=customer).first()


def customer_segment_history(*, customer: Customer) -> QuerySet[SegmentChange]:
    """The moves between segments, newest first (the first run's starting points left out)."""
    return (
        SegmentChange.objects.filter(customer=customer)
        .exclude(from_value="")
        .order_by("-as_of", "dimension")
    )


def _model_names() -> dict[str, str]:
    return {
        "logistic": _("Learned: logistic regression"),
        "hgb": _("Learned: gradient boosting"),
        "recency": _("Baseline: days since last purchase"),
        "rfm_logistic": _("Baseline: RFM logistic regression"),
        "bgnbd": _("Baseline: BG/NBD"),
    }


def churn_model_backtest(*, run: ScoringRun | None) -> dict[str, Any] | None:
    """The churn model behind a run and its stored back-test, ready for the board.

    ``None`` when the run has no model. ``rows`` has one row per model (mean over the
    cut-offs); ``calibration`` the newest cut-off's deciles of the chosen model and the
    baselines with probabilities (for the chart).
    """
    version: ChurnModelVersion | None = run.churn_model if run is not None else None
    if version is None:
        return None
    names = _model_names()
    out: dict[str, Any] = {
        "version": version.pk,
        "kind": version.kind,
        "kind_label": names.get(version.kind, version.kind)
        if version.kind != "bgnbd"
        else _("BG/NBD (fallback)"),
        "as_of": version.as_of,
        "horizon_days": version.horizon_days,
        "fallback_reason": version.fallback_reason,
        "rows": [],
        "cut_offs": [],
        "calibration": None,
    }
    test = version.backtest
    if not test:
        return out
    out["cut_offs"] = [o["cut_off"] for o in test["origins"]]
    for row in test["summary"]:
        out["rows"].append(
            {
                "model": row["model"],
                "label": names.get(row["model"], row["model"]),
                "chosen": row["model"] == test["chosen"],
                "learned": row["model"] in ("logistic", "hgb"),
                "roc_auc": row["roc_auc"],
                "pr_auc": row["pr_auc"],
                "brier": row["brier"],
                "calibration_error": row["calibration_error"],
                "top_decile_capture": row["top_decile_capture"],
            }
        )
    newest = test["origins"][0]
    out["calibration"] = {
        "cut_off": newest["cut_off"],
        "ideal": _("Perfect calibration"),
        "predicted": _("Predicted churn probability"),
        "observed": _("Observed churn rate"),
        "series": [
            {
                "name": names.get(name, name),
                "points": [
                    [round(d["predicted"], 4), round(d["observed"], 4)]
                    for d in newest["models"][name]["calibration"]
                ],
            }
            for name in (test["chosen"], "rfm_logistic", "bgnbd")
        ],
    }
    return out
