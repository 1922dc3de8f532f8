"""Fixtures of the analytics tests: one data set, four engines, one pandas reference.

The engine tests need no Django and no database fixture; PostgreSQL and Spark are skipped with
a reason when unavailable, unless RETAIN_REQUIRE_POSTGRES=1 / RETAIN_REQUIRE_SPARK=1.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest
from analytics_reference import Loader

from retain.analytics import AnalyticsSettings

POSTGRES_URL = os.environ.get(
    "RETAIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
ENGINES = [
    "duckdb",
    "sqlite",
    "postgres",
    pytest.param("spark", marks=pytest.mark.spark),
]


# -- the data set --------------------------------------------------------------------------------
def make_tables(seed: int = 7, n_customers: int = 300) -> dict[str, pd.DataFrame]:
    """Orders with refunds, cancellations, zero amounts, future rows, channels and categories
    (some null); prospects; extras."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2022-01-01")
    n_orders = rng.integers(1, 9, n_customers)
    first = rng.integers(0, 800, n_customers)
    cid = np.repeat(np.arange(1, n_customers + 1), n_orders)
    offsets = np.concatenate(
        [np.concatenate([[0], np.sort(rng.integers(0, 300, k - 1))]) for k in n_orders]
    )
    day = np.repeat(first, n_orders) + offsets
    seconds = rng.integers(0, 86400, day.size)
    ts = start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(seconds, unit="s")
    amount = np.round(rng.gamma(2.0, 40.0, day.size), 2)
    status = np.array(["paid"] * day.size, dtype=object)
    pick = rng.random(day.size)
    amount[pick < 0.03] = 0.0  # free orders
    status[(pick >= 0.03) & (pick < 0.06)] = "cancelled"
    status[(pick >= 0.06) & (pick < 0.08)] = "Refunded"  # refund flagged by status
    neg = (pick >= 0.08) & (pick < 0.10)
    amount[neg] = -np.round(amount[neg] / 2, 2)  # refund as a negative amount
    # channel and category from their own generator: the other columns stay as they were
    pick_rng = np.random.default_rng(seed + 1)
    channels = np.array(["online", "offline"], dtype=object)[pick_rng.integers(0, 2, day.size)]
    channels[pick_rng.random(day.size) < 0.05] = None
    categories = np.array(["books", "garden", "music", "toys"], dtype=object)[
        pick_rng.integers(0, 4, day.size)
    ]
    categories[pick_rng.random(day.size) < 0.1] = None
    orders = pd.DataFrame(
        {
            "customer_id": cid.astype(np.int64),
            "ordered_at": ts.astype("datetime64[us]"),
            "total": amount.astype(np.float64),
            "status": pd.Series(status, dtype=object).astype(str),
            "channel": pd.Series(channels, dtype=object),
            "category": pd.Series(categories, dtype=object),
        }
    )
    n_all = n_customers + 20  # 20 prospects without orders
    customers = pd.DataFrame(
        {
            "id": np.arange(1, n_all + 1, dtype=np.int64),
            "first_contact": (
                start + pd.to_timedelta(rng.integers(0, 700, n_all), unit="D")
            ).astype("datetime64[us]"),
        }
    )
    k = 400
    interactions = pd.DataFrame(
        {
            "customer_id": rng.integers(1, n_all + 1, k).astype(np.int64),
            "happened_at": (
                pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 400, k), unit="D")
            ).astype("datetime64[us]"),
        }
    )
    k = 60
    complaints = pd.DataFrame(
        {
            "customer_id": rng.integers(1, n_all + 1, k).astype(np.int64),
            "opened_at": (
                pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, k), unit="D")
            ).astype("datetime64[us]"),
            "resolved": rng.random(k) < 0.6,
        }
    )
    k = 150
    surveys = pd.DataFrame(
        {
            "customer_id": rng.integers(1, n_all + 1, k).astype(np.int64),
            "answered_at": (
                pd.Timestamp("2023-01-01")
                + pd.to_timedelta(rng.integers(0, 500, k), unit="D")
                + pd.to_timedelta(rng.integers(0, 86400, k), unit="s")
            ).astype("datetime64[us]"),
            "nps": rng.integers(0, 11, k).astype(np.int64),
            "rating": rng.integers(1, 6, k).astype(np.int64),
        }
    )
    # customer kind and follow-ups from their own generator: the other tables stay as they were
    extra_rng = np.random.default_rng(seed + 2)
    kinds = np.array(["company", "person", "Company"], dtype=object)[
        extra_rng.integers(0, 3, n_all)
    ]
    kinds[extra_rng.random(n_all) < 0.1] = None  # unknown
    customers["kind"] = pd.Series(kinds, dtype=object)
    k = 250
    created = (
        pd.Timestamp("2023-06-01")
        + pd.to_timedelta(extra_rng.integers(0, 400, k), unit="D")
        + pd.to_timedelta(extra_rng.integers(0, 86400, k), unit="s")
    )
    due = (created.normalize() + pd.to_timedelta(extra_rng.integers(0, 30, k), unit="D")).date
    closed = created + pd.to_timedelta(extra_rng.integers(0, 60 * 86400, k), unit="s")
    still_open = extra_rng.random(k) < 0.3
    outcome = np.array(["won_back", "lost", "", None], dtype=object)[extra_rng.integers(0, 4, k)]
    followups = pd.DataFrame(
        {
            "customer_id": extra_rng.integers(1, n_all + 1, k).astype(np.int64),
            "created_at": created.astype("datetime64[us]"),
            "due_on": pd.to_datetime(due).astype("datetime64[us]"),
            "closed_at": pd.Series(closed.astype("datetime64[us]")).where(~still_open),
            "outcome": pd.Series(outcome, dtype=object),
        }
    )
    return {
        "orders": orders,
        "customers": customers,
        "interactions": interactions,
        "complaints": complaints,
        "surveys": surveys,
        "followups": followups,
    }


