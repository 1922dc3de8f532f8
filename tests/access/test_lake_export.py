"""`retain export --parquet`: the engine's inputs as Parquet folders that `retain analyze`
reads; refused without the export permission or sight of every customer; ids only; audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from typer.testing import CliRunner

from retain.audit.models import AuditEvent
from retain.cli import app
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
runner = CliRunner()


def _orders(company) -> None:
    day = dt.datetime(2025, 1, 6, 10, tzinfo=dt.UTC)
    for n, owner in enumerate(["lead", "east", "west", "nobody"]):
        for k in range(n + 1):
            OrderFactory(
                customer=company.customers[owner],
                ordered_at=day + dt.timedelta(days=30 * k + n),
                amount=Decimal("50.00") + k,
            )
    OrderFactory(customer=company.customers["west"], ordered_at=day, status="refunded")


def test_analyst_exports_ids_only_and_analyze_reads_the_folder(company, tmp_path):
    # given a company with 10 orders and a refunded one
    _orders(company)
    out = tmp_path / "lake"
    # when the analyst exports it as Parquet
    done = runner.invoke(app, ["export", "--as", "analyst", "--parquet", str(out)])
    # then each table is a folder of parts, with ids and no personal data
    assert done.exit_code == 0, done.output
    assert "orders: 10 rows" in done.output
    orders = pd.read_parquet(out / "orders")
    assert sorted(orders.columns) == sorted(
        ["customer_id", "ordered_at", "amount", "status", "channel", "category"]
    )
    assert set(orders["status"]) == {"paid"}  # the refunded order is left out, as scoring does
    ids = {c.pk for c in company.customers.values()}
    assert set(orders["customer_id"]) == ids
    customers = pd.read_parquet(out / "customers")
    assert sorted(customers.columns) == ["first_contact_date", "id", "kind"]
    assert set(customers["id"]) == ids
    for name in ("interactions", "complaints", "surveys", "followups"):
        assert (out / name / "part-00000.parquet").exists()
        assert not {"name", "phone", "email"} & set(pd.read_parquet(out / name).columns)
    event = AuditEvent.objects.get(action="export")
    assert event.actor == company.users["analyst"] and str(out) in event.object_repr
    # and `retain analyze` reads the orders folder with the options the command prints
    scores = tmp_path / "scores.csv"
    options = done.output.split("retain analyze ", 1)[1].split(" --out")[0].split()[1:]
    analyzed = runner.invoke(app, ["analyze", str(out / "orders"), *options, "--out", str(scores)])
    assert analyzed.exit_code == 0, analyzed.output
    assert set(pd.read_csv(scores)["customer_id"]) == ids


@pytest.mark.parametrize("who", ["east", "lead", "marketing", "service"])
def test_export_is_refused_without_the_permission(company, tmp_path, who):
    out = tmp_path / "lake"

    refused = runner.invoke(app, ["export", "--as", who, "--parquet", str(out)])

    assert refused.exit_code == 1
    assert "may not export" in refused.output
    assert not out.exists()
    assert AuditEvent.objects.filter(action="export").count() == 0


def _recipe(company, tmp_path, *engine: str) -> tuple[object, pd.DataFrame]:
    """docs/analytics.md's recipe: export, analyze (on ``engine``), import the scores."""
    _orders(company)
    lake = tmp_path / "lake"
    done = runner.invoke(app, ["export", "--as", "analyst", "--parquet", str(lake)])
    assert done.exit_code == 0, done.output
    options = done.output.split("retain analyze ", 1)[1].split(" --out")[0].split()[1:]
    scores = tmp_path / "scores"
    analyzed = runner.invoke(
        app,
        ["analyze", str(lake / "orders"), *options, "--as-of", "2025-06-30", *engine,
         "--out", str(scores)],
    )  # fmt: skip
    assert analyzed.exit_code == 0, analyzed.output
    loaded = runner.invoke(
        app, ["import", str(scores), "--kind", "scores", "--as", "analyst", "--as-of", "2025-06-30"]
    )
    return loaded, pd.read_parquet(scores)


def _stored() -> dict[int, tuple[str, str, float | None]]:
    from retain.scoring.models import CustomerScore

    return {
        s.customer_id: (s.rfm_segment, s.churn_risk, s.predicted_ltv)
        for s in CustomerScore.objects.all()
    }


