"""The job queue: Huey on SQLite (one worker process, the default) or on Redis (any number).

Two things Huey does not do by itself, for several ``retain worker`` processes on Redis:

- **Periodic jobs once.** Every worker's scheduler enqueues the periodic jobs due in the
  current minute; :class:`RedisHuey` lets only the first claim of (job, minute) through
  (an atomic ``SET NX`` with an expiry), so a job due at 01:30 runs once, not once per worker.
- **No lost jobs.** Huey takes a job off the queue before it runs it, so a worker killed
  mid-job loses it. The signal handlers below write a :class:`~retain.pipeline.models.WorkerJob`
  row when a worker starts a job and delete it when the job ends; :func:`lost_jobs_reap`
  (when a worker starts, and every minute) queues a job whose worker is gone again once,
  and marks it failed the second time (Admin → Nightly run → Jobs lost by a worker).
  :data:`job_lost` tells the app that owns the job, so that what the job shows its user (a
  send's progress, an import's state) says "failed" too instead of "running" for ever.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import huey
from django.dispatch import Signal
from huey import signals as S

log = logging.getLogger(__name__)

#: How often a job is started before a lost one is marked failed (a job that kills its
#: worker, e.g. by running out of memory, must not take down every worker in turn).
MAX_ATTEMPTS = 2
#: How long a periodic job's claim of its minute is kept.
CLAIM_SECONDS = 3600

#: Sent when a lost job is marked failed, with ``name`` (the job's name), ``kwargs`` (the
#: keyword arguments it was called with) and ``error``. Receivers mark their own record failed.
job_lost = Signal()


class RedisHuey(huey.RedisHuey):  # type: ignore[misc]
    """Huey on Redis whose periodic jobs run once per period whatever the number of workers."""

    def read_periodic(self, timestamp: dt.datetime | None) -> list[Any]:
        if timestamp is None:
            timestamp = self._get_timestamp()
        minute = timestamp.strftime("%Y-%m-%dT%H:%M")
        due = super().read_periodic(timestamp)
        return [task for task in due if self.periodic_claim(task.name, minute)]

    def periodic_claim(self, name: str, minute: str) -> bool:
        """True for the first worker to claim ``name`` due at ``minute``, False for the rest."""
        key = f"huey.retain.periodic.{self.name}.{name}.{minute}"
        return bool(self.storage.conn.set(key, b"1", nx=True, ex=CLAIM_SECONDS))


# --- Jobs in flight --------------------------------------------------------------------------

_ENDED = (
    S.SIGNAL_COMPLETE,
    S.SIGNAL_ERROR,
    S.SIGNAL_CANCELED,
    S.SIGNAL_LOCKED,
    S.SIGNAL_TIMEOUT,
    S.SIGNAL_RATE_LIMITED,
)


def job_started(signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
    """A worker starts ``task``: remember it (and count the attempt) until it ends."""
    from django.utils import timezone

    from retain.pipeline.heartbeat import me
    from retain.pipeline.models import JobStatus, WorkerJob

    queue = _queue()
    if queue.immediate:  # run in the caller's process (tests): nothing can lose it
        return
    host, pid = me()
    values = {
        "name": task.name[:200],
        "data": queue.serialize_task(task),
        "host": host,
        "pid": pid,
        "started_at": timezone.now(),
        "status": JobStatus.RUNNING,
        "error": "",
        "finished_at": None,
    }
    try:
        row, created = WorkerJob.objects.get_or_create(task_id=task.id, defaults=values)
        if not created:  # queued again after its worker died
            for name, value in values.items():
                setattr(row, name, value)
            row.attempts += 1
            row.save()
    except Exception:  # the job itself must still run
        log.warning("could not record job %s as started", task.id, exc_info=True)


def job_ended(signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
    """``task`` ended in this worker (done, failed by its own error, retried by Huey)."""
    from retain.pipeline.heartbeat import me
    from retain.pipeline.models import JobStatus, WorkerJob

    if _queue().immediate:
        return
    host, pid = me()
    try:
        WorkerJob.objects.filter(
            task_id=task.id, host=host, pid=pid, status=JobStatus.RUNNING
        ).delete()
    except Exception:
        log.warning("could not record job %s as ended", task.id, exc_info=True)


def _queue() -> Any:
    from huey.contrib.djhuey import HUEY

    return HUEY


def signals_connect(queue: Any) -> None:
    """Connect the handlers that track jobs in flight (once, from the tasks module)."""
    queue.signal(S.SIGNAL_EXECUTING)(job_started)
    queue.signal(*_ENDED)(job_ended)
    # SIGNAL_INTERRUPTED (the worker is stopping mid-job) keeps the row: the job is reaped.


def lost_jobs_reap(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Queue again the jobs whose worker is gone, or mark them failed after
    :data:`MAX_ATTEMPTS`. Returns (queued again, failed).

    A worker is gone when its process is (on this host) or its heartbeat stopped (another
    host). Two workers reaping at once: the conditional UPDATE lets only one of them act.
    """
    from django.utils import timezone
    from django.utils.module_loading import autodiscover_modules
    from huey.exceptions import HueyException

    from retain.pipeline.heartbeat import HOST, PROCESS_STARTED, is_dead
    from retain.pipeline.models import JobStatus, WorkerBeat, WorkerJob

    # a lost job is rebuilt from its message: every app's jobs must be registered first (the
    # worker calls this before run_huey autodiscovers them)
    autodiscover_modules("tasks")
    now = now or timezone.now()
    queue = _queue()
    beats = dict(WorkerBeat.objects.values_list("name", "beat_at"))
    retried = failed = 0
    for job in WorkerJob.objects.filter(status=JobStatus.RUNNING):
        if job.host == HOST and job.pid == os.getpid():
            # this process: alive, unless the row is older than the process (a reused pid)
            dead = job.started_at < PROCESS_STARTED
        else:
            beat = beats.get(f"{job.host}:{job.pid}") or job.started_at
            dead = is_dead(host=job.host, pid=job.pid, heartbeat_at=beat, now=now)
        if not dead:
            continue
        mine = WorkerJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, pid=job.pid)
        where = f"{job.host}:{job.pid}"
        try:
            task = queue.deserialize_task(bytes(job.data))
        except HueyException:  # a job this version no longer has: failed, never a dead worker
            task = None
        if task is not None and job.attempts < MAX_ATTEMPTS:
            if mine.update(status=JobStatus.RETRIED, error=f"worker {where} stopped"):
                queue.enqueue(task)
                log.warning(
                    "job %s (%s) lost by worker %s: queued again", job.name, job.task_id, where
                )
                retried += 1
        elif mine.update(
            status=JobStatus.FAILED,
            finished_at=now,
            error=(
                f"worker {where} stopped while running attempt {job.attempts} of {MAX_ATTEMPTS}"
                if task is not None
                else f"worker {where} stopped; this version has no job named {job.name}"
            ),
        ):
            log.error("job %s (%s) lost by worker %s: failed", job.name, job.task_id, where)
            failed += 1
            if task is not None:
                error = WorkerJob.objects.values_list("error", flat=True).get(pk=job.pk)
                for receiver, raised in job_lost.send_robust(
                    sender=None, name=task.name, kwargs=dict(task.kwargs or {}), error=error
                ):
                    if isinstance(raised, Exception):
                        log.error("job_lost receiver %s failed: %s", receiver, raised)
    return retried, failed
