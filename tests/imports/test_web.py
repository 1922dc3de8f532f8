"""The import wizard, duplicates and quality pages through Django's test client."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from retain.accounts.services import user_create
from retain.customers.models import Customer
from retain.imports.models import ImportJob, ImportStatus
from tests.conftest import PASSWORD
from tests.imports.conftest import SEED_HEADER, SEED_ROWS, csv_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def huey_immediate():
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = False


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_the_wizard_detects_the_seed_sheet_previews_and_imports(
    client, importer, huey_immediate, django_capture_on_commit_callbacks
):
    client.force_login(importer)
    content = csv_text(SEED_HEADER, SEED_ROWS).encode("gbk")

    uploaded = client.post(reverse("imports"), {"file": _upload("客户信息表.csv", content)})
    job = ImportJob.objects.get()
    mapping_page = client.get(reverse("import-mapping", args=[job.pk]))

    assert uploaded.status_code == 302
    assert uploaded["Location"] == reverse("import-mapping", args=[job.pk])
    assert job.kind == "customers"
    assert job.mapping == {
        "客户编号": "code",
        "客户名称": "name",
        "联系人": "contact",
        "所属行业": "industry",
        "客户来源": "source",
        "首次接触时间": "first_contact_date",
        "当前状态": "status",
        "关键需求": "key_needs",
        "备注": "notes",
    }
    assert (
        "First 2 rows: 2 new, 0 changed, 0 unchanged, 0 with errors."
        in mapping_page.content.decode()
    )
    assert Customer.objects.count() == 0  # the preview wrote nothing

    form = {f"col-{i}": job.mapping[header] for i, header in enumerate(SEED_HEADER)}
    with django_capture_on_commit_callbacks(execute=True):
        committed = client.post(
            reverse("import-mapping", args=[job.pk]),
            {**form, "kind": "customers", "mode": "all", "action": "commit"},
        )

    job.refresh_from_db()
    assert committed["Location"] == reverse("import-job", args=[job.pk])
    assert (job.status, job.created_count, job.rejected_count) == (ImportStatus.DONE, 2, 0)
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["C2024001", "C2024002"]
    page = client.get(reverse("import-job", args=[job.pk])).content.decode()
    assert 'data-status="done"' in page


def test_valid_rows_mode_hands_back_a_reject_file(
    client, importer, huey_immediate, django_capture_on_commit_callbacks
):
    client.force_login(importer)
    rows = [*SEED_ROWS, ["C2024003", "坏公司", "王*", "", "", "去年", "", "", ""]]
    client.post(
        reverse("imports"), {"file": _upload("c.csv", csv_text(SEED_HEADER, rows).encode("gbk"))}
    )
    job = ImportJob.objects.get()
    form = {f"col-{i}": job.mapping[header] for i, header in enumerate(SEED_HEADER)}

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("import-mapping", args=[job.pk]),
            {**form, "kind": "customers", "mode": "valid", "action": "commit"},
        )

    job.refresh_from_db()
    assert (job.status, job.created_count, job.rejected_count) == (ImportStatus.DONE, 2, 1)
    response = client.get(reverse("import-reject", args=[job.pk]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[1][0] == "C2024003"
    assert lines[1][-1].startswith("row 4: 首次接触时间: 去年 is not a date")


def test_an_empty_upload_is_refused_with_its_reason(client, importer):
    client.force_login(importer)

    response = client.post(reverse("imports"), {"file": _upload("empty.csv", b"")}, follow=True)

    assert "empty.csv is empty." in response.content.decode()
    assert ImportJob.objects.get().status == ImportStatus.FAILED
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("role", ["marketing", "service", "analyst"])
def test_roles_that_may_not_import_are_refused(client, role):
    user = user_create(username=f"u-{role}", password=PASSWORD, role=role)
    client.force_login(user)

    assert client.get(reverse("imports")).status_code == 403
    assert (
        client.post(reverse("imports"), {"file": _upload("c.csv", b"a,b\n1,2\n")}).status_code
        == 403
    )
    assert ImportJob.objects.count() == 0


def test_sales_may_import(client):
    sales = user_create(username="s1", password=PASSWORD, role="sales")
    client.force_login(sales)

    assert client.get(reverse("imports")).status_code == 200


@pytest.mark.parametrize(("language", "first"), [("zh", "客户编号"), ("en", "Customer code")])
def test_blank_templates_download_in_both_languages(client, importer, language, first):
    client.force_login(importer)

    csv_response = client.get(reverse("import-template", args=["customers", language, "csv"]))
    xlsx_response = client.get(reverse("import-template", args=["customers", language, "xlsx"]))

    header = csv_response.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[0] == first
    assert len(header) == 14
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx_response.content))
    assert book.active.cell(1, 1).value == first
