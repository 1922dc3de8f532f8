"""Scores of `retain analyze` uploaded from a page and loaded by the worker (issue #20 item 5)."""

from __future__ import annotations

import datetime as dt
import io
import stat
from pathlib import Path

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from retain.accounts.services import user_create
from retain.audit.models import AuditAction, AuditEvent
from retain.customers.models import Customer
from retain.scoring.models import CustomerScore, ScoresUpload, ScoringRun, UploadStatus
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def huey_immediate():
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = False


@pytest.fixture
def analyst(db):
    return user_create(username="ana", password=PASSWORD, role="analyst")


@pytest.fixture
def customers(db):
    from tests.factories import CustomerFactory

    return [CustomerFactory(code=f"C{i:03d}") for i in range(3)]


def _scores(customers: list[Customer]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [c.pk for c in customers],
            "rfm_segment": ["champions", "at_risk", "hibernating"],
            "lifecycle_stage": ["returning", "returning", "churned"],
            "churn_risk": ["low", "high", "medium"],
            "churn_probability": [0.1, 0.8, 0.5],
        }
    )


def _csv(frame: pd.DataFrame, name: str = "scores.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, frame.to_csv(index=False).encode(), content_type="text/csv")


def _parquet(frame: pd.DataFrame, name: str = "scores.parquet") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


def test_an_analyst_uploads_a_parquet_file_and_the_worker_loads_it(
    client,
    analyst,
    customers,
    media,
    huey_immediate,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    import retain.scoring.uploads as uploads

    client.force_login(analyst)
    stored: list[int] = []
    run_for_real = uploads.scores_upload_run

    def spy(*, job):  # the mode of the file as the worker finds it
        stored.append(stat.S_IMODE(Path(job.file.path).stat().st_mode))
        return run_for_real(job=job)

    monkeypatch.setattr(uploads, "scores_upload_run", spy)
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            reverse("scores-upload"),
            {"file": _parquet(_scores(customers)), "as_of": AS_OF.isoformat()},
        )

    job = ScoresUpload.objects.get()
    page = client.get(reverse("scores-upload-job", args=[job.pk])).content.decode()
    partial = client.get(
        reverse("scores-upload-job", args=[job.pk]), headers={"HX-Request": "true"}
    )
    assert posted.status_code == 302
    assert posted["Location"] == reverse("scores-upload-job", args=[job.pk])
    assert (job.status, job.customers, job.original_name, job.error) == (
        UploadStatus.DONE,
        3,
        "scores.parquet",
        "",
    )
    assert stored == [0o600]  # owner-only while it waits under RETAIN_HOME
    assert not job.file and not list((media / "scores").rglob("*.parquet"))  # removed when done
    run = ScoringRun.objects.get()
    assert (job.run_id, run.status, run.as_of, run.customers) == (run.pk, "done", AS_OF, 3)
    assert dict(CustomerScore.objects.values_list("customer__code", "churn_risk")) == {
        "C000": "low",
        "C001": "high",
        "C002": "medium",
    }
    audit = AuditEvent.objects.get(action=AuditAction.IMPORT)
    assert (audit.actor_id, audit.object_type, audit.object_id, audit.after) == (
        analyst.pk,
        "scoring.scoringrun",
        str(run.pk),
        {"file": "scores.parquet", "as_of": "2026-11-01"},
    )
    assert "Loaded the scores of 3 customers as of 2026-11-01." in page
    assert partial.status_code == 200
    assert 'id="job-status" data-status="done"' in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_a_bad_file_fails_naming_the_file_row_and_field_and_writes_nothing(
    client, analyst, customers, huey_immediate, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    frame = _scores(customers)
    frame["churn_probability"] = frame["churn_probability"].astype(str)
    frame.loc[1, "churn_probability"] = "high-ish"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("scores-upload"), {"file": _csv(frame), "as_of": "2026-11-01"})

    job = ScoresUpload.objects.get()
    page = client.get(reverse("scores-upload-job", args=[job.pk])).content.decode()
    expected = "scores.csv row 2, field churn_probability: &#x27;high-ish&#x27; is not a number"
    assert job.status == UploadStatus.FAILED
    assert job.error == (
        "scores.csv row 2, field churn_probability: 'high-ish' is not a number (1 such row(s))"
    )
    assert expected in page
    assert not job.file
    assert (ScoringRun.objects.count(), CustomerScore.objects.count()) == (0, 0)
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORT).exists()


