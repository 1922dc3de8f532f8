"""Jobs a dead worker took off the queue: rebuilt from the stored message whatever the caller
imported before, and a job this version no longer has is failed visibly, never a worker that
cannot start."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from retain.pipeline.models import JobStatus, WorkerJob
from retain.pipeline.queue import MAX_ATTEMPTS, _queue, lost_jobs_reap

pytestmark = pytest.mark.django_db


def _message(name: str) -> bytes:
    """A stored job message for a job called ``name``, as a worker wrote it."""
    from retain.pipeline.tasks import lost_jobs

    queue = _queue()
    message = queue.serializer.deserialize(queue.serialize_task(lost_jobs.s()))
    return queue.serializer.serialize(message._replace(name=name))


def _lost(name: str, *, attempts: int = 1) -> WorkerJob:
    # another host whose heartbeat stopped long ago: gone
    return WorkerJob.objects.create(
        task_id=f"lost-{name}",
        name=name,
        data=_message(name),
        host="elsewhere.example",
        pid=4242,
        started_at=timezone.now() - dt.timedelta(days=1),
        attempts=attempts,
    )


def test_a_job_this_version_no_longer_has_is_failed_with_its_name():
    job = _lost("retain.gone.tasks.old_job")

    assert lost_jobs_reap() == (0, 1)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == (
        "worker elsewhere.example:4242 stopped; this version has no job named "
        "retain.gone.tasks.old_job"
    )


def test_a_job_out_of_attempts_is_failed_not_queued_again():
    job = _lost("retain.pipeline.tasks.lost_jobs", attempts=MAX_ATTEMPTS)

    assert lost_jobs_reap() == (0, 1)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.endswith(f"attempt {MAX_ATTEMPTS} of {MAX_ATTEMPTS}")
