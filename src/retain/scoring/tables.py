"""Where the engine's tables come from.

``TableSource.DATABASE`` opens the app's database with Ibis (PostgreSQL or a SQLite file), so
the engine's summary runs inside the database. ``TableSource.COPY`` scans the app's tables
once into Arrow and runs the engine in DuckDB (the default on both databases). ``TableSource.MEMORY`` reads
the rows through the ORM into memtables: for a database Ibis cannot open from another
connection (the in-memory SQLite database of the tests, or rows not yet committed).
``TableSource.AUTO`` picks one (see ``resolved_source``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection
from django.db.models import OuterRef, Subquery

from retain.analytics import (
    ComplaintColumns,
    CustomerColumns,
    FollowupColumns,
    InteractionColumns,
    OrderColumns,
    SurveyColumns,
    Tables,
)


class TableSource(StrEnum):
    #: a database file or server: copied; in-memory SQLite: through the ORM.
    AUTO = "auto"
    DATABASE = "database"
    COPY = "copy"
    MEMORY = "memory"


def resolved_source(source: TableSource) -> TableSource:
    """The concrete source ``AUTO`` stands for on the app's database: ``COPY``, but for the
    in-memory SQLite database of the tests (``MEMORY``).

    The engine's SQL is slow in SQLite (about 90 s for scores and 160 s for KPIs at 20,000
    customers, against under 2 s each in DuckDB) and slower than DuckDB in PostgreSQL too
    (a first scoring run of 100,000 customers spent most of its 5-7 minutes in the churn
    model's queries there), so the app's tables are read once with plain scans into Arrow
    (``COPY ... TO STDOUT`` on PostgreSQL) and the engine runs in DuckDB.
    """
    if source != TableSource.AUTO:
        return source
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        return TableSource.MEMORY
    return TableSource.COPY


# An app order with status "refunded" is the purchase itself, refunded in full: it is no
# purchase at all (not a separate refund row against an earlier purchase), so it is dropped.
ORDER_COLUMNS = OrderColumns(
    customer_id="customer_id",
    timestamp="ordered_at",
    amount="amount",
    status="status",
    refund_statuses=(),
    ignored_statuses=("refunded",),
)
ORDER_FIELDS = ("customer_id", "ordered_at", "amount", "status")
# The scores also get each customer's preferred channel and category. An order's category is
# that of its largest line (ties: the first line; lines without a category are skipped).
SCORE_ORDER_COLUMNS = dataclasses.replace(ORDER_COLUMNS, channel="channel", category="category")
CUSTOMER_COLUMNS = CustomerColumns(
    customer_id="id", first_contact="first_contact_date", kind="kind", business_kinds=("company",)
)
# the team's to-dos for a customer (tasks_task): created, due, closed, win-back outcome
FOLLOWUP_COLUMNS = FollowupColumns(outcome="outcome", won_outcomes=("won_back",))
FOLLOWUP_FIELDS = ("customer_id", "created_at", "due_on", "closed_at", "outcome")
INTERACTION_COLUMNS = InteractionColumns(customer_id="customer_id", timestamp="occurred_at")
COMPLAINT_COLUMNS = ComplaintColumns(
    customer_id="customer_id", timestamp="opened_at", resolved=None, status="status"
)
SURVEY_COLUMNS = SurveyColumns(
    customer_id="customer_id", timestamp="answered_at", nps="nps", rating="satisfaction"
)


@dataclass(frozen=True)
class AppTables:
    orders: ir.Table
    customers: ir.Table
    interactions: ir.Table
    complaints: ir.Table
    surveys: ir.Table
    #: ``orders`` with their ``channel`` and ``category``, for the preferences of the scores;
    #: None: scores without preferences (see ``app_tables``)
    preference_orders: ir.Table | None = None
    #: the tasks (follow-ups) with their due dates and outcomes; None: not passed
    followups: ir.Table | None = None

    @property
    def score_orders(self) -> ir.Table:
        """The orders for ``score_customers`` (in ``engine_tables``)."""
        return self.orders if self.preference_orders is None else self.preference_orders

    def engine_tables(self) -> Tables:
        """The engine's input bundle for ``score_customers`` (with the preferences when loaded)."""
        return Tables(
            self.score_orders,
            columns=ORDER_COLUMNS if self.preference_orders is None else SCORE_ORDER_COLUMNS,
            customers=self.customers,
            customer_columns=CUSTOMER_COLUMNS,
            interactions=self.interactions,
            interaction_columns=INTERACTION_COLUMNS,
            complaints=self.complaints,
            complaint_columns=COMPLAINT_COLUMNS,
            surveys=self.surveys,
            survey_columns=SURVEY_COLUMNS,
            followups=self.followups,
            followup_columns=FOLLOWUP_COLUMNS,
        )

    def plain_tables(self) -> Tables:
        """The bundle with the plain orders (no channel or category): KPIs, churn model."""
        return self.engine_tables().replace(orders=self.orders, columns=ORDER_COLUMNS)


#: The app's tables reach the engine as Ibis memtables, which run on the process's default
#: DuckDB connection; it refuses a second call while one runs ("connection is busy"), so two
#: web threads computing the board at once failed. One engine computation at a time per
#: process: every reader of ``app_tables`` holds this (re-entrant) lock while it computes.
ENGINE_LOCK = threading.RLock()


def _connect() -> Any:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        if connection.is_in_memory_db():  # type: ignore[attr-defined]
            raise ValueError("the database is an in-memory SQLite database; use TableSource.MEMORY")
        return ibis.sqlite.connect(str(db["NAME"]))
    if connection.vendor == "postgresql":
        return ibis.postgres.connect(
            host=db.get("HOST") or None,
            port=int(db["PORT"]) if db.get("PORT") else None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            database=db["NAME"],
        )
    raise ValueError(f"scoring does not support the {connection.vendor} database")


def _frame(rows: list[dict[str, Any]], columns: dict[str, str]) -> ir.Table:
    frame = pd.DataFrame(rows, columns=list(columns))
    for name, kind in columns.items():
        if kind == "timestamp":
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.tz_localize(None)
        elif kind == "date":
            frame[name] = pd.to_datetime(frame[name])
        elif kind == "float":
            frame[name] = frame[name].astype("float64")
        elif kind == "int":
            frame[name] = frame[name].astype("Int64")
    schema = {
        n: {"timestamp": "timestamp", "date": "timestamp", "float": "float64", "int": "int64"}.get(
            k, "string"
        )
        for n, k in columns.items()
    }
    return ibis.memtable(frame, schema=schema)


def _copied(table: ir.Table) -> ir.Table:
    """A plain scan of ``table`` into an in-process (DuckDB) memtable; decimals as floats."""
    decimals = {n: table[n].cast("float64") for n, t in table.schema().items() if t.is_decimal()}
    if decimals:
        table = table.mutate(**decimals)
    if connection.vendor == "postgresql":
        return ibis.memtable(_postgres_arrow(table))
    return ibis.memtable(table.to_pyarrow())


def _postgres_arrow(table: ir.Table) -> pa.Table:
    """``table`` (an expression over the app's PostgreSQL tables) read with one ``COPY ... TO
    STDOUT`` and parsed by Arrow's CSV reader: about ten times faster than fetching the rows
    through a cursor, which builds a Python tuple per row."""
    schema = table.schema().to_pyarrow()
    sql = ibis.to_sql(table, dialect="postgres")
    buffer = io.BytesIO()
    # the session's time zone is UTC (Django's), so timestamps read back as they are
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy,
    ):
        for block in copy:
            buffer.write(block)
    if buffer.tell() == 0:
        # no rows (a sales rep with no complaints, ...): Arrow refuses an empty CSV file
        return schema.empty_table()
    buffer.seek(0)
    return pa_csv.read_csv(
        buffer,
        read_options=pa_csv.ReadOptions(column_names=schema.names),
        convert_options=pa_csv.ConvertOptions(
            column_types=schema,
            null_values=[""],  # an unquoted empty field is NULL; a quoted one, ""
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def _order_categories(lines: ir.Table, names: ir.Table) -> ir.Table:
    """``order_id``, ``category``: the category name of each order's largest line (the first
    line of a tie); lines without a category do not count."""
    named = lines.join(names, lines.category_id == names.id).select(
        order_id=lines.order_id, line_id=lines.id, amount=lines.amount, category=names.name
    )
    pos = ibis.row_number().over(
        group_by=named.order_id, order_by=[named.amount.desc(), named.line_id]
    )
    ranked = named.mutate(pos=pos)
    return ranked.filter(ranked.pos == 0).select("order_id", "category")


def _preference_orders(orders: ir.Table, lines: ir.Table, names: ir.Table) -> ir.Table:
    categories = _order_categories(lines, names)
    return orders.left_join(categories, orders.id == categories.order_id).select(
        *(orders[name] for name in ORDER_FIELDS), orders.channel, categories.category
    )


def _app_order_tables(con: Any) -> tuple[ir.Table, ir.Table, ir.Table]:
    """The orders (with ``id`` and ``channel``), their lines and the product categories."""
    return (
        con.table("orders_order").select(*ORDER_FIELDS, "id", "channel"),
        con.table("orders_orderline").select("id", "order_id", "amount", "category_id"),
        con.table("orders_productcategory").select("id", "name"),
    )


def app_tables(*, source: TableSource = TableSource.AUTO, preferences: bool = False) -> AppTables:
    """The app's orders, customers, follow-ups, complaints and answered surveys for the engine.

    With ``preferences``, also the orders with their ``channel`` and ``category`` (the
    category of the order's largest line) for the preferred channel and category of the
    scores; ``orders`` stays without them, so the KPIs do not pay for the join of the lines.
    """
    source = resolved_source(source)
    if source in {TableSource.DATABASE, TableSource.COPY}:
        con = _connect()
        order_tables = _app_order_tables(con) if preferences else None
        surveys = con.table("surveys_surveyresponse")
        tables = AppTables(
            orders=con.table("orders_order").select(*ORDER_FIELDS),
            customers=con.table("customers_customer").select("id", "first_contact_date", "kind"),
            interactions=con.table("interactions_followup").select("customer_id", "occurred_at"),
            complaints=con.table("complaints_complaint").select(
                "customer_id", "opened_at", "status"
            ),
            surveys=surveys.filter(surveys.answered_at.notnull()).select(
                "customer_id", "answered_at", "nps", "satisfaction"
            ),
            preference_orders=_preference_orders(*order_tables) if order_tables else None,
            followups=con.table("tasks_task").select(*FOLLOWUP_FIELDS),
        )
        if source == TableSource.COPY:
            if order_tables:
                # copy the orders, their lines and the categories as they are; the largest
                # line of each order is found in DuckDB (a window in SQLite is far slower)
                orders, lines, names = (_copied(t) for t in order_tables)
                full = ibis.memtable(_preference_orders(orders, lines, names).to_pyarrow())
            else:
                full = _copied(tables.orders)
            tables = AppTables(
                orders=full.select(*ORDER_FIELDS),
                customers=_copied(tables.customers),
                interactions=_copied(tables.interactions),
                complaints=_copied(tables.complaints),
                surveys=_copied(tables.surveys),
                preference_orders=full if preferences else None,
                followups=_copied(tables.followups) if tables.followups is not None else None,
            )
        return tables
    from retain.complaints.models import Complaint
    from retain.customers.models import Customer
    from retain.interactions.models import FollowUp
    from retain.orders.models import Order, OrderLine
    from retain.surveys.models import SurveyResponse
    from retain.tasks.models import Task

    def rows(qs: Any, *names: str) -> list[dict[str, Any]]:
        return list(qs.values(*names))

    order_columns = {
        "customer_id": "int",
        "ordered_at": "timestamp",
        "amount": "float",
        "status": "text",
    }
    orders = Order.objects.all()
    if preferences:
        largest_line = OrderLine.objects.filter(order=OuterRef("pk"), category__isnull=False)
        orders = orders.annotate(
            category=Subquery(largest_line.order_by("-amount", "pk").values("category__name")[:1])
        )
        order_columns |= {"channel": "text", "category": "text"}
    full = _frame(rows(orders, *order_columns), order_columns)

    return AppTables(
        orders=full.select(*ORDER_FIELDS),
        customers=_frame(
            rows(Customer.objects.all(), "id", "first_contact_date", "kind"),
            {"id": "int", "first_contact_date": "date", "kind": "text"},
        ),
        interactions=_frame(
            rows(FollowUp.objects.all(), "customer_id", "occurred_at"),
            {"customer_id": "int", "occurred_at": "timestamp"},
        ),
        complaints=_frame(
            rows(Complaint.objects.all(), "customer_id", "opened_at", "status"),
            {"customer_id": "int", "opened_at": "timestamp", "status": "text"},
        ),
        surveys=_frame(
            rows(
                SurveyResponse.objects.filter(answered_at__isnull=False),
                "customer_id",
                "answered_at",
                "nps",
                "satisfaction",
            ),
            {"customer_id": "int", "answered_at": "timestamp", "nps": "int", "satisfaction": "int"},
        ),
        preference_orders=full if preferences else None,
        followups=_frame(
            rows(Task.objects.all(), *FOLLOWUP_FIELDS),
            {
                "customer_id": "int",
                "created_at": "timestamp",
                "due_on": "date",
                "closed_at": "timestamp",
                "outcome": "text",
            },
        ),
    )


def as_date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()
