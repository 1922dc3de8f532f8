"""Smaller leaks (issue #11, item 9): `retain check --strict` fails with debug on,
`retain export-customers --out x.xlsx` writes a real workbook (masked, audited, neutralised
like the page's), and `retain analyze` writes a formula-safe CSV."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from retain.audit.models import AuditEvent
from retain.cli import app

runner = CliRunner()


def _retain(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    environ.update({"RETAIN_HOME": str(home), **env})
    return subprocess.run(
        [sys.executable, "-m", "retain.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )


def test_check_strict_fails_when_debug_is_on(tmp_path):
    production = {
        "RETAIN_HTTPS": "1",
        "RETAIN_SECRET_KEY": secrets.token_urlsafe(50),
        "RETAIN_ALLOWED_HOSTS": "crm.example.com",
        "RETAIN_BASE_URL": "https://crm.example.com",
    }

    with_debug = _retain("check", "--strict", home=tmp_path, RETAIN_DEBUG="1", **production)
    without = _retain("check", "--strict", home=tmp_path, **production)

    assert with_debug.returncode == 1
    assert "security.W018" in with_debug.stderr  # DEBUG in deployment
    assert without.returncode == 0, without.stdout + without.stderr


@pytest.mark.django_db
def test_export_customers_to_xlsx_writes_a_workbook(company, tmp_path):
    company.customers["east"].name = "=HYPERLINK(1)"
    company.customers["east"].save()
    out = tmp_path / "customers.xlsx"

    result = runner.invoke(app, ["export-customers", "--as", "analyst", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"  # a zip: a real workbook, not CSV text
    rows = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
    header = list(rows[0])
    by_code = {r[header.index("code")]: r for r in rows[1:]}
    assert len(by_code) == 4
    east = by_code[company.code("east")]
    assert east[header.index("name")] == "'=HYPERLINK(1)"
    assert east[header.index("phone")] == "138****0001"  # masked for the analyst
    assert AuditEvent.objects.filter(action="export", actor=company.users["analyst"]).count() == 1


def test_analyze_writes_a_formula_safe_csv(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "cust,when,value\n=cmd|'/c calc'!A1,2024-01-05,100\n=cmd|'/c calc'!A1,2024-02-05,50\n"
        "B,2024-01-20,30\n@SUM(1),2024-03-01,20\n"
    )
    out = tmp_path / "scores.csv"

    result = runner.invoke(
        app,
        [
            "analyze",
            str(orders),
            "--customer-col",
            "cust",
            "--date-col",
            "when",
            "--amount-col",
            "value",
            "--as-of",
            "2024-03-31",
            "--out",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    ids = set(pd.read_csv(out, dtype=str)["customer_id"])
    assert ids == {"'=cmd|'/c calc'!A1", "B", "'@SUM(1)"}