@pytest.fixture(scope="session")
def tables() -> dict[str, pd.DataFrame]:
    return make_tables()


@pytest.fixture(scope="session")
def settings() -> AnalyticsSettings:
    return AnalyticsSettings()


# -- engines -------------------------------------------------------------------------------------
def _required(name: str) -> bool:
    return os.environ.get(f"RETAIN_REQUIRE_{name.upper()}") == "1"


def _skip_or_fail(name: str, reason: str) -> None:
    if _required(name):
        pytest.fail(f"{name} required (RETAIN_REQUIRE_{name.upper()}=1) but {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


@pytest.fixture(scope="session")
def spark_session() -> Iterator[object]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _skip_or_fail("spark", "no Java runtime on PATH and no JAVA_HOME")
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        _skip_or_fail("spark", f"pyspark not importable ({exc})")
        raise
    session = (
        SparkSession.builder.master("local[1]")
        .appName("retain-analytics-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def postgres_backend() -> Iterator[ibis.BaseBackend]:
    try:
        con = ibis.connect(POSTGRES_URL)
        con.raw_sql("SELECT 1").close()
    except Exception as exc:  # any connection problem: skip (or fail when required)
        _skip_or_fail("postgres", f"cannot connect to {POSTGRES_URL}: {exc}")
        raise
    yield con
    con.disconnect()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Loader]]:
    """(name, load) where load(name, frame) puts a pandas frame into the engine as a table."""
    name: str = request.param
    prefix = f"retain_t{uuid.uuid4().hex[:10]}_"
    created: list[str] = []
    con: ibis.BaseBackend
    if name == "duckdb":
        con = ibis.duckdb.connect()
    elif name == "sqlite":
        con = ibis.sqlite.connect(tmp_path / "engine.sqlite3")
    elif name == "postgres":
        con = request.getfixturevalue("postgres_backend")
    else:
        con = ibis.pyspark.connect(request.getfixturevalue("spark_session"))

    def load(table: str, frame: pd.DataFrame) -> ir.Table:
        full = prefix + table
        created.append(full)
        if name == "spark":
            return con.create_view(full, ibis.memtable(frame), overwrite=True)  # type: ignore[attr-defined]
        times = frame.select_dtypes("datetime")
        if name == "sqlite" and times.isna().any().any():
            # Ibis cannot bind a missing timestamp (NaT) into SQLite: pandas writes it as NULL
            frame.to_sql(full, con.con, index=False)  # type: ignore[attr-defined]
            return con.table(full)
        return con.create_table(full, frame, overwrite=True)  # type: ignore[attr-defined]

    yield name, load
    for full in created:
        if name == "spark":
            con.drop_view(full, force=True)  # type: ignore[attr-defined]
        else:
            con.drop_table(full, force=True)  # type: ignore[attr-defined]
    if name in ("duckdb", "sqlite"):
        con.disconnect()
