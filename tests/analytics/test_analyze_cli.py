"""`retain analyze` on files: outputs, and clear errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from retain.analytics.cli import analyze

app = typer.Typer()
app.command("analyze")(analyze)
runner = CliRunner()

ORDERS = """cust,when,value,state
A,2024-01-05,100.00,paid
A,2024-02-10,50.00,paid
A,2024-02-11,-20.00,paid
B,2024-01-20,0,paid
B,2024-03-01,30.00,refunded
C,2024-03-02,75.50,paid
C,2024-03-20,10.00,paid
D,2024-03-25,12.00,cancelled
"""
ARGS = ["--customer-col", "cust", "--date-col", "when", "--amount-col", "value"]


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    return path


def test_writes_scores_csv_parquet_and_report(orders_csv: Path, tmp_path: Path) -> None:
    out = [tmp_path / "scores.csv", tmp_path / "scores.parquet", tmp_path / "report.html"]
    code, output = _run(
        orders_csv, *ARGS, "--status-col", "state", "--as-of", "2024-03-31",
        *[x for p in out for x in ("--out", p)],
    )  # fmt: skip
    assert code == 0, output
    scores = pd.read_csv(out[0])
    assert scores["customer_id"].tolist() == ["A", "B", "C"]  # D only has a cancelled order
    a = scores.set_index("customer_id").loc["A"]
    assert (a["order_count"], a["total_spend"], a["refund_amount"]) == (2, 130.0, 20.0)
    b = scores.set_index("customer_id").loc["B"]
    assert (b["order_count"], b["total_spend"]) == (1, -30.0)  # free order, then a refund
    assert pd.read_parquet(out[1]).shape[0] == 3
    html = out[2].read_text()
    assert html.startswith("<!doctype html>") and "echarts" in html
    assert "http://" not in html.split("<script>")[0]  # no external resource before the JS


def test_channel_and_category_columns_add_the_preferred_ones(tmp_path: Path) -> None:
    # given orders with a channel and a category: A buys online twice and offline once (the
    # offline refund does not count); B's one order has a blank channel; C ties (one order
    # each) and the later one wins
    path = tmp_path / "orders.csv"
    path.write_text(
        "cust,when,value,state,via,kind\n"
        "A,2024-01-05,100.00,paid,online,books\n"
        "A,2024-02-10,50.00,paid,online,toys\n"
        "A,2024-02-11,20.00,paid,offline,toys\n"
        "A,2024-02-12,30.00,refunded,offline,toys\n"
        "A,2024-02-13,-5.00,paid,offline,toys\n"
        "B,2024-01-20,10.00,paid, ,\n"
        "C,2024-03-02,75.50,paid,offline,garden\n"
        "C,2024-03-20,10.00,paid,online,music\n"
    )
    out = tmp_path / "scores.csv"
    # when it is analysed with --channel-col and --category-col
    code, output = _run(
        path, *ARGS, "--status-col", "state", "--channel-col", "via", "--category-col", "kind",
        "--as-of", "2024-03-31", "--out", out,
    )  # fmt: skip
    # then the scores file has the two columns with each customer's preference
    assert code == 0, output
    scores = pd.read_csv(out, keep_default_na=False).set_index("customer_id")
    assert scores["preferred_channel"].to_dict() == {"A": "online", "B": "", "C": "online"}
    assert scores["preferred_category"].to_dict() == {"A": "toys", "B": "", "C": "music"}


def test_scores_have_no_preferred_columns_without_the_options(
    orders_csv: Path, tmp_path: Path
) -> None:
    code, output = _run(orders_csv, *ARGS, "--out", tmp_path / "s.csv")
    assert code == 0, output
    columns = pd.read_csv(tmp_path / "s.csv").columns
    assert "preferred_channel" not in columns and "preferred_category" not in columns


def test_missing_channel_column_names_the_option(orders_csv: Path, tmp_path: Path) -> None:
    code, output = _run(orders_csv, *ARGS, "--channel-col", "via", "--out", tmp_path / "s.csv")
    assert code == 2
    assert "no column 'via' (given by --channel-col)" in output
    assert not (tmp_path / "s.csv").exists()


def test_missing_column_is_a_clear_error(orders_csv: Path, tmp_path: Path) -> None:
    code, output = _run(
        orders_csv, "--customer-col", "customer", "--date-col", "when", "--amount-col", "value",
        "--out", tmp_path / "s.csv",
    )  # fmt: skip
    assert code == 2
    assert "no column 'customer' (given by --customer-col)" in output
    assert "cust, when, value, state" in output
    assert not (tmp_path / "s.csv").exists()


def test_unparseable_date_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("cust,when,value\nA,2024-01-05,1\nB,31/02/2024x,2\n")
    code, output = _run(path, *ARGS, "--out", tmp_path / "s.csv")
    assert code == 2
    assert "cannot parse the date '31/02/2024x' in column 'when' at row 2 (line 3)" in output


def test_bad_amount_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("cust,when,value\nA,2024-01-05,1\nB,2024-01-06,ten\n")
    code, output = _run(path, *ARGS, "--out", tmp_path / "s.csv")
    assert code == 2
    assert "cannot read the amount 'ten' in column 'value' at row 2" in output


@pytest.mark.parametrize("content", ["", "cust,when,value\n"])
def test_empty_input_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    code, output = _run(path, *ARGS, "--out", tmp_path / "s.csv")
    assert code == 2
    assert "empty" in output or "no orders" in output


def test_reads_xlsx_and_whitespace_text_with_yyyymmdd_dates(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"cust": ["A", "A", "B"], "when": ["2024-01-05", "2024-02-05", "2024-01-07"],
         "value": [10.0, 20.0, 5.0]}
    )  # fmt: skip
    frame.to_excel(tmp_path / "o.xlsx", index=False)
    code, output = _run(tmp_path / "o.xlsx", *ARGS, "--out", tmp_path / "x.csv")
    assert code == 0, output
    assert pd.read_csv(tmp_path / "x.csv")["order_count"].tolist() == [2, 1]
    (tmp_path / "o.txt").write_text(" cust when value\n 001 19970101 1.5\n 001 19970301 2.5\n")
    code, output = _run(tmp_path / "o.txt", *ARGS, "--out", tmp_path / "t.csv")
    assert code == 0, output
    t = pd.read_csv(tmp_path / "t.csv")
    assert (t["customer_id"].tolist(), t["frequency"].tolist()) == ([1], [1])
    assert t["last_purchase"].tolist() == ["1997-03-01"]


def test_unknown_output_type_is_rejected(orders_csv: Path, tmp_path: Path) -> None:
    code, output = _run(orders_csv, *ARGS, "--out", tmp_path / "s.json")
    assert code == 2 and "use a .csv, .parquet or .html" in output


def test_cdnow_master_gives_scores_and_report(tmp_path: Path) -> None:
    from analytics_reference import cdnow_file

    master = cdnow_file("CDNOW_master.txt")
    scores, report = tmp_path / "scores.csv", tmp_path / "report.html"
    code, output = _run(
        master, "--customer-col", "customer_id", "--date-col", "date",
        "--amount-col", "dollar_value", "--as-of", "1998-06-30",
        "--out", scores, "--out", report,
    )  # fmt: skip
    assert code == 0, output
    frame = pd.read_csv(scores)
    assert len(frame) == 23570 and frame["customer_id"].is_unique
    assert frame["p_alive"].between(0, 1).all() and (frame["predicted_ltv"] >= 0).all()
    assert report.stat().st_size > 1_000_000  # ECharts inlined: one file, works offline


def test_engine_never_imports_django() -> None:
    import subprocess
    import sys

    code = (
        "import sys, retain.analytics, retain.analytics.cli; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_customer_ids_are_written_exactly_as_read(tmp_path: Path) -> None:
    # given ids with leading zeros and ids that only look like numbers
    path = tmp_path / "orders.csv"
    path.write_text(
        "cust,when,value\n0001,2024-01-05,10\n10,2024-01-06,5\n2,2024-01-07,7\n"
        "0001,2024-02-01,20\n007,2024-02-02,3\n"
    )
    out = [tmp_path / "scores.csv", tmp_path / "scores.parquet"]
    # when analysed
    code, output = _run(
        path, *ARGS, "--as-of", "2024-03-01", *[x for p in out for x in ("--out", p)]
    )
    assert code == 0, output
    # then each file carries the ids as text, unchanged, in numeric order
    csv_ids = pd.read_csv(out[0], dtype=str)["customer_id"].tolist()
    assert csv_ids == ["0001", "2", "007", "10"]
    assert out[0].read_text().splitlines()[1].startswith("0001,")
    assert pd.read_parquet(out[1])["customer_id"].tolist() == ["0001", "2", "007", "10"]


def test_backtest_option_prints_and_reports_the_backtest(tmp_path: Path) -> None:
    from test_churn import simulate

    # given two years of orders of 1,200 customers
    orders, _ = simulate(n=1200)
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False)
    out = [tmp_path / "scores.csv", tmp_path / "report.html"]
    # when analysed with --backtest
    code, output = _run(
        path, "--customer-col", "customer_id", "--date-col", "timestamp", "--amount-col",
        "amount", "--backtest", *[x for p in out for x in ("--out", p)],
    )  # fmt: skip
    assert code == 0, output
    # then the console names the learned model and shows the back-test beside the baselines
    assert "churn probability: " in output and "classifier (no purchase in 90 days)" in output
    assert "back-test at 2023-10-02, 2023-07-04, 2023-04-05" in output
    for name in ("logistic", "hgb", "recency", "rfm_logistic", "bgnbd"):
        assert name in output
    # the scores carry the probability, the level and reason codes
    scores = pd.read_csv(out[0])
    assert scores["churn_probability"].between(0, 1).all()
    assert set(scores["churn_risk"]) <= {"high", "medium", "low"}
    assert set(scores["churn_model"]) == {"logistic"} or set(scores["churn_model"]) == {"hgb"}
    reasons = scores["risk_reasons"].dropna()
    assert reasons.str.fullmatch(r"[a-z_]+\([^)]*\)(; [a-z_]+\([^)]*\))*").all()
    # and the report has the back-test section with its calibration chart
    html = out[1].read_text()
    assert "Back-test: how far to trust the churn" in html and "id=calibration" in html
    assert "Baseline: BG/NBD" in html and "Baseline: RFM logistic regression" in html


def test_report_reads_the_engines_own_echarts_copy_identical_to_the_web_apps() -> None:
    # the engine's report needs no file of the web app: it ships its own copy of the bundle
    import retain.analytics
    from retain.analytics._report import echarts_source

    engine_copy = Path(retain.analytics.__file__).parent / "vendor" / "echarts.min.js"
    web_copy = Path(retain.analytics.__file__).parents[1] / "web" / "static" / "vendor"
    assert echarts_source() == engine_copy.read_text(encoding="utf-8")
    # and the two copies do not drift apart (update both when upgrading ECharts)
    assert engine_copy.read_bytes() == (web_copy / "echarts.min.js").read_bytes()
    report = Path(retain.analytics.__file__).parent / "_report.py"
    assert "web" not in report.read_text(encoding="utf-8").split("_ECHARTS = ")[1].split("\n")[0]
