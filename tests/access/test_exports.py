"""Customer exports obey the matrix from the web and the CLI: visible rows only, masked
personal data where the role needs it, refused without the permission, audited."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from typer.testing import CliRunner

from retain.audit.models import AuditEvent
from retain.cli import app

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_analyst_exports_every_customer_with_masked_phones(client, company):
    client.force_login(company.users["analyst"])

    response = client.get(
        reverse("customer-export", args=["csv"]), headers={"accept-language": "en"}
    )

    rows = _rows(_body(response))
    assert [r["Code"] for r in rows] == sorted(c.code for c in company.customers.values())
    assert rows[0]["Phone"] == "138****0000"
    assert rows[0]["Email"] == "z***@example.com"
    event = AuditEvent.objects.get(action="export")
    assert event.actor == company.users["analyst"]


def test_manager_export_has_full_phones(client, company):
    client.force_login(company.users["manager"])

    rows = _rows(_body(client.get(reverse("customer-export", args=["csv"]))))

    assert rows[0]["电话"] == "13812340000"  # the headers are in the user's language


@pytest.mark.parametrize("who", ["east", "lead", "marketing", "service"])
def test_roles_without_the_export_permission_are_refused(client, company, who):
    client.force_login(company.users[who])

    response = client.get(reverse("customer-export", args=["csv"]))

    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="export").count() == 0


def test_cli_export_as_a_user_obeys_their_permissions(company, tmp_path):
    out = tmp_path / "customers.csv"
    runner = CliRunner()

    refused = runner.invoke(app, ["export-customers", "--as", "east", "--out", str(out)])
    done = runner.invoke(app, ["export-customers", "--as", "analyst", "--out", str(out)])

    assert refused.exit_code == 1
    assert "may not export" in refused.output
    assert done.exit_code == 0, done.output
    assert "Exported 4 customers" in done.output
    rows = _rows(out.read_text(encoding="utf-8-sig"))
    assert {r["phone"] for r in rows} == {
        "138****0000",
        "138****0001",
        "138****0002",
        "138****0003",
    }
