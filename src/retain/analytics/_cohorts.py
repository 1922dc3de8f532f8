"""Monthly acquisition-cohort retention matrix, in both usual conventions."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from retain.analytics._summary import _as_date, normalized_orders
from retain.analytics._tables import Tables, as_tables

__all__ = ["cohort_retention"]

Convention = Literal["exact", "cumulative"]


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def cohort_retention(
    tables: Tables | ir.Table,
    *,
    as_of: dt.date | dt.datetime | str,
    convention: Convention = "exact",
    normalize: bool = True,
) -> pd.DataFrame:
    """Cohort retention matrix: rows are acquisition months, columns month offsets 0, 1, 2 ...

    ``tables`` is the input bundle (only the orders are read; a bare orders table means
    ``Tables(orders)``).

    A customer's cohort is the calendar month of their first purchase. Cell (c, N) is the share
    of cohort c that

    - ``convention="exact"``: purchased in month c + N ("returned in month N");
    - ``convention="cumulative"``: purchased in month c + N or any later month up to ``as_of``
      ("returned in month N or later"); this curve never increases with N.

    Month 0 is 1.0 in both conventions. Cells after the month of ``as_of`` are NaN (not yet
    observed); the month of ``as_of`` itself is partial. The aggregation runs in the backend;
    only the (cohort x offset) counts are pulled.

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` ("YYYY-MM"), a ``cohort_size`` column, then one column per offset
        (integers). With ``normalize=False`` the cells are customer counts.

    Examples
    --------
    >>> import ibis, datetime as dt
    >>> orders = ibis.memtable({"customer_id": [1, 1, 2], "amount": [5.0, 5.0, 5.0],
    ...     "timestamp": ["2024-01-03", "2024-03-01", "2024-01-09"]})
    >>> cohort_retention(orders, as_of=dt.date(2024, 3, 31))[[0, 1, 2]].values.tolist()
    [[1.0, 0.0, 0.5]]
    """
    if convention not in ("exact", "cumulative"):
        raise ValueError("convention must be 'exact' or 'cumulative'")
    as_of_date = _as_date(as_of)
    t = as_tables(tables)
    o = normalized_orders(t.orders, as_of=as_of_date, columns=t.columns)
    o = o.filter(o.purchase)
    active = o.select("customer_id", "month").distinct()
    first = active.group_by("customer_id").aggregate(cohort=active.month.min())
    joined = active.join(first, "customer_id")
    joined = joined.mutate(offset=joined.month - joined.cohort)
    if convention == "exact":
        counts = joined.group_by(["cohort", "offset"]).aggregate(n=joined.count())
    else:
        last = joined.group_by(["customer_id", "cohort"]).aggregate(offset=joined.offset.max())
        counts = last.group_by(["cohort", "offset"]).aggregate(n=last.count())
    frame = counts.to_pandas()
    as_of_month = as_of_date.year * 12 + as_of_date.month - 1
    if frame.empty:
        return pd.DataFrame(columns=["cohort_size"], index=pd.Index([], name="cohort"))
    frame = frame.astype({"cohort": np.int64, "offset": np.int64, "n": np.int64})
    cohorts = np.arange(frame.cohort.min(), as_of_month + 1)
    offsets = np.arange(0, as_of_month - cohorts[0] + 1)
    matrix = (
        frame.pivot_table(index="cohort", columns="offset", values="n", aggfunc="sum")
        .reindex(index=cohorts, columns=offsets)
        .fillna(0)
        .to_numpy(dtype=np.float64)
    )
    if convention == "cumulative":
        # customers whose last active offset is >= N: reverse cumulative sum along offsets
        matrix = matrix[:, ::-1].cumsum(axis=1)[:, ::-1]
    size = matrix[:, 0].copy()
    observed = cohorts[:, None] + offsets[None, :] <= as_of_month
    matrix = np.where(observed, matrix, np.nan)
    keep = size > 0
    if normalize:
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = matrix / size[:, None]
    result = pd.DataFrame(matrix[keep], columns=[int(k) for k in offsets])
    result.insert(0, "cohort_size", size[keep].astype(np.int64))
    result.index = pd.Index([_month_label(int(c)) for c in cohorts[keep]], name="cohort")
    return result