def test_recipe_loads_the_scores_as_a_scoring_run_and_again_the_same(company, tmp_path):
    from retain.scoring.models import ScoringRun

    # given the company exported and analysed
    loaded, analysed = _recipe(company, tmp_path)
    # then the scores are the app's, each customer as analysed
    assert loaded.exit_code == 0, loaded.output
    assert "Loaded scores of 4 customers as of 2025-06-30" in loaded.output
    stored = _stored()
    assert stored == {
        int(r.customer_id): (r.rfm_segment, r.churn_risk, round(r.predicted_ltv, 2))
        for r in analysed.itertuples()
    }
    run = ScoringRun.objects.get()
    assert (run.status, run.as_of, run.customers) == ("done", dt.date(2025, 6, 30), 4)
    assert AuditEvent.objects.filter(action="import", actor=company.users["analyst"]).count() == 1
    # and loading the same file again changes nothing
    again = runner.invoke(
        app,
        ["import", str(tmp_path / "scores"), "--kind", "scores", "--as", "analyst",
         "--as-of", "2025-06-30"],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert _stored() == stored


@pytest.mark.spark
def test_recipe_on_spark_gives_the_duckdb_scores(company, tmp_path):
    # given the recipe run with `retain analyze --engine spark` in local mode
    loaded, _analysed = _recipe(
        company, tmp_path, "--engine", "spark", "--spark-master", "local[1]",
        "--spark-conf", "spark.sql.shuffle.partitions=2",
    )  # fmt: skip
    assert loaded.exit_code == 0, loaded.output
    # then the stored scores are those DuckDB gives on the same export
    duck = tmp_path / "duck.csv"
    options = ["--customer-col", "customer_id", "--date-col", "ordered_at", "--amount-col",
               "amount", "--status-col", "status", "--as-of", "2025-06-30"]  # fmt: skip
    done = runner.invoke(app, ["analyze", str(tmp_path / "lake" / "orders"), *options,
                               "--out", str(duck)])  # fmt: skip
    assert done.exit_code == 0, done.output
    want = pd.read_csv(duck)
    assert {k: v[0] for k, v in _stored().items()} == dict(
        zip(want["customer_id"], want["rfm_segment"], strict=True)
    )


def test_scores_file_errors_name_the_file_row_and_field(company, tmp_path):
    # (the command speaks the app's default language, Chinese)
    from retain.scoring.models import CustomerScore

    ids = sorted(c.pk for c in company.customers.values())
    good = {"customer_id": [str(i) for i in ids], "rfm_segment": "Champions",
            "lifecycle_stage": "active", "churn_risk": "low", "p_alive": "0.5"}  # fmt: skip
    cases = [
        ({**good, "customer_id": [str(ids[0]), "abc", *map(str, ids[2:])]},
         "scores.csv 第 2 行，字段 customer_id：'abc' 不是客户编号"),
        ({**good, "customer_id": [*map(str, ids[:3]), "999999"]},
         "scores.csv 第 4 行，字段 customer_id：没有编号为 999999 的客户"),
        ({**good, "p_alive": ["0.5", "0.5", "x", "0.5"]},
         "scores.csv 第 3 行，字段 p_alive：'x' 不是数字"),
    ]  # fmt: skip
    for columns, message in cases:
        path = tmp_path / "scores.csv"
        pd.DataFrame(columns).to_csv(path, index=False)
        result = runner.invoke(
            app,
            ["import", str(path), "--kind", "scores", "--as", "analyst", "--as-of", "2025-06-30"],
        )
        assert result.exit_code == 1
        assert message in " ".join(result.output.split())
    pd.DataFrame(good).drop(columns="churn_risk").to_csv(tmp_path / "scores.csv", index=False)
    result = runner.invoke(
        app, ["import", str(tmp_path / "scores.csv"), "--kind", "scores", "--as-of", "2025-06-30"]
    )
    assert "scores.csv：缺少列 churn_risk" in result.output
    refused = runner.invoke(
        app, ["import", str(path), "--kind", "scores", "--as", "east", "--as-of", "2025-06-30"]
    )
    assert refused.exit_code == 1 and "may not load scores" in refused.output
    assert CustomerScore.objects.count() == 0
