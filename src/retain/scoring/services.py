"""The scoring run: the engine over the app's data, written back in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import pickle
from collections.abc import Callable
from typing import Any

import ibis
import pandas as pd
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.analytics import (
    SUMMARY_COLUMNS,
    AnalyticsSettings,
    ChurnModel,
    fit_churn_model,
    parse_reasons,
    score_customers,
)
from retain.customers.models import Customer
from retain.kpis.figures import kpi_snapshot
from retain.pipeline.heartbeat import beating, is_dead, me
from retain.scoring.conditions import conditions_q
from retain.scoring.models import (
    ChurnModelVersion,
    CustomerScore,
    Dimension,
    KpiSnapshot,
    RunStatus,
    ScoringRun,
    SegmentChange,
    TagRule,
)
from retain.scoring.tables import ORDER_COLUMNS, AppTables, TableSource, app_tables, as_date
from retain.tags.models import CustomerTag

BATCH = 500

Progress = Callable[[str], None]


class ScoringBusyError(RuntimeError):
    """Another scoring run is in progress."""


class ScoringOrderError(ValueError):
    """The run's as_of is older than the scores already stored."""


def _run_start(*, as_of: dt.date, now: dt.datetime, force: bool = False) -> ScoringRun:
    newest = CustomerScore.objects.order_by("-as_of").values_list("as_of", flat=True).first()
    if newest is not None and as_of < newest:
        raise ScoringOrderError(
            _("the stored scores are as of %(newest)s; a run as of %(as_of)s would go back in time")
            % {"newest": newest, "as_of": as_of}
        )
    host, pid = me()
    try:
        with transaction.atomic():
            # A run whose process is gone, or whose heartbeat stopped, is taken over at once.
            for old in ScoringRun.objects.filter(status=RunStatus.RUNNING):
                if force:
                    error = "taken over (--force)"
                elif is_dead(
                    host=old.host, pid=old.pid, heartbeat_at=old.heartbeat_at or old.started_at
                ):
                    error = "abandoned (stale): its process stopped"
                else:
                    continue
                ScoringRun.objects.filter(pk=old.pk, status=RunStatus.RUNNING).update(
                    status=RunStatus.FAILED, finished_at=now, error=error
                )
            return ScoringRun.objects.create(
                as_of=as_of,
                status=RunStatus.RUNNING,
                started_at=now,
                heartbeat_at=timezone.now(),
                host=host,
                pid=pid,
            )
    except IntegrityError as exc:
        raise ScoringBusyError(_("another scoring run is in progress")) from exc


