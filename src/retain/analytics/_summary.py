"""Per-customer summary as Ibis expressions: runs inside whatever backend holds the orders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir

from retain.analytics._labels import (
    SEGMENT_GRID,
    ActivityLevel,
    LifecycleStage,
    Quadrant,
    ValueTier,
)
from retain.analytics._settings import AnalyticsSettings, OrderColumns
from retain.analytics._tables import Tables, as_tables

__all__ = [
    "MIX_COLUMNS",
    "PREFERENCE_COLUMNS",
    "SUMMARY_COLUMNS",
    "customer_summary",
    "day_number",
    "first_day_spend",
    "first_spend_by_argmin",
    "normalized_orders",
    "preferred_value",
    "purchase_orders",
    "value_key",
]

_EPOCH = dt.date(1970, 1, 1)
_SECONDS_PER_DAY = 86400

#: Columns of :func:`customer_summary`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "first_contact",
    "first_purchase",
    "last_purchase",
    "order_count",
    "purchase_days",
    "frequency",
    "recency_days",
    "t_x_days",
    "T_days",
    "avg_interpurchase_days",
    "total_spend",
    "gross_spend",
    "refund_amount",
    "refund_count",
    "avg_order_value",
    "monetary_value",
    "recent_orders",
    "recent_spend",
    "previous_spend",
    "previous_orders",
    "value_spend",
    "activity_orders",
    "recent_interactions",
    "open_complaints",
    "recent_complaints",
    "open_complaint_days",
    "last_nps",
    "is_business",
    "open_followups",
    "overdue_followups",
    "followups_won",
    "followups_lost",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "value_tier",
    "activity_level",
    "quadrant",
    "lifecycle_stage",
)

#: Order attributes whose most frequent value a customer "prefers" (see :func:`preferred_value`).
PREFERENCES: tuple[str, ...] = ("channel", "category")
#: Columns :func:`customer_summary` appends, in this order, for the attributes ``OrderColumns``
#: names (``channel`` -> ``preferred_channel``, ``category`` -> ``preferred_category``).
PREFERENCE_COLUMNS: tuple[str, ...] = tuple(f"preferred_{name}" for name in PREFERENCES)
#: The mix of each such attribute, appended after the preferences: ``<name>_count`` (distinct
#: values among the purchase orders) and ``<name>_share`` (share of those orders with a value
#: that have the preferred one).
MIX_COLUMNS: tuple[str, ...] = tuple(
    f"{name}_{what}" for name in PREFERENCES for what in ("count", "share")
)


def day_number(value: dt.date) -> int:
    """Days since 1970-01-01 of a date (the engine's integer day axis)."""
    return (value - _EPOCH).days


def _as_date(as_of: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(as_of, str):
        return dt.date.fromisoformat(as_of[:10])
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    return as_of


def _timestamp(col: ir.Value) -> ir.TimestampValue:
    dtype = col.type()
    if dtype.is_timestamp():
        assert isinstance(col, ir.TimestampValue)
        return col
    return col.cast("timestamp")  # type: ignore[return-value]


def _days(col: ir.Value) -> ir.IntegerValue:
    ts = _timestamp(col)
    return (ts.epoch_seconds() // _SECONDS_PER_DAY).cast("int64")  # type: ignore[no-any-return]


def _ones(flag: ir.BooleanValue) -> ir.IntegerValue:
    """1 where ``flag`` is true, else 0 (PostgreSQL cannot cast boolean to bigint)."""
    return ibis.ifelse(flag, 1, 0).cast("int64")  # type: ignore[no-any-return]


def _lower_text(col: ir.Value) -> ir.StringValue:
    return col.cast("string").lower()  # type: ignore[no-any-return]


def _backend_name(table: ir.Table) -> str | None:
    try:
        return str(table._find_backend(use_default=True).name)
    except Exception:  # an unbound expression
        return None


def first_spend_by_argmin(table: ir.Table) -> bool:
    """Whether the backend of ``table`` computes an arg-min correctly inside a grouped query.

    SQLite compiles it to a "bare column" next to ``MIN``, which is only defined when that is
    the query's single aggregate; there the spend of the first purchase day is found with a
    window instead (slower, same result).
    """
    return _backend_name(table) != "sqlite"


@ibis.udf.agg.builtin(name="arg_min")  # type: ignore[untyped-decorator]
def _duckdb_arg_min(arg: float, key: int) -> float:  # type: ignore[empty-body]
    """DuckDB's own ``arg_min(arg, key)``."""


def first_day_spend(
    table: ir.Table, spend: ir.FloatingValue, day: ir.IntegerValue, *, where: Any = None
) -> ir.FloatingValue:
    """The ``spend`` of the row with the smallest ``day`` in a group (days distinct per group).

    Ibis compiles ``argmin`` for DuckDB to ``FIRST(spend ORDER BY day)``, an ordered aggregate
    that sorts every group; DuckDB's own ``arg_min`` is a plain hash aggregate (about a third
    of the summary's CPU time at 10M orders) and, days being distinct, gives the same value.
    Other backends use ``argmin`` (not SQLite: see :func:`first_spend_by_argmin`).
    """
    if _backend_name(table) == "duckdb":
        return _duckdb_arg_min(spend, day, where=where)  # type: ignore[no-any-return]
    return spend.argmin(day, where=where)  # type: ignore[no-any-return]


def normalized_orders(
    orders: ir.Table, *, as_of: dt.date, columns: OrderColumns | None = None
) -> ir.Table:
    """Orders up to and including ``as_of`` with the engine's column names.

    Columns: ``customer_id``, ``ts``, ``day`` (days since 1970-01-01), ``month`` (year * 12 +
    month - 1), ``purchase`` (bool), ``refund`` (bool), ``amount`` (purchase value, 0 for refunds),
    ``refund_value`` (positive refund value, 0 for purchases). A zero-amount row that is not
    a refund is a purchase worth 0 (a free order still is a visit; the CDNOW data has them).
    When ``columns`` names them, also ``channel`` and ``category`` (as text).
    """
    c = columns or OrderColumns()
    ts = _timestamp(orders[c.timestamp]) if c.timestamp in orders.columns else None
    fields: dict[str, Any] = {}
    if ts is not None:
        fields = {"ts": ts, "day": _days(ts), "month": ts.year() * 12 + ts.month() - 1}
    if c.channel is not None and c.channel in orders.columns:
        fields["channel"] = orders[c.channel].cast("string")
    if c.category is not None and c.category in orders.columns:
        fields["category"] = orders[c.category].cast("string")
    t, refund = _kept_orders(orders, as_of=as_of, columns=c, fields=fields)
    purchase = ~refund  # zero amounts (free orders) are purchases worth nothing
    return t.select(
        "customer_id",
        "ts",
        "day",
        "month",
        *[name for name in PREFERENCES if name in t.columns],
        purchase=purchase,
        refund=refund,
        amount=ibis.ifelse(purchase, t.raw_amount, 0.0),
        refund_value=ibis.ifelse(refund, t.raw_amount.abs(), 0.0),
    )


def purchase_orders(
    orders: ir.Table, *, as_of: dt.date, columns: OrderColumns | None = None
) -> ir.Table:
    """The purchases of :func:`normalized_orders`, with only ``customer_id``, ``day``, ``amount``.

    The same rows and values as ``normalized_orders(...).filter(purchase)`` (refunds, ignored
    statuses and orders after ``as_of`` are out), in a smaller expression: what the model
    inputs read, cheaper to build and to compile (a fixed cost of every query).
    """
    c = columns or OrderColumns()
    ts = orders[c.timestamp] if c.timestamp in orders.columns else None
    fields: dict[str, Any] = {} if ts is None else {"day": _days(ts)}
    t, refund = _kept_orders(orders, as_of=as_of, columns=c, fields=fields)
    t = t.filter(~refund)
    return t.select("customer_id", "day", amount=t.raw_amount)


def _kept_orders(
    orders: ir.Table, *, as_of: dt.date, columns: OrderColumns, fields: dict[str, Any]
) -> tuple[ir.Table, ir.BooleanValue]:
    """Orders up to ``as_of`` with an id and an amount, less ignored statuses; the refund flag.

    ``fields`` are the columns to compute besides ``customer_id``, ``raw_amount`` (float) and
    ``status`` (lower-case text, when named); it must hold ``day``.
    """
    c = columns
    missing = [
        name
        for name in (c.customer_id, c.timestamp, c.amount, c.status, c.channel, c.category)
        if name is not None and name not in orders.columns
    ]
    if missing:
        raise KeyError(f"orders table has no column {missing[0]!r}; columns: {orders.columns}")
    values: dict[str, Any] = {
        "customer_id": orders[c.customer_id],
        **fields,
        "raw_amount": orders[c.amount].cast("float64"),
    }
    if c.status is not None:
        values["status"] = _lower_text(orders[c.status])
    t = orders.select(**values)
    t = t.filter(t.day <= day_number(as_of), t.customer_id.notnull(), t.raw_amount.notnull())
    refund = t.raw_amount < 0
    if c.status is not None:
        status = t["status"]
        ignored = [s.lower() for s in c.ignored_statuses]
        if ignored:
            t = t.filter(status.isnull() | ~status.isin(ignored))
            status = t["status"]
            refund = t.raw_amount < 0
        refunds = [s.lower() for s in c.refund_statuses]
        if refunds:
            refund = refund | status.isin(refunds).fill_null(False)
    return t, refund


def preferred_value(orders: ir.Table, name: str) -> ir.Table:
    """Per customer, the value of column ``name`` with the most purchase orders.

    ``orders`` are normalized orders (:func:`normalized_orders`), so refunds, ignored statuses
    and orders after ``as_of`` are already out or flagged. Ties are broken by the most recent
    purchase with that value, then by the smallest value in text order, so every backend picks
    the same one. Null values are ignored; a customer with none has no row.

    One grouped count per (customer, value) and a window rank per customer: no arg-max, which
    SQLite gets wrong next to other aggregates.

    Returns
    -------
    ibis.Table
        ``customer_id``, ``preferred_<name>``, ``<name>_count`` (distinct values) and
        ``<name>_share`` (purchase orders with the preferred value / those with any value).
    """
    p = orders.filter(orders.purchase, orders[name].notnull())
    counts = p.group_by(["customer_id", name]).aggregate(n=p.count(), last_ts=p.ts.max())
    pos = ibis.row_number().over(
        group_by=counts.customer_id,
        order_by=[counts.n.desc(), counts.last_ts.desc(), counts[name].asc()],
    )
    ranked = counts.mutate(
        pos=pos,
        values=counts.n.count().over(group_by=counts.customer_id),
        total=counts.n.sum().over(group_by=counts.customer_id),
    )
    best = ranked.filter(ranked.pos == 0)
    return best.select(
        "customer_id",
        **{
            f"preferred_{name}": best[name],
            f"{name}_count": best["values"].cast("int64"),
            f"{name}_share": (best.n / best.total).cast("float64"),
        },
    )


def _score(order_by: ir.Value, group: ir.Value, *, bins: int, descending: bool) -> ir.IntegerValue:
    """1..bins within ``group``; tied values share the score of the lowest position."""
    key = order_by.desc() if descending else order_by.asc()
    rank = ibis.rank().over(group_by=group, order_by=key)
    n = group.count().over(group_by=group)
    return ((rank * bins) / n).floor().cast("int64") + 1  # type: ignore[no-any-return]


def value_key(value_spend: ir.FloatingValue) -> ir.FloatingValue:
    """``value_spend`` to 6 decimals: what the value rank and thresholds compare.

    A sum of amounts in cents carries float noise that depends on the order of the additions
    (the plan, the threads, the backend); rounded, two customers who spent the same stay tied,
    so every backend and every query shape (:func:`kpis_at`'s too) places them alike.
    """
    return value_spend.round(6).cast("float64")  # type: ignore[no-any-return]


def _rank_share(order_by: ir.Value, group: ir.Value) -> ir.FloatingValue:
    """Share of ``group`` strictly ahead of this one when sorted by ``order_by`` descending."""
    rank = ibis.rank().over(group_by=group, order_by=order_by.desc())
    n = group.count().over(group_by=group)
    return (rank / n).cast("float64")  # type: ignore[no-any-return]


def _segment(r: ir.IntegerValue, fm: ir.IntegerValue) -> ir.StringValue:
    key = r * 10 + fm
    mapping = {
        r_score * 10 + i + 1: str(name)
        for r_score, row in SEGMENT_GRID.items()
        for i, name in enumerate(row)
    }
    return key.substitute(mapping, else_=ibis.null("string"))  # type: ignore[no-any-return]


def customer_summary(
    tables: Tables | ir.Table,
    *,
    as_of: dt.date | dt.datetime | str,
    settings: AnalyticsSettings | None = None,
) -> ir.Table:
    """One row per customer with purchase history, RFM, value, activity and lifecycle.

    The whole computation is an Ibis expression: it runs in the backend that holds the orders
    (DuckDB, SQLite, PostgreSQL, Spark ...). Only records on or before ``as_of`` count.

    Parameters
    ----------
    tables : Tables or ibis.Table
        The orders and the optional customers, interactions, complaints and surveys with their
        column names (:class:`Tables`); a bare orders table means ``Tables(orders)``.
        Customers without orders become prospects.
    as_of : datetime.date
        The date the summary describes (inclusive). Nothing reads the clock.
    settings : AnalyticsSettings, optional
        Windows and thresholds; defaults to ``AnalyticsSettings()``.

    Returns
    -------
    ibis.Table
        The columns of :data:`SUMMARY_COLUMNS`. Day counts are integers; ``frequency`` is the
        number of repeat purchase days (lifetimes convention). When ``tables.columns`` names a
        ``channel`` and/or ``category`` column, ``preferred_channel`` and/or
        ``preferred_category`` follow (see :data:`PREFERENCE_COLUMNS`): the value with the most
        purchase orders on or before ``as_of`` (refunds and ignored statuses excluded); ties go
        to the value purchased most recently, then to the smallest in text order. Null values
        are ignored; a customer without any value (or without purchases) gets null.

    Examples
    --------
    >>> import ibis, datetime as dt
    >>> orders = ibis.memtable({"customer_id": [1, 1], "timestamp": ["2024-01-01", "2024-02-01"],
    ...                         "amount": [10.0, 30.0]})
    >>> s = customer_summary(orders, as_of=dt.date(2024, 3, 1)).to_pandas()
    >>> int(s.frequency[0]), int(s.recency_days[0]), float(s.total_spend[0])
    (1, 29, 40.0)
    >>> orders = orders.mutate(channel=ibis.literal("online"))
    >>> tables = Tables(orders, columns=OrderColumns(channel="channel"))
    >>> customer_summary(tables, as_of=dt.date(2024, 3, 1)).to_pandas()[
    ...     "preferred_channel"].tolist()
    ['online']
    """
    t = as_tables(tables)
    cfg = settings or AnalyticsSettings()
    as_of_date = _as_date(as_of)
    asof = day_number(as_of_date)
    o = normalized_orders(t.orders, as_of=as_of_date, columns=t.columns)
    preferences = [name for name in PREFERENCES if name in o.columns]

    per = _purchase_history(o, asof=asof, cfg=cfg, orders=t.orders)
    base, sides = _customer_base(per, t)
    id_type = per.customer_id.type()
    defaults: dict[str, ir.Value] = {}
    for side in (_interaction_side, _complaint_side, _survey_side, _kind_side, _followup_side):
        table, missing = side(t, id_type=id_type, asof=asof, cfg=cfg)
        if table is not None:
            sides.append(table)
        defaults.update(missing)
    sides.extend(preferred_value(o, name) for name in preferences)

    joined = _flat_join(base, sides, defaults, with_customers=t.customers is not None)
    summary = _segments(_history_columns(joined, asof=asof), cfg)
    mix = [f"{name}_{what}" for name in preferences for what in ("count", "share")]
    summary = summary.mutate(**{c: summary[c].fill_null(0) for c in mix if c.endswith("_count")})
    return summary.select(*SUMMARY_COLUMNS, *(f"preferred_{name}" for name in preferences), *mix)


def _purchase_history(
    o: ir.Table, *, asof: int, cfg: AnalyticsSettings, orders: ir.Table
) -> ir.Table:
    """Step 1: per customer, first/last purchase, counts, spend, refunds and window totals.

    Two grouped aggregations: one row per (customer, day), then one per customer.
    """
    recent_start = asof - cfg.recent_window_days  # window is (start, as_of]
    previous_start = recent_start - cfg.recent_window_days
    value_start = asof - cfg.value_window_days
    activity_start = asof - cfg.activity_window_days

    daily = o.group_by(["customer_id", "day"]).aggregate(
        orders=_ones(o.purchase).sum(),
        spend=o.amount.sum(),
        refunds=o.refund_value.sum(),
        refund_rows=_ones(o.refund).sum(),
        first_ts=o.ts.min(where=o.purchase),
        last_ts=o.ts.max(where=o.purchase),
    )
    d = daily.mutate(bought=daily.orders > 0)
    # repeat spend = purchase spend - spend of the first purchase day; on most backends that
    # day's spend is an arg-min inside the per-customer aggregation (no window over the
    # (customer, day) rows, which was the summary's most expensive step)
    if first_spend_by_argmin(orders):
        first_spend = first_day_spend(orders, d.spend, d.day, where=d.bought)
    else:
        d = d.mutate(
            first_day=ibis.ifelse(d.bought, d.day, ibis.null("int64"))
            .min()
            .over(group_by=d.customer_id)
        )
        first_spend = ibis.ifelse(d.day == d.first_day, d.spend, 0.0).sum()
    net = d.spend - d.refunds
    previous = (d.day > previous_start) & (d.day <= recent_start)
    return d.group_by("customer_id").aggregate(
        first_purchase=d.first_ts.min(),
        last_purchase=d.last_ts.max(),
        first_day=d.day.min(where=d.bought),
        last_day=d.day.max(where=d.bought),
        order_count=d.orders.sum(),
        purchase_days=_ones(d.bought).sum(),
        gross_spend=d.spend.sum(),
        refund_amount=d.refunds.sum(),
        refund_count=d.refund_rows.sum(),
        bought_spend=d.spend.sum(where=d.bought),
        first_day_spend=first_spend,
        recent_orders=ibis.ifelse(d.day > recent_start, d.orders, 0).sum(),
        recent_spend=ibis.ifelse(d.day > recent_start, net, 0.0).sum(),
        previous_spend=ibis.ifelse(previous, net, 0.0).sum(),
        previous_orders=ibis.ifelse(previous, d.orders, 0).sum(),
        value_spend=ibis.ifelse(d.day > value_start, net, 0.0).sum(),
        activity_orders=ibis.ifelse(d.day > activity_start, d.orders, 0).sum(),
    )


def _customer_base(per: ir.Table, t: Tables) -> tuple[ir.Table, list[ir.Table]]:
    """Step 2: every customer (buyers, plus the customers table's prospects) and the sides.

    Returns the base table (``customer_id``, ``first_contact``, and without a customers table
    the purchase history too) and the side tables to join to it so far.
    """
    if t.customers is None:
        return per.mutate(first_contact=ibis.null("timestamp")), []
    cc = t.customer_columns
    customers = t.customers
    crow = customers.select(
        customer_id=customers[cc.customer_id].cast(per.customer_id.type()),
        first_contact=(
            _timestamp(customers[cc.first_contact])
            if cc.first_contact is not None
            else ibis.null("timestamp")
        ),
    )
    ids = per.select("customer_id").union(crow.select("customer_id"), distinct=True)
    crow = crow.group_by("customer_id").aggregate(first_contact=crow.first_contact.min())
    base = ids.left_join(crow, "customer_id").select(ids.customer_id, crow.first_contact)
    return base, [per]


Side = tuple[ir.Table | None, dict[str, ir.Value]]


def _interaction_side(t: Tables, *, id_type: Any, asof: int, cfg: AnalyticsSettings) -> Side:
    """Step 3a: follow-ups logged in the interaction window ending on ``as_of``."""
    if t.interactions is None:
        return None, {"recent_interactions": ibis.literal(0, "int64")}
    ic = t.interaction_columns
    src = t.interactions
    it = src.select(
        customer_id=src[ic.customer_id].cast(id_type),
        day=_days(src[ic.timestamp]),
    )
    it = it.filter(it.day <= asof, it.day > asof - cfg.interaction_window_days)
    return it.group_by("customer_id").aggregate(recent_interactions=it.count()), {}


def _complaint_side(t: Tables, *, id_type: Any, asof: int, cfg: AnalyticsSettings) -> Side:
    """Step 3b: complaints opened on or before ``as_of``: open ones, recent ones, oldest open."""
    if t.complaints is None:
        return None, {
            "open_complaints": ibis.literal(0, "int64"),
            "recent_complaints": ibis.literal(0, "int64"),
            "open_complaint_days": ibis.null("int64"),
        }
    kc = t.complaint_columns
    src = t.complaints
    open_flag: ir.BooleanValue
    if kc.status is not None:
        open_flag = ~_lower_text(src[kc.status]).isin(
            [s.lower() for s in kc.resolved_statuses]
        ).fill_null(False)
    elif kc.resolved is not None:
        open_flag = ~src[kc.resolved].cast("boolean").fill_null(False)
    else:
        open_flag = ibis.literal(True)
    ct = src.select(
        customer_id=src[kc.customer_id].cast(id_type),
        day=_days(src[kc.timestamp]),
        open=open_flag,
    )
    ct = ct.filter(ct.day <= asof)
    agg = ct.group_by("customer_id").aggregate(
        open_complaints=_ones(ct.open).sum(),
        recent_complaints=ibis.ifelse(ct.day > asof - cfg.kpi_window_days, 1, 0).sum(),
        open_complaint_days=asof - ct.day.min(where=ct.open),
    )
    return agg, {}


def _survey_side(t: Tables, *, id_type: Any, asof: int, cfg: AnalyticsSettings) -> Side:
    """Step 3c: the latest NPS answer on or before ``as_of``."""
    sc = t.survey_columns
    if t.surveys is None or sc.nps is None:
        return None, {"last_nps": ibis.null("int64")}
    src = t.surveys
    st = src.select(
        customer_id=src[sc.customer_id].cast(id_type),
        ts=_timestamp(src[sc.timestamp]),
        day=_days(src[sc.timestamp]),
        nps=src[sc.nps].cast("int64"),
    )
    st = st.filter(st.day <= asof, st.nps.notnull())
    st = st.mutate(
        pos=ibis.row_number().over(group_by=st.customer_id, order_by=[st.ts.desc(), st.nps])
    )
    return st.filter(st.pos == 0).select("customer_id", last_nps=st.nps), {}


def _kind_side(t: Tables, *, id_type: Any, asof: int, cfg: AnalyticsSettings) -> Side:
    """Step 3d: business (1) or person (0) from the customers table; null when unknown."""
    cc = t.customer_columns
    if t.customers is None or cc.kind is None:
        return None, {"is_business": ibis.null("int64")}
    src = t.customers
    kind = _lower_text(src[cc.kind])
    business = kind.isin([k.lower() for k in cc.business_kinds])
    kt = src.select(
        customer_id=src[cc.customer_id].cast(id_type),
        is_business=ibis.ifelse(kind.isnull(), ibis.null("int64"), _ones(business)),
    )
    return kt.group_by("customer_id").aggregate(is_business=kt.is_business.max()), {}


def _followup_side(t: Tables, *, id_type: Any, asof: int, cfg: AnalyticsSettings) -> Side:
    """Step 3e: follow-ups open (and overdue) on ``as_of``; outcomes closed by then.

    Only what was known on ``as_of`` counts: follow-ups created after it are left out, one
    closed after it was still open, and its outcome not yet known.
    """
    if t.followups is None:
        zero = ibis.literal(0, "int64")
        return None, {
            "open_followups": zero,
            "overdue_followups": zero,
            "followups_won": zero,
            "followups_lost": zero,
        }
    fc = t.followup_columns
    src = t.followups
    closed_day = _days(src[fc.closed]) if fc.closed is not None else ibis.null("int64")
    outcome = _lower_text(src[fc.outcome]) if fc.outcome is not None else ibis.null("string")
    ft = src.select(
        customer_id=src[fc.customer_id].cast(id_type),
        created=_days(src[fc.created]),
        due=_days(src[fc.due]),
        closed=closed_day,
        outcome=outcome,
    )
    # as they stood at the start of the as-of day: the follow-ups that day's own run creates or
    # closes (win-back and playbook tasks) count from the next day, so a re-run is identical
    ft = ft.filter(ft.created < asof)
    is_open = ft.closed.isnull() | (ft.closed >= asof)
    known = ~is_open
    won = known & ft.outcome.isin([o.lower() for o in fc.won_outcomes]).fill_null(False)
    lost = known & ft.outcome.isin([o.lower() for o in fc.lost_outcomes]).fill_null(False)
    agg = ft.group_by("customer_id").aggregate(
        open_followups=_ones(is_open).sum(),
        overdue_followups=_ones(is_open & (ft.due < asof)).sum(),
        followups_won=_ones(won).sum(),
        followups_lost=_ones(lost).sum(),
    )
    return agg, {}


def _flat_join(
    base: ir.Table, sides: list[ir.Table], defaults: dict[str, ir.Value], *, with_customers: bool
) -> ir.Table:
    """Step 4: the side tables (customer_id + values) left-joined to the base in one flat join.

    SQLite's parser has a small stack, so the expression must not nest one sub-query per join.
    Counts of absent records become 0.
    """
    joined = base
    values: list[str] = ["customer_id", "first_contact"] if with_customers else list(base.columns)
    for i, side in enumerate(sides):
        key = f"_key{i}"
        joined = joined.left_join(side.rename({key: "customer_id"}), [("customer_id", key)])
        values.extend(c for c in side.columns if c != "customer_id")
    t = joined.select(*values).mutate(**defaults) if defaults else joined.select(*values)
    return t.mutate(
        **{
            name: t[name].fill_null(0)
            for name in (
                "recent_interactions",
                "open_complaints",
                "recent_complaints",
                "open_followups",
                "overdue_followups",
                "followups_won",
                "followups_lost",
            )
        }
    )


def _history_columns(t: ir.Table, *, asof: int) -> ir.Table:
    """Step 5: the purchase-history columns (lifetimes conventions), nulls filled."""
    purchased = t.first_day.notnull()
    frequency = t.purchase_days - 1
    total_spend = t.gross_spend.fill_null(0.0) - t.refund_amount.fill_null(0.0)
    return t.mutate(
        order_count=t.order_count.fill_null(0),
        purchase_days=t.purchase_days.fill_null(0),
        frequency=ibis.ifelse(purchased, frequency, 0),
        recency_days=ibis.ifelse(purchased, asof - t.last_day, ibis.null("int64")),
        t_x_days=ibis.ifelse(purchased, t.last_day - t.first_day, ibis.null("int64")),
        T_days=ibis.ifelse(purchased, asof - t.first_day, ibis.null("int64")),
        avg_interpurchase_days=ibis.ifelse(
            purchased & (frequency > 0),
            (t.last_day - t.first_day) / frequency,
            ibis.null("float64"),
        ),
        total_spend=total_spend,
        gross_spend=t.gross_spend.fill_null(0.0),
        refund_amount=t.refund_amount.fill_null(0.0),
        refund_count=t.refund_count.fill_null(0),
        avg_order_value=ibis.ifelse(
            t.order_count > 0, total_spend / t.order_count, ibis.null("float64")
        ),
        monetary_value=ibis.ifelse(
            purchased & (frequency > 0), (t.bought_spend - t.first_day_spend) / frequency, 0.0
        ),
        recent_orders=t.recent_orders.fill_null(0),
        recent_spend=t.recent_spend.fill_null(0.0),
        previous_spend=t.previous_spend.fill_null(0.0),
        previous_orders=t.previous_orders.fill_null(0),
        value_spend=t.value_spend.fill_null(0.0),
        activity_orders=t.activity_orders.fill_null(0),
        is_buyer=purchased,
    )


def _segments(t: ir.Table, cfg: AnalyticsSettings) -> ir.Table:
    """Step 6: RFM scores, segment, value tier, activity, quadrant and lifecycle stage.

    Scores rank purchasing customers only: the windows are partitioned by "has purchased", so
    prospects never shift a buyer's rank; prospects get nulls. The rank windows sort a narrow
    projection (sorting every wide row was the most expensive step), then join back by id.
    """
    bins = cfg.rfm_bins
    keys = t.select(
        "customer_id",
        "is_buyer",
        "recency_days",
        "order_count",
        "total_spend",
        value=value_key(t.value_spend),
    )
    kb = keys.is_buyer
    ranks = keys.select(
        rank_key="customer_id",
        r_score=_score(keys.recency_days, kb, bins=bins, descending=True),
        f_score=_score(keys.order_count, kb, bins=bins, descending=False),
        m_score=_score(keys.total_spend, kb, bins=bins, descending=False),
        value_share=_rank_share(keys.value, kb),
        value=keys.value,
    )
    t = t.join(ranks, [("customer_id", "rank_key")]).drop("rank_key")
    buyer = t.is_buyer
    five = 5
    r5 = ((t.r_score * five + bins - 1) / bins).floor().cast("int64")
    f5 = ((t.f_score * five + bins - 1) / bins).floor().cast("int64")
    m5 = ((t.m_score * five + bins - 1) / bins).floor().cast("int64")
    fm5 = ((f5 + m5 + 1) / 2).floor().cast("int64")
    positive = t.value > 0
    high_value = (
        positive & (t.value >= cfg.high_value_min_spend)
        if cfg.high_value_min_spend is not None
        else positive & (t.value_share < cfg.high_value_share)
    )
    medium_value = (
        positive & (t.value >= cfg.medium_value_min_spend)
        if cfg.medium_value_min_spend is not None
        else positive & (t.value_share < cfg.high_value_share + cfg.medium_value_share)
    )
    high_activity = (t.activity_orders >= cfg.active_min_orders) | (
        t.recency_days <= cfg.active_max_recency_days
    )
    no_text = ibis.null("string")
    no_int = ibis.null("int64")
    return t.mutate(
        r_score=ibis.ifelse(buyer, t.r_score, no_int),
        f_score=ibis.ifelse(buyer, t.f_score, no_int),
        m_score=ibis.ifelse(buyer, t.m_score, no_int),
        rfm_segment=ibis.ifelse(buyer, _segment(r5, fm5), no_text),
        value_tier=ibis.cases(
            (~buyer, no_text),
            (high_value, str(ValueTier.HIGH)),
            (medium_value, str(ValueTier.MEDIUM)),
            else_=str(ValueTier.LOW),
        ),
        activity_level=ibis.cases(
            (~buyer, no_text),
            (high_activity, str(ActivityLevel.HIGH)),
            else_=str(ActivityLevel.LOW),
        ),
        quadrant=ibis.cases(
            (~buyer, no_text),
            (high_value & high_activity, str(Quadrant.CORE)),
            (high_value, str(Quadrant.POTENTIAL)),
            (high_activity, str(Quadrant.BASIC)),
            else_=str(Quadrant.WATCH),
        ),
        lifecycle_stage=ibis.cases(
            (~buyer, str(LifecycleStage.PROSPECT)),
            (t.recency_days > cfg.churned_after_days, str(LifecycleStage.CHURNED)),
            (t.recency_days > cfg.silent_after_days, str(LifecycleStage.SILENT)),
            (
                (t.frequency == 0) | (t.T_days <= cfg.new_window_days),
                str(LifecycleStage.NEW),
            ),
            else_=str(LifecycleStage.RETURNING),
        ),
    )
