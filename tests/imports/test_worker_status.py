"""A page with a queued import says plainly when no worker is running (worker heartbeat);
a failed import that saved nothing can be retried from its page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from retain.imports.models import ImportJob, ImportStatus
from retain.pipeline.heartbeat import worker_beat
from retain.pipeline.models import WorkerBeat
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    user = UserFactory(username="boss", role="admin", is_superuser=True, is_staff=True)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client, user


def job_of(user, status: str) -> ImportJob:
    job = ImportJob(kind="customers", original_name="c.csv", created_by=user, status=status)
    job.file.save("c.csv", ContentFile("客户编号,客户名称,客户类型\nW1,工人公司,企业\n".encode()))
    return job


def test_a_queued_import_says_when_no_worker_runs(admin_client):
    client, user = admin_client
    job = job_of(user, ImportStatus.QUEUED)

    page = client.get(f"/imports/{job.pk}/").content.decode()
    listing = client.get("/imports/").content.decode()

    assert 'id="no-worker"' in page and 'id="no-worker"' in listing
    assert "No job worker is running" in page

    # a worker that beat a moment ago: no warning
    worker_beat()
    assert 'id="no-worker"' not in client.get(f"/imports/{job.pk}/").content.decode()
    # one silent for over a minute is gone
    WorkerBeat.objects.update(beat_at=timezone.now() - dt.timedelta(seconds=61))
    assert 'id="no-worker"' in client.get(f"/imports/{job.pk}/").content.decode()


def test_a_failed_import_is_retried_from_its_page(admin_client):
    client, user = admin_client
    job = job_of(user, ImportStatus.FAILED)
    ImportJob.objects.filter(pk=job.pk).update(error_summary="The worker stopped")
    assert 'id="job-retry"' in client.get(f"/imports/{job.pk}/").content.decode()

    answer = client.post(f"/imports/{job.pk}/retry/")

    assert answer.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.error_summary) == (ImportStatus.QUEUED, "")
    # the worker picks it up and imports the file
    from retain.imports.tasks import import_job_task

    import_job_task.call_local(job.pk)
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportStatus.DONE, 1)
    # a done job cannot be retried
    client.post(f"/imports/{job.pk}/retry/")
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
