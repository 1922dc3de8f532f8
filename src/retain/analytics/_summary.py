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
from retain.analytics._settings import (
    AnalyticsSettings,
    ComplaintColumns,
    CustomerColumns,
    InteractionColumns,
    OrderColumns,
    SurveyColumns,
)

__all__ = [
    "PREFERENCE_COLUMNS",
    "SUMMARY_COLUMNS",
    "customer_summary",
    "day_number",
    "first_spend_by_argmin",
    "normalized_orders",
    "preferred_value",
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


def first_spend_by_argmin(table: ir.Table) -> bool:
    """Whether the backend of ``table`` computes an arg-min correctly inside a grouped query.

    SQLite compiles it to a "bare column" next to ``MIN``, which is only defined when that is
    the query's single aggregate; there the spend of the first purchase day is found with a
    window instead (slower, same result).
    """
    try:
        name = str(table._find_backend(use_default=True).name)
    except Exception:  # an unbound expression: assume a capable backend
        return True
    return name != "sqlite"


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
    missing = [
        name
        for name in (c.customer_id, c.timestamp, c.amount, c.status, c.channel, c.category)
        if name is not None and name not in orders.columns
    ]
    if missing:
        raise KeyError(f"orders table has no column {missing[0]!r}; columns: {orders.columns}")
    ts = _timestamp(orders[c.timestamp])
    amount = orders[c.amount].cast("float64")
    fields: dict[str, Any] = {
        "customer_id": orders[c.customer_id],
        "ts": ts,
        "day": _days(ts),
        "month": ts.year() * 12 + ts.month() - 1,
        "raw_amount": amount,
    }
    if c.status is not None:
        fields["status"] = _lower_text(orders[c.status])
    if c.channel is not None:
        fields["channel"] = orders[c.channel].cast("string")
    if c.category is not None:
        fields["category"] = orders[c.category].cast("string")
    t = orders.select(**fields)
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
        ``customer_id``, ``preferred_<name>``.
    """
    p = orders.filter(orders.purchase, orders[name].notnull())
    counts = p.group_by(["customer_id", name]).aggregate(n=p.count(), last_ts=p.ts.max())
    pos = ibis.row_number().over(
        group_by=counts.customer_id,
        order_by=[counts.n.desc(), counts.last_ts.desc(), counts[name].asc()],
    )
    ranked = counts.mutate(pos=pos)
    best = ranked.filter(ranked.pos == 0)
    return best.select("customer_id", **{f"preferred_{name}": best[name]})


def _score(order_by: ir.Value, group: ir.Value, *, bins: int, descending: bool) -> ir.IntegerValue:
    """1..bins within ``group``; tied values share the score of the lowest position."""
    key = order_by.desc() if descending else order_by.asc()
    rank = ibis.rank().over(group_by=group, order_by=key)
    n = group.count().over(group_by=group)
    return ((rank * bins) / n).floor().cast("int64") + 1  # type: ignore[no-any-return]


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
    orders: ir.Table,
    *,
    as_of: dt.date | dt.datetime | str,
    settings: AnalyticsSettings | None = None,
    columns: OrderColumns | None = None,
    customers: ir.Table | None = None,
    customer_columns: CustomerColumns | None = None,
    interactions: ir.Table | None = None,
    interaction_columns: InteractionColumns | None = None,
    complaints: ir.Table | None = None,
    complaint_columns: ComplaintColumns | None = None,
    surveys: ir.Table | None = None,
    survey_columns: SurveyColumns | None = None,
) -> ir.Table:
    """One row per customer with purchase history, RFM, value, activity and lifecycle.

    The whole computation is an Ibis expression: it runs in the backend that holds ``orders``
    (DuckDB, SQLite, PostgreSQL, Spark ...). Only orders on or before ``as_of`` count.

    Parameters
    ----------
    orders : ibis.Table
        Orders; column names given by ``columns``.
    as_of : datetime.date
        The date the summary describes (inclusive). Nothing reads the clock.
    settings : AnalyticsSettings, optional
        Windows and thresholds; defaults to ``AnalyticsSettings()``.
    customers, interactions, complaints, surveys : ibis.Table, optional
        Extra tables on the same backend; customers without orders become prospects.

    Returns
    -------
    ibis.Table
        The columns of :data:`SUMMARY_COLUMNS`. Day counts are integers; ``frequency`` is the
        number of repeat purchase days (lifetimes convention). When ``columns`` names a
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
    >>> cols = OrderColumns(channel="channel")
    >>> customer_summary(orders, as_of=dt.date(2024, 3, 1), columns=cols).to_pandas()[
    ...     "preferred_channel"].tolist()
    ['online']
    """
    cfg = settings or AnalyticsSettings()
    as_of_date = _as_date(as_of)
    asof = day_number(as_of_date)
    o = normalized_orders(orders, as_of=as_of_date, columns=columns)
    preferences = [name for name in PREFERENCES if name in o.columns]

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
    net = d.spend - d.refunds
    # repeat spend = purchase spend - spend of the first purchase day; on most backends that
    # day's spend is an arg-min inside the per-customer aggregation (no window over the
    # (customer, day) rows, which was the summary's most expensive step)
    by_argmin = first_spend_by_argmin(orders)
    if by_argmin:
        first_day_spend = d.spend.argmin(d.day, where=d.bought)
    else:
        d = d.mutate(
            first_day=ibis.ifelse(d.bought, d.day, ibis.null("int64"))
            .min()
            .over(group_by=d.customer_id)
        )
        net = d.spend - d.refunds
        first_day_spend = ibis.ifelse(d.day == d.first_day, d.spend, 0.0).sum()
    per = d.group_by("customer_id").aggregate(
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
        first_day_spend=first_day_spend,
        recent_orders=ibis.ifelse(d.day > recent_start, d.orders, 0).sum(),
        recent_spend=ibis.ifelse(d.day > recent_start, net, 0.0).sum(),
        previous_spend=ibis.ifelse(
            (d.day > previous_start) & (d.day <= recent_start), net, 0.0
        ).sum(),
        previous_orders=ibis.ifelse(
            (d.day > previous_start) & (d.day <= recent_start), d.orders, 0
        ).sum(),
        value_spend=ibis.ifelse(d.day > value_start, net, 0.0).sum(),
        activity_orders=ibis.ifelse(d.day > activity_start, d.orders, 0).sum(),
    )

    # every customer: those with orders, plus those of the customers table (prospects)
    ids = per.select("customer_id")
    first_contact: ir.Value = ibis.null("timestamp")
    if customers is not None:
        cc = customer_columns or CustomerColumns()
        id_type = per.customer_id.type()
        crow = customers.select(
            customer_id=customers[cc.customer_id].cast(id_type),
            first_contact=(
                _timestamp(customers[cc.first_contact])
                if cc.first_contact is not None
                else ibis.null("timestamp")
            ),
        )
        ids = ids.union(crow.select("customer_id"), distinct=True)
        crow = crow.group_by("customer_id").aggregate(first_contact=crow.first_contact.min())
        base = ids.left_join(crow, "customer_id").select(ids.customer_id, crow.first_contact)
    else:
        base = per.mutate(first_contact=first_contact)
    # side tables (customer_id + value columns) joined in one flat join: SQLite's parser has a
    # small stack, so the expression must not nest one sub-query per join
    sides: list[ir.Table] = [per] if customers is not None else []
    defaults: dict[str, ir.Value] = {}
    if interactions is not None:
        ic = interaction_columns or InteractionColumns()
        it = interactions.select(
            customer_id=interactions[ic.customer_id].cast(per.customer_id.type()),
            day=_days(interactions[ic.timestamp]),
        )
        it = it.filter(it.day <= asof, it.day > asof - cfg.interaction_window_days)
        agg = it.group_by("customer_id").aggregate(recent_interactions=it.count())
        sides.append(agg)
    else:
        defaults["recent_interactions"] = ibis.literal(0, "int64")

    if complaints is not None:
        kc = complaint_columns or ComplaintColumns()
        open_flag: ir.BooleanValue
        if kc.status is not None:
            open_flag = ~_lower_text(complaints[kc.status]).isin(
                [s.lower() for s in kc.resolved_statuses]
            ).fill_null(False)
        elif kc.resolved is not None:
            open_flag = ~complaints[kc.resolved].cast("boolean").fill_null(False)
        else:
            open_flag = ibis.literal(True)
        ct = complaints.select(
            customer_id=complaints[kc.customer_id].cast(per.customer_id.type()),
            day=_days(complaints[kc.timestamp]),
            open=open_flag,
        )
        ct = ct.filter(ct.day <= asof)
        agg = ct.group_by("customer_id").aggregate(
            open_complaints=_ones(ct.open).sum(),
            recent_complaints=ibis.ifelse(ct.day > asof - cfg.kpi_window_days, 1, 0).sum(),
            open_complaint_days=asof - ct.day.min(where=ct.open),
        )
        sides.append(agg)
    else:
        defaults["open_complaints"] = ibis.literal(0, "int64")
        defaults["recent_complaints"] = ibis.literal(0, "int64")
        defaults["open_complaint_days"] = ibis.null("int64")

    sc = survey_columns or SurveyColumns()
    if surveys is not None and sc.nps is not None:
        st = surveys.select(
            customer_id=surveys[sc.customer_id].cast(per.customer_id.type()),
            ts=_timestamp(surveys[sc.timestamp]),
            day=_days(surveys[sc.timestamp]),
            nps=surveys[sc.nps].cast("int64"),
        )
        st = st.filter(st.day <= asof, st.nps.notnull())
        st = st.mutate(
            pos=ibis.row_number().over(group_by=st.customer_id, order_by=[st.ts.desc(), st.nps])
        )
        latest = st.filter(st.pos == 0).select("customer_id", last_nps=st.nps)
        sides.append(latest)
    else:
        defaults["last_nps"] = ibis.null("int64")
    sides.extend(preferred_value(o, name) for name in preferences)

    joined = base
    values: list[str] = (
        list(base.columns) if customers is None else ["customer_id", "first_contact"]
    )
    for i, side in enumerate(sides):
        key = f"_key{i}"
        joined = joined.left_join(side.rename({key: "customer_id"}), [("customer_id", key)])
        values.extend(c for c in side.columns if c != "customer_id")
    t = joined.select(*values).mutate(**defaults) if defaults else joined.select(*values)
    extra: dict[str, ir.Value] = {
        name: t[name].fill_null(0)
        for name in ("recent_interactions", "open_complaints", "recent_complaints")
    }

    purchased = t.first_day.notnull()
    frequency = t.purchase_days - 1
    total_spend = t.gross_spend.fill_null(0.0) - t.refund_amount.fill_null(0.0)
    t = t.mutate(
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
        **extra,
    )

    # scores among purchasing customers only: windows partitioned by "has purchased", so
    # prospects never shift a buyer's rank and no join back is needed; prospects get nulls
    # the rank windows sort a narrow projection (sorting every wide row was the most expensive
    # step of the summary), then join back by customer id
    t = t.mutate(is_buyer=t.first_day.notnull())
    bins = cfg.rfm_bins
    keys = t.select(
        "customer_id", "is_buyer", "recency_days", "order_count", "total_spend", "value_spend"
    )
    kb = keys.is_buyer
    ranks = keys.select(
        rank_key="customer_id",
        r_score=_score(keys.recency_days, kb, bins=bins, descending=True),
        f_score=_score(keys.order_count, kb, bins=bins, descending=False),
        m_score=_score(keys.total_spend, kb, bins=bins, descending=False),
        value_share=_rank_share(keys.value_spend, kb),
    )
    t = t.join(ranks, [("customer_id", "rank_key")]).drop("rank_key")
    buyer = t.is_buyer
    five = 5
    r5 = ((t.r_score * five + bins - 1) / bins).floor().cast("int64")
    f5 = ((t.f_score * five + bins - 1) / bins).floor().cast("int64")
    m5 = ((t.m_score * five + bins - 1) / bins).floor().cast("int64")
    fm5 = ((f5 + m5 + 1) / 2).floor().cast("int64")
    positive = t.value_spend > 0
    high_value = (
        positive & (t.value_spend >= cfg.high_value_min_spend)
        if cfg.high_value_min_spend is not None
        else positive & (t.value_share < cfg.high_value_share)
    )
    medium_value = (
        positive & (t.value_spend >= cfg.medium_value_min_spend)
        if cfg.medium_value_min_spend is not None
        else positive & (t.value_share < cfg.high_value_share + cfg.medium_value_share)
    )
    high_activity = (t.activity_orders >= cfg.active_min_orders) | (
        t.recency_days <= cfg.active_max_recency_days
    )
    no_text = ibis.null("string")
    no_int = ibis.null("int64")
    t = t.mutate(
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
    return t.select(*SUMMARY_COLUMNS, *(f"preferred_{name}" for name in preferences))
