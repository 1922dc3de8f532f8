"""The model inputs alone: the four columns BG/NBD and Gamma-Gamma need, computed lean.

:func:`customer_summary` describes a customer in 34 columns (windows, refunds, RFM ranks ...);
the models need four, exactly what ``lifetimes.utils.summary_data_from_transaction_data``
computes. This module computes only those, in two hash aggregations inside the backend: one row
per (customer, purchase day), then one row per customer. No window function, no join.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from retain.analytics._settings import AnalyticsSettings
from retain.analytics._summary import (
    _as_date,
    day_number,
    first_day_spend,
    first_spend_by_argmin,
    purchase_orders,
)
from retain.analytics._tables import Tables, as_tables

__all__ = ["MODEL_INPUT_COLUMNS", "model_inputs"]

#: Columns of :func:`model_inputs`, in order.
MODEL_INPUT_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "frequency",
    "t_x_days",
    "T_days",
    "monetary_value",
)


def model_inputs(
    tables: Tables | ir.Table,
    *,
    as_of: dt.date | dt.datetime | str,
    settings: AnalyticsSettings | None = None,
) -> ir.Table:
    """One row per purchasing customer with the inputs of BG/NBD and Gamma-Gamma.

    The same definitions (and values) as the columns of the same name in
    :func:`customer_summary`, i.e. the ``lifetimes`` conventions: ``frequency`` = distinct purchase
    days - 1, ``t_x_days`` = days from the first to the last purchase day, ``T_days`` = days from
    the first purchase day to ``as_of``, ``monetary_value`` = mean spend per repeat purchase day
    (the first day excluded; 0 for one-day buyers). Refunds and ignored statuses are left out as
    in the summary; customers without a purchase on or before ``as_of`` have no row.

    The computation is an Ibis expression (two grouped aggregations, no window, no join), so it
    runs in whatever backend holds ``orders``; pull it with ``.to_pyarrow()``.

    Parameters
    ----------
    tables : Tables or ibis.Table
        The input bundle (only the orders and their column names are read); a bare orders
        table means ``Tables(orders)``.
    as_of : datetime.date
        End of observation (inclusive).
    settings : AnalyticsSettings, optional
        Accepted for symmetry with the other functions; no setting changes these columns.

    Returns
    -------
    ibis.Table
        The columns of :data:`MODEL_INPUT_COLUMNS`.

    Examples
    --------
    >>> import ibis, datetime as dt
    >>> orders = ibis.memtable({"customer_id": [1, 1, 1, 2],
    ...     "timestamp": ["2024-01-01 09:00", "2024-01-01 17:00", "2024-02-01", "2024-02-10"],
    ...     "amount": [10.0, 5.0, 30.0, 8.0]})
    >>> m = model_inputs(orders, as_of=dt.date(2024, 3, 1)).order_by("customer_id").to_pandas()
    >>> m.values.tolist()
    [[1.0, 1.0, 31.0, 60.0, 30.0], [2.0, 0.0, 0.0, 20.0, 0.0]]
    """
    del settings  # no setting applies; kept so every engine function has the same shape
    t = as_tables(tables)
    as_of_date = _as_date(as_of)
    asof = day_number(as_of_date)
    orders = t.orders
    o = purchase_orders(orders, as_of=as_of_date, columns=t.columns)
    daily = o.group_by(["customer_id", "day"]).aggregate(spend=o.amount.sum())
    if first_spend_by_argmin(orders):  # days are distinct per customer: one arg-min
        first_spend = first_day_spend(orders, daily.spend, daily.day)
    else:  # SQLite: a window finds the first day
        daily = daily.mutate(first_day=daily.day.min().over(group_by=daily.customer_id))
        first_spend = ibis.ifelse(daily.day == daily.first_day, daily.spend, 0.0).sum()
    per = daily.group_by("customer_id").aggregate(
        purchase_days=daily.count(),
        first_day=daily.day.min(),
        last_day=daily.day.max(),
        spend=daily.spend.sum(),
        first_spend=first_spend,
    )
    frequency = per.purchase_days - 1
    return per.select(
        "customer_id",
        frequency=frequency,
        t_x_days=per.last_day - per.first_day,
        T_days=asof - per.first_day,
        monetary_value=(frequency > 0).ifelse((per.spend - per.first_spend) / frequency, 0.0),
    )
