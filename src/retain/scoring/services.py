"""The scoring run: the engine over the app's data, written back in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import pickle
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
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
from retain.core.bulk import analyze, frame_insert, objects_insert
from retain.customers.models import Customer
from retain.kpis.figures import kpi_snapshot
from retain.pipeline.heartbeat import beating, is_dead, me
from retain.playbooks.conditions import conditions_q
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
from retain.scoring.tables import (
    CUSTOMER_COLUMNS,
    ENGINE_LOCK,
    AppTables,
    TableSource,
    app_tables,
)
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


#: The score's columns as the engine's frame has them, by kind (see ``_score_rows``).
_TEXT = (
    "quadrant",
    "lifecycle_stage",
    "rfm_segment",
    "value_tier",
    "activity_level",
    "churn_risk",
    "risk_reasons",
    "churn_model",
    "preferred_channel",
    "preferred_category",
)
_INTS = ("r_score", "f_score", "m_score", "recency_days", "last_nps")
_INTS_OR_ZERO = ("order_count", "open_complaints", "recent_complaints", "activity_orders")
#: name → decimals. Rounded: sums in the database differ in the last bits between runs and
#: backends.
_FLOATS = {
    "p_alive": 6,
    "predicted_ltv": 2,
    "expected_purchases_90d": 6,
    "churn_probability": 6,
    "expected_lost_value": 2,
}
_FLOATS_OR_ZERO = {"total_spend": 2, "value_spend": 2}
_DIMENSIONS = (Dimension.QUADRANT, Dimension.LIFECYCLE, Dimension.RISK)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].reset_index(drop=True)
    return pd.Series([None] * len(frame), dtype=object)


def _text_column(values: pd.Series) -> pd.Series:
    """Text, "" for a missing value."""
    return values.astype(object).where(values.notna(), "").astype(str)


def _int_column(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return pd.Series(np.trunc(numbers), dtype="float64").astype("Int64")


def _float_column(values: pd.Series, digits: int) -> pd.Series:
    return pd.Series(np.round(pd.to_numeric(values, errors="coerce").astype("float64"), digits))


def _date_column(values: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` text, NaN for a missing date."""
    days = pd.to_datetime(values, errors="coerce")
    if getattr(days.dt, "tz", None) is not None:
        days = days.dt.tz_localize(None)
    return days.dt.strftime("%Y-%m-%d").astype(object)


def _reason_codes_json(reasons: pd.Series) -> pd.Series:
    """The ``reason_codes`` JSON of each ``risk_reasons`` text: each distinct text parsed once
    (JSON as Django writes it, so the rows equal those ``save()`` would write)."""
    codes, distinct = pd.factorize(reasons, sort=False)
    as_json = [json.dumps([r.to_dict() for r in parse_reasons(text)]) for text in distinct]
    if len(codes) == 0:
        return pd.Series([], dtype=object)
    return pd.Series(np.asarray(as_json, dtype=object)[codes], dtype=object)


def _previous_scores() -> pd.DataFrame:
    columns = ["customer_id", "as_of", "quadrant", "lifecycle_stage", "churn_risk"]
    columns += ["previous_as_of", "previous_quadrant"]
    columns += ["previous_lifecycle_stage", "previous_churn_risk"]
    rows = CustomerScore.objects.values_list(*columns)
    old = pd.DataFrame.from_records(list(rows), columns=columns)
    return old.astype({"customer_id": "int64"})


