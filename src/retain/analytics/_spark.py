"""`retain analyze --engine spark`: a SparkSession from the command line's options."""

from __future__ import annotations

import os
import sys
from typing import Any

import ibis

__all__ = ["DEFAULT_CONF", "parse_conf", "spark_backend"]

#: Set unless ``--spark-conf`` overrides them: UTC days (the engine's rule, see docs/analytics.md),
#: Arrow transfers of the orders to Spark and of the results back, no console progress bars.
DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


def parse_conf(items: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` as a dict; a ValueError names the item without ``=``.

    Examples
    --------
    >>> parse_conf(["spark.executor.memory=4g", "spark.sql.shuffle.partitions=64"])
    {'spark.executor.memory': '4g', 'spark.sql.shuffle.partitions': '64'}
    """
    conf: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--spark-conf {item!r}: use key=value")
        conf[key.strip()] = value.strip()
    return conf


def spark_backend(master: str, conf: dict[str, str]) -> tuple[ibis.BaseBackend, Any, bool]:
    """(Ibis PySpark backend, SparkSession, owned) on ``master`` with ``conf`` over the defaults.

    A session already active in this process is reused (``owned`` is False: the caller must not
    stop it); Spark then keeps its master and applies only the runtime settings.
    """
    from pyspark.sql import SparkSession

    # Spark's Python workers run this interpreter (with pandas and pyarrow), not the first
    # python on PATH, unless PYSPARK_PYTHON says otherwise
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    owned = SparkSession.getActiveSession() is None
    builder = SparkSession.builder.master(master).appName("retain-analyze")
    for key, value in {**DEFAULT_CONF, **conf}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    return ibis.pyspark.connect(session), session, owned
