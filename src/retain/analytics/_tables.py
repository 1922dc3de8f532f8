"""The engine's inputs as one bundle: the tables and the names of their columns.

Every engine function that reads more than the orders (:func:`customer_summary`,
:func:`score_customers`, :func:`kpis`, :func:`backtest`, :func:`fit_churn_model`) takes one
:class:`Tables` instead of a table and a column map per kind of record. A bare orders table is
accepted wherever a :class:`Tables` is, and means ``Tables(orders)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt

from retain.analytics._settings import (
    ComplaintColumns,
    CustomerColumns,
    FollowupColumns,
    InteractionColumns,
    OrderColumns,
    SurveyColumns,
)

__all__ = ["Tables", "as_tables"]


@dataclass(frozen=True, slots=True)
class Tables:
    """Orders and the optional customers, follow-ups, complaints and surveys, on one backend.

    Attributes
    ----------
    orders : ibis.Table
        The orders (required); column names in ``columns``.
    columns : OrderColumns
        Names of the order columns.
    customers, interactions, complaints, surveys, followups : ibis.Table or None
        Optional tables on the same backend as ``orders``; each with its column map
        (``customer_columns``, ``interaction_columns``, ``complaint_columns``,
        ``survey_columns``, ``followup_columns``). Customers without orders become
        prospects; interactions are the contacts logged with a customer (calls, visits,
        e-mails ...); followups the team's to-dos for a customer and how they ended.

    Examples
    --------
    >>> import ibis
    >>> orders = ibis.memtable({"customer_id": [1], "timestamp": ["2024-01-01"], "amount": [5.0]})
    >>> t = Tables(orders)
    >>> t.columns.amount, t.customers is None
    ('amount', True)
    >>> t.replace(columns=OrderColumns(channel="channel")).columns.channel
    'channel'
    """

    orders: ir.Table
    columns: OrderColumns = field(default_factory=OrderColumns)
    customers: ir.Table | None = None
    customer_columns: CustomerColumns = field(default_factory=CustomerColumns)
    interactions: ir.Table | None = None
    interaction_columns: InteractionColumns = field(default_factory=InteractionColumns)
    complaints: ir.Table | None = None
    complaint_columns: ComplaintColumns = field(default_factory=ComplaintColumns)
    surveys: ir.Table | None = None
    survey_columns: SurveyColumns = field(default_factory=SurveyColumns)
    followups: ir.Table | None = None
    followup_columns: FollowupColumns = field(default_factory=FollowupColumns)

    def replace(self, **changes: Any) -> Tables:
        """A copy with some fields replaced (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def only_customers(self, ids: npt.ArrayLike) -> Tables:
        """The same tables with only the rows of the customers ``ids`` (of the type of the
        tables' customer ids), on the tables' own backend."""
        keep = ibis.memtable({"_retain_id": np.asarray(ids)})

        def only(table: ir.Table | None, column: str) -> ir.Table | None:
            if table is None:
                return None
            return table.semi_join(keep, table[column] == keep["_retain_id"])

        return self.replace(
            orders=only(self.orders, self.columns.customer_id),
            customers=only(self.customers, self.customer_columns.customer_id),
            interactions=only(self.interactions, self.interaction_columns.customer_id),
            complaints=only(self.complaints, self.complaint_columns.customer_id),
            surveys=only(self.surveys, self.survey_columns.customer_id),
            followups=only(self.followups, self.followup_columns.customer_id),
        )

    def without_preferences(self) -> Tables:
        """The same tables with the order ``channel`` and ``category`` columns not named."""
        return self.replace(columns=dataclasses.replace(self.columns, channel=None, category=None))


def as_tables(value: Tables | ir.Table) -> Tables:
    """``value`` itself when it is a :class:`Tables`, else ``Tables(value)`` (orders alone)."""
    if isinstance(value, Tables):
        return value
    if isinstance(value, ir.Table):
        return Tables(value)
    raise TypeError(f"expected retain.analytics.Tables or an ibis table, not {type(value)!r}")