def _score_rows(run: ScoringRun, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New score rows and the changes against the state before ``run.as_of``, column-wise.

    Both frames have the tables' column names, rows in the engine's customer order (the
    changes of a customer in the order quadrant, lifecycle stage, risk) and values as
    :func:`retain.core.bulk.frame_insert` writes them.
    """
    ids = pd.to_numeric(_column(frame, "customer_id")).astype("int64")
    known = np.fromiter(Customer.objects.values_list("id", flat=True), dtype="int64")
    keep = ids.isin(known).to_numpy()  # not those deleted while the engine ran
    engine = frame.reset_index(drop=True).loc[keep].reset_index(drop=True)
    ids = ids.loc[keep].reset_index(drop=True)

    rows = pd.DataFrame({"customer_id": ids})
    rows["run_id"] = run.pk
    rows["as_of"] = run.as_of.isoformat()
    for name in _TEXT:
        rows[name] = _text_column(_column(engine, name))
    for name in _INTS:
        rows[name] = _int_column(_column(engine, name))
    for name in _INTS_OR_ZERO:
        rows[name] = _int_column(_column(engine, name)).fillna(0)
    for name, digits in _FLOATS.items():
        rows[name] = _float_column(_column(engine, name), digits)
    for name, digits in _FLOATS_OR_ZERO.items():
        rows[name] = _float_column(_column(engine, name), digits).fillna(0.0)
    rows["last_purchase"] = _date_column(_column(engine, "last_purchase"))
    rows["reason_codes"] = _reason_codes_json(rows["risk_reasons"])

    # the state before this as_of: the stored score, or on a re-run what came before it
    old = _previous_scores()
    before = rows[["customer_id"]].merge(old, on="customer_id", how="left", validate="1:1")
    scored = before["as_of"].notna().to_numpy()
    rerun = (before["as_of"] == run.as_of).to_numpy()
    rows["previous_as_of"] = _date_column(
        pd.Series(np.where(rerun, before["previous_as_of"], before["as_of"]), dtype=object)
    )
    for name in ("quadrant", "lifecycle_stage", "churn_risk"):
        value = np.where(rerun, before[f"previous_{name}"], before[name])
        rows[f"previous_{name}"] = _text_column(pd.Series(value, dtype=object))

    parts = []
    for order, dimension in enumerate(_DIMENSIONS):
        name = dimension.value
        changed = ~scored | (rows[f"previous_{name}"] != rows[name]).to_numpy()
        part = pd.DataFrame(
            {
                "position": np.flatnonzero(changed),
                "order": order,
                "customer_id": rows["customer_id"].to_numpy()[changed],
                "dimension": name,
                "from_value": rows[f"previous_{name}"].to_numpy()[changed],
                "to_value": rows[name].to_numpy()[changed],
            }
        )
        parts.append(part)
    changes = pd.concat(parts, ignore_index=True).sort_values(
        ["position", "order"], kind="stable", ignore_index=True
    )
    changes.insert(1, "as_of", run.as_of.isoformat())
    return rows, changes.drop(columns=["position", "order"])


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
        objects_insert(
            [
                CustomerTag(customer_id=cid, tag=rule.tag, automatic=True, tagged_at=now)
                for cid in new
            ]
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
    scores, changes = _score_rows(run, frame)
    with transaction.atomic():
        # once committed: the planner's statistics of the rewritten tables (PostgreSQL)
        transaction.on_commit(lambda: analyze(CustomerScore, SegmentChange, CustomerTag))
        CustomerScore.objects.all().delete()
        frame_insert(CustomerScore, scores)  # COPY on PostgreSQL
        # This as_of's history: keep the rows a re-run finds again, so their ids stay.
        key = ["customer_id", "dimension", "from_value", "to_value"]
        kept = pd.DataFrame.from_records(
            list(SegmentChange.objects.filter(as_of=run.as_of).values_list("pk", *key)),
            columns=["pk", *key],
        ).astype({"pk": "int64", "customer_id": "int64"})
        matched = changes.merge(kept, on=key, how="left", validate="1:1")["pk"]
        fresh = changes.loc[matched.isna().to_numpy()]
        stale = sorted(set(kept["pk"].tolist()) - set(matched.dropna().astype("int64").tolist()))
        for at in range(0, len(stale), BATCH):
            SegmentChange.objects.filter(pk__in=stale[at : at + BATCH]).delete()
        frame_insert(SegmentChange, fresh)
        KpiSnapshot.objects.update_or_create(
            month=run.as_of.replace(day=1), defaults={"as_of": run.as_of, "figures": figures}
        )
        added, removed = tag_rules_apply(now=now)
        run.status = RunStatus.DONE
        run.finished_at = timezone.now()
        run.customers = len(scores)
        run.changes = int((changes["from_value"] != "").sum())
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
CHURN_MODEL_FORMAT = 3  # 2: follow-ups, business/person, mix; 3: Pareto/NBD, sampled rows


def _data_fingerprint(tables: AppTables, cfg: AnalyticsSettings) -> str:
    """A hash of what the churn model learns from: order, complaint, survey and interaction
    counts, sums and dates; the follow-ups (tasks: count, closed, outcomes, dates); the
    customers and how many are businesses; and the churn settings. One aggregate per table."""
    parts: list[Any] = [CHURN_MODEL_FORMAT, cfg.churn_horizon_days, cfg.churn_train_periods]
    parts += [cfg.churn_min_buyers, cfg.churn_min_class_rows, cfg.churn_backtest_origins]
    parts += [cfg.churn_max_train_rows, cfg.churn_large_buyers, cfg.churn_seed]
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
    parts += _followup_fingerprint(tables.followups)
    c = tables.customers
    # the customer's kind (business or person) is a feature too
    business = c.kind.isin(CUSTOMER_COLUMNS.business_kinds)
    parts += [
        c.aggregate(n=c.count(), business=business.ifelse(1, 0).sum()).to_pyarrow().to_pylist()[0]
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _followup_fingerprint(followups: ir.Table | None) -> list[Any]:
    """The follow-ups' share of the fingerprint: a new, closed or re-dated follow-up, or a new
    outcome, changes it (follow-ups and their outcomes are churn features)."""
    if followups is None:
        return ["no follow-ups"]
    f = followups
    if f.count().to_pyarrow().as_py() == 0:
        # an empty table: SQLite's Ibis backend types max(created_at) as not null and refuses
        # the NULL it returns; this is what the other sources give for no rows
        return [0, 0, 0, 0, "None", "None", 0]
    outcome = f.outcome.fill_null("")
    row = (
        f.aggregate(
            n=f.count(),
            closed=f.closed_at.notnull().ifelse(1, 0).sum(),
            won=(outcome == "won_back").ifelse(1, 0).sum(),
            lost=(outcome == "lost").ifelse(1, 0).sum(),
            last_created=f.created_at.max(),
            last_closed=f.closed_at.max(),
            due=f.due_on.cast("date").epoch_days().sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    # times to the second without the time zone's spelling, as for the orders
    return [
        row["n"],
        row["closed"] or 0,
        row["won"] or 0,
        row["lost"] or 0,
        str(row["last_created"])[:19],
        str(row["last_closed"])[:19],
        int(row["due"] or 0),
    ]


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
    # the same tables as the scores: the channel and category mix are features too
    model = fit_churn_model(tables.engine_tables(), as_of=as_of, settings=cfg)
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
            with ENGINE_LOCK:
                version, churn = churn_model_for(
                    tables=tables, as_of=as_of, settings=settings, now=now
                )
            run.churn_model = version
            step(_("scoring customers"))
            with ENGINE_LOCK:
                frame = score_customers(
                    tables.engine_tables(), as_of=as_of, settings=settings, churn=churn
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
