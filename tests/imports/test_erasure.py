"""Erasure reaches stored files, and RETAIN_HOME is private (issue #11, item 6): the
uploads and reject files naming an erased person are deleted from the web, the API and the
command line alike; the database, secret key, uploads and their folders are owner-only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from retain.api.services import api_token_create
from retain.customers.models import Customer
from retain.imports.models import ImportJob, ImportStatus
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


def _import(client, rows, django_capture_on_commit_callbacks) -> ImportJob:
    content = csv_text(SEED_HEADER, rows).encode("utf-8-sig")
    client.post(reverse("imports"), {"file": SimpleUploadedFile("c.csv", content, "text/csv")})
    job = ImportJob.objects.order_by("-pk").first()
    form = {f"col-{i}": job.mapping[header] for i, header in enumerate(SEED_HEADER)}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("import-mapping", args=[job.pk]),
            {**form, "kind": "customers", "mode": "valid", "action": "commit"},
        )
    job.refresh_from_db()
    return job


def _files(job: ImportJob) -> list[Path]:
    return [Path(f.path) for f in (job.file, job.reject_file) if f]


@pytest.mark.parametrize("door", ["web", "api"])
def test_erasure_deletes_the_uploads_and_reject_files_naming_the_person(
    client, importer, huey_immediate, django_capture_on_commit_callbacks, door
):
    client.force_login(importer)
    bad = ["C2024001", "*科技有限公司", "张*", "", "", "去年", "", "", ""]  # a rejected row
    first = _import(client, [*SEED_ROWS, bad], django_capture_on_commit_callbacks)
    other = _import(client, [SEED_ROWS[1]], django_capture_on_commit_callbacks)
    assert first.status == ImportStatus.DONE and first.reject_file
    assert other.status == ImportStatus.DONE
    first_files, other_files = _files(first), _files(other)
    assert all(p.exists() for p in first_files + other_files)

    customer = Customer.objects.get(code="C2024001")
    if door == "web":
        response = client.post(
            reverse("customer-erase", args=[customer.code]), {"confirm": customer.code}
        )
        assert response.status_code in (200, 302)
    else:
        token = api_token_create(user=importer, name="t")[1]
        response = client.post(
            f"/api/v1/customers/{customer.code}/erase",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.content

    first.refresh_from_db()
    other.refresh_from_db()
    assert not any(p.exists() for p in first_files)
    assert (first.file.name, first.reject_file.name) == ("", "")
    assert all(p.exists() for p in other_files)  # the other file names someone else only
    assert other.file.name


def test_uploads_are_owner_only(client, importer):
    client.force_login(importer)
    before = os.umask(0o022)  # what a shell usually has
    try:
        content = csv_text(SEED_HEADER, SEED_ROWS).encode("utf-8-sig")
        client.post(reverse("imports"), {"file": SimpleUploadedFile("c.csv", content, "text/csv")})
    finally:
        os.umask(before)
    path = Path(ImportJob.objects.get().file.path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_retain_home_database_and_secret_key_are_owner_only(tmp_path):
    home = tmp_path / "home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RETAIN_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["RETAIN_HOME"] = str(home)
    retain = Path(sys.executable).with_name("retain")

    subprocess.run(
        [str(retain), "migrate"],
        env=env,
        check=True,
        capture_output=True,
        preexec_fn=lambda: os.umask(0o022),
        timeout=600,
    )

    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [home, *home.iterdir()] if p.is_file()}
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert modes["secret_key"] == 0o600
    assert modes["retain.sqlite3"] == 0o600
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes
