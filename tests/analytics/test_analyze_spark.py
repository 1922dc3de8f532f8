"""`retain analyze` on folders and globs of parts, and on Spark: the same scores as on DuckDB."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from retain.analytics.cli import analyze

# the Python workers of the session-wide test Spark need this interpreter's pandas
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
app = typer.Typer()
app.command("analyze")(analyze)
runner = CliRunner()
ARGS = [
    "--customer-col", "customer_id", "--date-col", "ordered_at", "--amount-col", "total",
    "--status-col", "status", "--channel-col", "channel", "--category-col", "category",
    "--as-of", "2024-03-31",
]  # fmt: skip
TEXT = ("customer_id", "rfm_segment", "value_tier", "churn_risk", "risk_reasons",
        "preferred_channel", "preferred_category", "lifecycle_stage")  # fmt: skip


CHURN_FIT = ("churn_probability", "expected_lost_value", "churn_risk")


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def _parts(tables: dict[str, pd.DataFrame], folder: Path, suffix: str) -> Path:
    """The test orders as three parts in ``folder`` (plus a _SUCCESS marker, as Spark writes)."""
    folder.mkdir()
    orders = tables["orders"]
    for i, part in enumerate(np.array_split(np.arange(len(orders)), 3)):
        frame = orders.iloc[part]
        if suffix == ".parquet":
            frame.to_parquet(folder / f"part-{i:05d}.parquet", index=False)
        else:
            frame.to_csv(folder / f"part-{i:05d}.csv", index=False)
    (folder / "_SUCCESS").write_text("")
    return folder


def assert_same_scores(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal text, numbers to rtol 1e-6 (the cross-engine suite's score tolerance), the learned
    churn probability included: its fit is deterministic (rows in customer order, money to the
    cent, seeded samples and folds), so the same orders through another reader or engine give
    the same model. The probability and the lost value get an absolute 1e-6 besides (the
    features agree to about 1e-9, not to the bit)."""
    assert list(got.columns) == list(want.columns)
    bad = []
    assert len(got) == len(want) == 298  # 2 customers have no counted order by as_of
    for col in want.columns:
        if col in TEXT or not pd.api.types.is_numeric_dtype(want[col]):
            g = got[col].fillna("<null>").astype(str)
            w = want[col].fillna("<null>").astype(str)
            if (g != w).any():
                bad.append(f"{col}: {int((g != w).sum())} differ, e.g. {g[g != w].iloc[0]!r}")
        else:
            g, w = got[col].to_numpy(np.float64), want[col].to_numpy(np.float64)
            tol = (1e-6, 1e-6) if col in CHURN_FIT else (1e-6, 1e-9)
            if not np.allclose(g, w, rtol=tol[0], atol=tol[1], equal_nan=True):
                bad.append(f"{col}: max |diff| {np.nanmax(np.abs(g - w)):.3g}")
    assert not bad, bad


def test_folder_glob_and_single_file_give_the_same_scores(
    tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    # given the same orders as one CSV file, a folder of CSV parts and a glob of Parquet parts
    single = tmp_path / "orders.csv"
    tables["orders"].to_csv(single, index=False)
    csv_parts = _parts(tables, tmp_path / "csv_parts", ".csv")
    _parts(tables, tmp_path / "pq_parts", ".parquet")
    outs = []
    for i, source in enumerate([single, csv_parts, tmp_path / "pq_parts" / "*.parquet"]):
        out = tmp_path / f"scores{i}.csv"
        # when each is analysed
        code, output = _run(source, *ARGS, "--out", out)
        assert code == 0, output
        outs.append(pd.read_csv(out))
    # then the scores are the same
    assert_same_scores(outs[1], outs[0])
    assert_same_scores(outs[2], outs[0])


def test_empty_glob_and_folder_are_clear_errors(tmp_path: Path) -> None:
    code, output = _run(tmp_path / "*.parquet", *ARGS, "--out", tmp_path / "s.csv")
    assert code == 2 and "no file matches this pattern" in output
    (tmp_path / "empty").mkdir()
    code, output = _run(tmp_path / "empty", *ARGS, "--out", tmp_path / "s.csv")
    assert code == 2 and "the folder has no" in output
    code, output = _run(tmp_path / "missing.csv", *ARGS, "--out", tmp_path / "s.csv")
    assert code == 2 and "file not found" in output


def test_spark_options_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("customer_id,ordered_at,total\nA,2024-01-05,10\n")
    base = [path, "--customer-col", "customer_id", "--date-col", "ordered_at",
            "--amount-col", "total", "--out", tmp_path / "s.csv"]  # fmt: skip
    code, output = _run(*base, "--engine", "flink")
    assert code == 2 and "use one of duckdb, spark" in output
    code, output = _run(*base, "--engine", "spark", "--spark-conf", "novalue")
    assert code == 2 and "use key=value" in output
    code, output = _run(*base, "--spark-conf", "spark.a=b")
    assert code == 2 and "--spark-conf needs --engine spark" in output


def _driver_must_not_read(*args: object) -> pd.DataFrame:
    raise AssertionError("the driver read an order file with pandas")


@pytest.mark.spark
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_spark_gives_the_duckdb_scores_through_the_cli(
    tables: dict[str, pd.DataFrame],
    tmp_path: Path,
    spark_session: object,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    # given a folder of Parquet (or CSV) parts
    parts = _parts(tables, tmp_path / "orders", suffix)
    # when it is analysed on DuckDB and on Spark (local mode), the latter into a Parquet folder
    duck = tmp_path / "duck.parquet"
    code, output = _run(parts, *ARGS, "--out", duck)
    assert code == 0, output
    # (on Spark the executors read the parts: the driver's pandas reader is never called)
    monkeypatch.setattr("retain.analytics._io._read_frame", _driver_must_not_read)
    spark_out, spark_csv = tmp_path / "spark_scores", tmp_path / "spark.csv"
    code, output = _run(
        parts, *ARGS, "--engine", "spark", "--spark-master", "local[1]",
        "--spark-conf", "spark.sql.shuffle.partitions=2",
        "--out", spark_out, "--out", spark_csv,
    )  # fmt: skip
    assert code == 0, output
    # then Spark wrote a Parquet folder and a CSV, and its scores are DuckDB's to the tolerance
    # of the cross-engine suite
    assert [p.name for p in spark_out.iterdir()] == ["part-00000.parquet"]
    assert_same_scores(pd.read_parquet(spark_out), pd.read_parquet(duck))
    assert len(pd.read_csv(spark_csv)) == 298


@pytest.mark.spark
def test_spark_names_the_part_with_a_bad_date(
    tables: dict[str, pd.DataFrame], tmp_path: Path, spark_session: object
) -> None:
    # given CSV parts of which the second has an unreadable date
    parts = _parts(tables, tmp_path / "orders", ".csv")
    bad = pd.read_csv(parts / "part-00001.csv", dtype=str)
    bad.loc[5, "ordered_at"] = "31/02/2024x"
    bad.to_csv(parts / "part-00001.csv", index=False)
    # when it is analysed on Spark
    code, output = _run(parts, *ARGS, "--engine", "spark", "--out", tmp_path / "s.csv")
    # then the error names the part, the column and the value, and no scores are written
    assert code == 2, output
    message = " ".join(output.split())
    assert "part-00001.csv: cannot parse the date '31/02/2024x' in column 'ordered_at'" in message
    assert "1 such row(s)" in message
    assert not (tmp_path / "s.csv").exists()