def test_the_error_is_in_the_uploaders_language(
    client, analyst, customers, huey_immediate, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    client.cookies["django_language"] = "zh-hans"
    frame = _scores(customers).drop(columns=["churn_risk"])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("scores-upload"), {"file": _csv(frame), "as_of": "2026-11-01"})

    job = ScoresUpload.objects.get()
    assert job.status == UploadStatus.FAILED
    assert job.error.startswith("scores.csv") and "churn_risk" in job.error
    assert "no column" not in job.error  # written in Chinese, as the uploader reads


def test_a_file_that_is_not_csv_or_parquet_is_refused_at_once(client, analyst, media):
    client.force_login(analyst)

    response = client.post(
        reverse("scores-upload"),
        {"file": SimpleUploadedFile("scores.xlsx", b"PK"), "as_of": "2026-11-01"},
        follow=True,
    )

    assert "scores.xlsx: use a .csv or .parquet file of retain analyze" in response.content.decode()
    assert ScoresUpload.objects.count() == 0
    assert not (media / "scores").exists()


@pytest.mark.parametrize("role", ["sales", "marketing", "service"])
def test_a_role_without_the_scoring_permission_neither_sees_nor_posts(
    client, role, customers, media, huey_immediate, django_capture_on_commit_callbacks
):
    user = user_create(username=f"u-{role}", password=PASSWORD, role=role)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            reverse("scores-upload"),
            {"file": _csv(_scores(customers)), "as_of": "2026-11-01"},
        )
    page = client.get(reverse("scores-upload"))
    board = client.get(reverse("dashboard")).content.decode()
    imports = client.get(reverse("imports"))

    assert (posted.status_code, page.status_code) == (403, 403)
    assert reverse("scores-upload") not in board
    if imports.status_code == 200:
        assert reverse("scores-upload") not in imports.content.decode()
    assert (ScoresUpload.objects.count(), ScoringRun.objects.count()) == (0, 0)
    assert not (media / "scores").exists()


def test_the_job_page_is_refused_to_a_role_without_the_permission(client, analyst, customers):
    job = ScoresUpload.objects.create(original_name="s.csv", as_of=AS_OF, created_by=analyst)
    client.force_login(user_create(username="sam", password=PASSWORD, role="sales"))

    assert client.get(reverse("scores-upload-job", args=[job.pk])).status_code == 403


def test_the_page_shows_a_queued_load_polling_until_the_worker_takes_it(client, analyst):
    client.force_login(analyst)
    job = ScoresUpload.objects.create(original_name="s.csv", as_of=AS_OF, created_by=analyst)

    partial = client.get(
        reverse("scores-upload-job", args=[job.pk]), headers={"HX-Request": "true"}
    ).content.decode()

    assert f'hx-get="{reverse("scores-upload-job", args=[job.pk])}"' in partial
    assert 'hx-trigger="every 1s"' in partial
    assert 'data-status="queued"' in partial
    assert 'id="no-worker"' in partial


@pytest.mark.parametrize(
    ("role", "shown"), [("analyst", True), ("manager", True), ("sales", False)]
)
def test_the_door_is_shown_to_those_who_may_load_scores(client, role, shown):
    client.force_login(user_create(username=f"d-{role}", password=PASSWORD, role=role))

    html = client.get(reverse("dashboard")).content.decode()

    assert (reverse("scores-upload") in html) is shown
