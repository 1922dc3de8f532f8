"""The app's data for the engine on a cluster: a Parquet export in the layout `retain analyze`
reads (one folder of parts per table), with ids only, never names, phones or e-mails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow.parquet as pq
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from retain.accounts.access import EXPORT_CUSTOMERS, customers_visible_to, require
from retain.audit.models import AuditAction
from retain.audit.services import audit_event
from retain.customers.models import Customer
from retain.scoring.models import RunStatus, ScoringRun
from retain.scoring.tables import app_tables

#: `retain analyze` options for the exported orders folder (see docs/analytics.md)
ANALYZE_OPTIONS = (
    "--customer-col customer_id --date-col ordered_at --amount-col amount "
    "--status-col status --channel-col channel --category-col category"
)


@dataclass(frozen=True, slots=True)
class LakeExport:
    """Rows written per table folder (``orders``, ``customers``, ...)."""

    folder: Path
    rows: dict[str, int]


def lake_export(*, actor: Any, folder: Path, request: Any = None) -> LakeExport:
    """Write the engine's inputs as Parquet folders under ``folder``; checked and audited.

    Needs the customer export permission and sight of every customer (the engine scores the
    whole company). Orders carry the customer id, time, amount, status, channel and category;
    an order refunded in full is left out, as the nightly scoring drops it. The other tables
    (customers, interactions, complaints, surveys, followups) carry ids, dates and codes only.
    """
    require(actor, EXPORT_CUSTOMERS)
    if customers_visible_to(actor).count() != Customer.objects.count():
        raise PermissionDenied(_("The analytics export needs a role that sees every customer."))
    audit_event(
        actor=actor,
        action=AuditAction.EXPORT,
        object_repr=_("analytics export (Parquet): %(folder)s") % {"folder": folder},
        request=request,
    )
    tables = app_tables(preferences=True)
    orders = tables.score_orders
    wanted = {
        "orders": orders.filter(orders.status != "refunded"),
        "customers": tables.customers,
        "interactions": tables.interactions,
        "complaints": tables.complaints,
        "surveys": tables.surveys,
    }
    if tables.followups is not None:
        wanted["followups"] = tables.followups
    rows: dict[str, int] = {}
    for name, table in wanted.items():
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("part-*.parquet"):
            old.unlink()
        arrow = _naive_utc(table.to_pyarrow())
        pq.write_table(arrow, target / "part-00000.parquet")
        rows[name] = arrow.num_rows
    return LakeExport(folder=folder, rows=rows)


def _naive_utc(arrow: Any) -> Any:
    """Times as UTC without a zone, whatever the database gave (PostgreSQL: with a zone;
    SQLite: without): the files read the same from either, as the app's scoring reads them."""
    import pyarrow as pa

    for i, field in enumerate(arrow.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            naive = arrow.column(i).cast(pa.timestamp(field.type.unit))
            arrow = arrow.set_column(i, field.name, naive)
    return arrow


# -- scores back from the cluster ----------------------------------------------------------------
#: Columns a scores file must have (those `retain analyze` writes that the app cannot do without)
REQUIRED_SCORE_COLUMNS = ("customer_id", "rfm_segment", "lifecycle_stage", "churn_risk")
#: Number columns of a scores file, checked when present (text columns are taken as text)
NUMBER_COLUMNS = (
    "r_score", "f_score", "m_score", "order_count", "total_spend", "recency_days", "p_alive",
    "predicted_ltv", "expected_purchases_90d", "open_complaints", "recent_complaints",
    "last_nps", "churn_probability", "expected_lost_value", "value_spend", "activity_orders",
)  # fmt: skip


class ScoresFileError(ValueError):
    """The scores file cannot be loaded; the message names the file, the row and the field."""


def _scores_frame(path: Path) -> pd.DataFrame:
    """The scores of a .csv or .parquet file or a folder of Parquet parts; ids as text."""
    if path.is_dir():
        parts = sorted(p for p in path.glob("*.parquet") if not p.name.startswith((".", "_")))
        if not parts:
            raise ScoresFileError(_("%(file)s: the folder has no .parquet file") % {"file": path})
        frames = [(p, pd.read_parquet(p)) for p in parts]
    elif path.suffix.lower() == ".parquet":
        frames = [(path, pd.read_parquet(path))]
    elif path.suffix.lower() == ".csv":
        frames = [(path, pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]))]
    else:
        raise ScoresFileError(
            _("%(file)s: use a .csv or .parquet file of retain analyze") % {"file": path.name}
        )
    for part, frame in frames:
        missing = [c for c in REQUIRED_SCORE_COLUMNS if c not in frame.columns]
        if missing:
            raise ScoresFileError(
                _("%(file)s: no column %(columns)s (the columns are: %(found)s)")
                % {
                    "file": part.name,
                    "columns": ", ".join(missing),
                    "found": ", ".join(frame.columns),
                }
            )
        frame["_file"] = part.name
        frame["_row"] = range(1, len(frame) + 1)
        # ids are text, as written ("0042" is not customer 42's id in every system)
        frame["customer_id"] = frame["customer_id"].astype("string").str.strip()
    return pd.concat([f for _p, f in frames], ignore_index=True)


def _row_error(frame: pd.DataFrame, mask: Any, field: str, what: str) -> ScoresFileError:
    first = frame[mask].iloc[0]
    return ScoresFileError(
        _("%(file)s row %(row)s, field %(field)s: %(what)s (%(count)s such row(s))")
        % {
            "file": first["_file"],
            "row": first["_row"],
            "field": field,
            "what": what % {"value": first[field]},
            "count": int(mask.sum()),
        }
    )


def scores_import(
    *,
    actor: Any,
    path: Path,
    as_of: dt.date,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScoringRun:
    """Load a scores file of `retain analyze` as the scoring run of ``as_of``.

    Checked (permission to run scoring; every row names a customer of the app by its id, every
    number is a number), then written by the nightly scoring's own path: the current scores
    replaced, this day's segment history, the month's KPIs and the automatic tags, all or
    nothing. Loading the same file again gives the same scores. ``actor`` None: a system load.
    ``progress`` is told each step's name, untranslated (the upload page translates it).
    """
    from django.db import transaction
    from django.utils import timezone

    from retain.analytics import SUMMARY_COLUMNS
    from retain.kpis.figures import kpi_snapshot
    from retain.pipeline.heartbeat import beating
    from retain.scoring.services import _apply, _beat, _run_start

    step = progress or (lambda _label: None)
    if actor is not None:
        require(actor, "scoring.add_scoringrun")
    step(gettext_noop("checking the file"))
    frame = _scores_frame(path)
    ids = frame["customer_id"]
    bad = ids.isna() | ~ids.fillna("").str.fullmatch(r"\d{1,18}")
    if bad.any():
        raise _row_error(frame, bad, "customer_id", _("%(value)r is not a customer id"))
    frame["customer_id"] = ids.astype("int64")
    known = set(Customer.objects.values_list("id", flat=True))
    unknown = ~frame["customer_id"].isin(known)
    if unknown.any():
        raise _row_error(frame, unknown, "customer_id", _("no customer has the id %(value)s"))
    twice = frame["customer_id"].duplicated()
    if twice.any():
        raise _row_error(frame, twice, "customer_id", _("customer %(value)s is scored twice"))
    for column in NUMBER_COLUMNS:
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column]):
            numbers = pd.to_numeric(frame[column], errors="coerce")
            wrong = numbers.isna() & frame[column].notna()
            if wrong.any():
                raise _row_error(frame, wrong, column, _("%(value)r is not a number"))
            frame[column] = numbers
    now = now or timezone.now()
    run = _run_start(as_of=as_of, now=now)
    try:
        with beating(lambda: _beat(run)):  # a long load is not taken for a dead run
            step(gettext_noop("computing KPIs"))
            summary = None
            if all(c in frame.columns for c in SUMMARY_COLUMNS):
                summary = ibis.memtable(frame[list(SUMMARY_COLUMNS)])
            figures = kpi_snapshot(as_of=as_of, summary=summary)
            step(gettext_noop("writing scores"))
            # The audit row commits with the scores or not at all.
            with transaction.atomic():
                audit_event(
                    actor=actor,
                    action=AuditAction.IMPORT,
                    obj=run,
                    object_repr=_("scores from %(file)s as of %(as_of)s")
                    % {"file": path.name, "as_of": as_of},
                    after={"file": path.name, "as_of": as_of.isoformat()},  # obj names the run
                )
                _apply(run, frame.drop(columns=["_file", "_row"]), figures, now)
    except Exception as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    run.refresh_from_db()
    return run