def _beat(run: ScoringRun) -> None:
    ScoringRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def _int(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return int(value)


def _float(value: Any, digits: int = 6) -> float | None:
    # Rounded: sums in the database differ in the last bits between runs and backends.
    if value is None or pd.isna(value):
        return None
    return round(float(value), digits)


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def _scores_from_frame(
    run: ScoringRun, frame: pd.DataFrame
) -> tuple[list[CustomerScore], list[SegmentChange]]:
    """New score rows and the changes against the state before ``run.as_of``."""
    existing = {
        row[0]: row
        for row in CustomerScore.objects.values_list(
            "customer_id",
            "as_of",
            "quadrant",
            "lifecycle_stage",
            "churn_risk",
            "previous_as_of",
            "previous_quadrant",
            "previous_lifecycle_stage",
            "previous_churn_risk",
        )
    }
    known = set(Customer.objects.values_list("id", flat=True))
    scores: list[CustomerScore] = []
    changes: list[SegmentChange] = []
    for rec in frame.to_dict("records"):
        cid = int(rec["customer_id"])
        if cid not in known:  # deleted while the engine ran
            continue
        old = existing.get(cid)
        if old is None:
            prev: tuple[Any, str, str, str] = (None, "", "", "")
        elif old[1] == run.as_of:  # a re-run: keep what came before this as_of
            prev = (old[5], old[6], old[7], old[8])
        else:
            prev = (old[1], old[2], old[3], old[4])
        score = CustomerScore(
            customer_id=cid,
            run=run,
            as_of=run.as_of,
            quadrant=_text(rec.get("quadrant")),
            lifecycle_stage=_text(rec.get("lifecycle_stage")),
            rfm_segment=_text(rec.get("rfm_segment")),
            r_score=_int(rec.get("r_score")),
            f_score=_int(rec.get("f_score")),
            m_score=_int(rec.get("m_score")),
            value_tier=_text(rec.get("value_tier")),
            activity_level=_text(rec.get("activity_level")),
            order_count=_int(rec.get("order_count")) or 0,
            total_spend=_float(rec.get("total_spend"), 2) or 0.0,
            recency_days=_int(rec.get("recency_days")),
            last_purchase=as_date(rec.get("last_purchase")),
            p_alive=_float(rec.get("p_alive")),
            predicted_ltv=_float(rec.get("predicted_ltv"), 2),
            expected_purchases_90d=_float(rec.get("expected_purchases_90d")),
            open_complaints=_int(rec.get("open_complaints")) or 0,
            recent_complaints=_int(rec.get("recent_complaints")) or 0,
            last_nps=_int(rec.get("last_nps")),
            churn_risk=_text(rec.get("churn_risk")),
            risk_reasons=_text(rec.get("risk_reasons")),
            churn_probability=_float(rec.get("churn_probability")),
            expected_lost_value=_float(rec.get("expected_lost_value"), 2),
            churn_model=_text(rec.get("churn_model")),
            reason_codes=[r.to_dict() for r in parse_reasons(_text(rec.get("risk_reasons")))],
            value_spend=_float(rec.get("value_spend"), 2) or 0.0,
            activity_orders=_int(rec.get("activity_orders")) or 0,
            preferred_channel=_text(rec.get("preferred_channel")),
            preferred_category=_text(rec.get("preferred_category")),
            previous_as_of=prev[0],
            previous_quadrant=prev[1],
            previous_lifecycle_stage=prev[2],
            previous_churn_risk=prev[3],
        )
        scores.append(score)
        for dimension, before in (
            (Dimension.QUADRANT, prev[1]),
            (Dimension.LIFECYCLE, prev[2]),
            (Dimension.RISK, prev[3]),
        ):
            after = getattr(score, dimension.value)
            if old is None or before != after:
                changes.append(
                    SegmentChange(
                        customer_id=cid,
                        as_of=run.as_of,
                        dimension=dimension,
                        from_value=before,
                        to_value=after,
                    )
                )
    return scores, changes


def tag_rule_diff(*, tag: Any, conditions: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(gain, lose): the customer ids a rule with ``conditions`` would tag and untag now.

    Gain: matching customers without the tag; lose: automatic holders no longer matching
    (a tag put on by hand is never removed). The daily run and the rule editor's preview
    both use it."""
    matching = set(Customer.objects.filter(conditions_q(conditions)).values_list("id", flat=True))
    current = dict(CustomerTag.objects.filter(tag=tag).values_list("customer_id", "automatic"))
    automatic = {cid for cid, auto in current.items() if auto}
    return sorted(matching - set(current)), sorted(automatic - matching)


def tag_rules_apply(*, now: dt.datetime) -> tuple[int, int]:
    """Recompute every automatic tag from its rule; manual tags are never touched.

    Returns (added, removed). Set-based: one query per rule, bulk writes.
    """
    added = removed = 0
    for rule in TagRule.objects.select_related("tag").filter(active=True):
        new, gone = tag_rule_diff(tag=rule.tag, conditions=rule.conditions)
        CustomerTag.objects.bulk_create(
            [
                CustomerTag(customer_id=cid, tag=rule.tag, automatic=True, tagged_at=now)
                for cid in new
            ],
            batch_size=BATCH,
        )
        for at in range(0, len(gone), BATCH):
            CustomerTag.objects.filter(
                tag=rule.tag, automatic=True, customer_id__in=gone[at : at + BATCH]
            ).delete()
        added += len(new)
        removed += len(gone)
    # Rules switched off leave no automatic tags behind.
    removed += CustomerTag.objects.filter(automatic=True, tag__rule__active=False).delete()[0]
    return added, removed


def _apply(run: ScoringRun, frame: pd.DataFrame, figures: dict[str, Any], now: dt.datetime) -> None:
    """Replace the current scores, this as_of's history, the month's KPIs and the tags: all
    or nothing."""
    scores, changes = _scores_from_frame(run, frame)
    with transaction.atomic():
        CustomerScore.objects.all().delete()
        CustomerScore.objects.bulk_create(scores, batch_size=BATCH)
        # This as_of's history: keep the rows a re-run finds again, so their ids stay.
        kept = {
            (cid, dim, a, b): pk
            for pk, cid, dim, a, b in SegmentChange.objects.filter(as_of=run.as_of).values_list(
                "pk", "customer_id", "dimension", "from_value", "to_value"
            )
        }
        fresh = []
        for c in changes:
            if kept.pop((c.customer_id, c.dimension, c.from_value, c.to_value), None) is None:
                fresh.append(c)
        stale = sorted(kept.values())
        for at in range(0, len(stale), BATCH):
            SegmentChange.objects.filter(pk__in=stale[at : at + BATCH]).delete()
        SegmentChange.objects.bulk_create(fresh, batch_size=BATCH)
        KpiSnapshot.objects.update_or_create(
            month=run.as_of.replace(day=1), defaults={"as_of": run.as_of, "figures": figures}
        )
        added, removed = tag_rules_apply(now=now)
        run.status = RunStatus.DONE
        run.finished_at = timezone.now()
        run.customers = len(scores)
        run.changes = sum(1 for c in changes if c.from_value != "")
        run.tags_added = added
        run.tags_removed = removed
        run.full_clean()
        run.save(
            update_fields=[
                "churn_model",
                "status",
                "finished_at",
                "customers",
                "changes",
                "tags_added",
                "tags_removed",
            ]
        )


#: Bump when the engine's churn features change: stored models are then retrained.
CHURN_MODEL_FORMAT = 1


def _data_fingerprint(tables: AppTables, cfg: AnalyticsSettings) -> str:
    """A hash of what the churn model learns from: order, complaint, survey and follow-up
    counts, sums and dates, and the churn settings. One aggregate per table."""
    parts: list[Any] = [CHURN_MODEL_FORMAT, cfg.churn_horizon_days, cfg.churn_train_periods]
    parts += [cfg.churn_min_buyers, cfg.churn_min_class_rows, cfg.churn_backtest_origins]
    o = tables.orders
    row = (
        o.aggregate(
            n=o.count(),
            total=o.amount.cast("float64").sum(),
            first=o.ordered_at.min(),
            last=o.ordered_at.max(),
            customers=o.customer_id.nunique(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    # the same data read through another source: same fingerprint (sums to the cent, times
    # to the second without the time zone's spelling)
    parts += [row["n"], round(float(row["total"] or 0), 2), row["customers"]]
    parts += [str(row["first"])[:19], str(row["last"])[:19]]
    for table in (tables.complaints, tables.surveys, tables.interactions):
        if table is not None:
            parts.append(table.count().to_pyarrow().as_py())
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _json_clean(value: Any) -> Any:
    """Dates as ISO text and NaN as None, recursively (for a JSON field)."""
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_clean(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float):
        return round(value, 6)
    return value


def churn_model_for(
    *,
    tables: AppTables,
    as_of: dt.date,
    settings: AnalyticsSettings | None = None,
    now: dt.datetime,
) -> tuple[ChurnModelVersion, ChurnModel]:
    """The churn model of a run as of ``as_of``.

    The newest stored version when the data it learned from has not changed (and it learned
    nothing after ``as_of``); else a new version, trained and back-tested by the engine and
    stored with its back-test (versions are numbered by their id).
    """
    cfg = settings or AnalyticsSettings()
    fingerprint = _data_fingerprint(tables, cfg)
    latest = ChurnModelVersion.objects.filter(
        data_fingerprint=fingerprint, as_of__lte=as_of
    ).first()
    if latest is not None:
        try:
            stored = pickle.loads(bytes(latest.model))
        except Exception:  # a model of another library version: retrain
            stored = None
        if isinstance(stored, ChurnModel):
            return latest, stored
    kwargs = tables.engine_kwargs()
    kwargs["columns"] = ORDER_COLUMNS  # the plain orders: no channel or category needed
    model = fit_churn_model(tables.orders, as_of=as_of, settings=cfg, **kwargs)
    version = ChurnModelVersion(
        trained_at=now,
        as_of=as_of,
        data_fingerprint=fingerprint,
        kind=model.kind,
        horizon_days=model.horizon_days,
        fallback_reason=model.fallback_reason,
        description=model.describe(),
        backtest=_json_clean(model.backtest.to_dict()) if model.backtest is not None else None,
        model=pickle.dumps(model),
    )
    version.full_clean()
    version.save()
    return version, model


def scoring_run(
    *,
    as_of: dt.date,
    source: TableSource = TableSource.AUTO,
    tables: AppTables | None = None,
    settings: AnalyticsSettings | None = None,
    now: dt.datetime | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ScoringRun:
    """Score every customer as of ``as_of`` and store the results.

    A run for the same ``as_of`` gives the same result; a failed run leaves the previous
    scores as they were and is marked failed with its error.
    """
    now = now or timezone.now()
    step = progress or (lambda _label: None)
    run = _run_start(as_of=as_of, now=now, force=force)
    try:
        with beating(lambda: _beat(run)):
            step(_("reading tables"))
            tables = tables or app_tables(source=source, preferences=True)
            step(_("learning the churn probability"))
            version, churn = churn_model_for(tables=tables, as_of=as_of, settings=settings, now=now)
            run.churn_model = version
            step(_("scoring customers"))
            frame = score_customers(
                tables.score_orders,
                as_of=as_of,
                settings=settings,
                churn=churn,
                **tables.engine_kwargs(),
            )
            step(_("computing KPIs"))
            # The month's KPIs from the summary behind the scores: computed once, not twice.
            summary = ibis.memtable(frame[list(SUMMARY_COLUMNS)])
            figures = kpi_snapshot(as_of=as_of, tables=tables, settings=settings, summary=summary)
            step(_("writing scores"))
            _apply(run, frame, figures, now)
    except Exception as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    return run
