"""Heartbeats of long-running work (scoring runs, import jobs, the worker).

A job records the host and process id that runs it and touches ``heartbeat_at`` every
:data:`BEAT_EVERY` from a small thread. A row still marked running is dead when its process
is gone (on this host), or, for work of another host, when its heartbeat is older than
:data:`STALE_AFTER`: the next run takes it over at once, or the page marks it failed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection
from django.utils import timezone

log = logging.getLogger(__name__)

#: How often a running job touches its heartbeat.
BEAT_EVERY = dt.timedelta(seconds=10)
#: A heartbeat older than this is dead (six missed beats).
STALE_AFTER = dt.timedelta(seconds=60)

HOST = socket.gethostname()[:100]
#: When this process started (a row of this host and pid older than this is of another
#: process that had the same pid).
PROCESS_STARTED = dt.datetime.now(dt.UTC)


def me() -> tuple[str, int]:
    """(host, pid) of this process."""
    return HOST, os.getpid()


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def is_dead(
    *, host: str, pid: int | None, heartbeat_at: dt.datetime | None, now: dt.datetime | None = None
) -> bool:
    """Whether work marked running by (host, pid) with this heartbeat has stopped."""
    if host == HOST and pid and pid != os.getpid():
        return not process_alive(pid)  # on this host the process itself is the truth
    if heartbeat_at is None:
        return False
    return heartbeat_at < (now or timezone.now()) - STALE_AFTER


@contextmanager
def beating(touch: Callable[[], object], every: dt.timedelta = BEAT_EVERY) -> Iterator[None]:
    """Call ``touch`` every ``every`` in a thread while the block runs (its own connection).

    Not on SQLite: a file database lives on one host, where the process id tells whether the
    work is alive, and a beat would contend for the write lock a long import holds.
    """
    if connection.vendor == "sqlite":
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(every.total_seconds()):
                try:
                    touch()
                except Exception:  # a locked database must not kill the work itself
                    log.warning("heartbeat missed", exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name="retain-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


# --- The worker's own heartbeat --------------------------------------------------------------


def worker_beat() -> None:
    """Record that this worker process is alive (one row per host and process)."""
    from retain.pipeline.models import WorkerBeat

    host, pid = me()
    WorkerBeat.objects.update_or_create(name=f"{host}:{pid}", defaults={"beat_at": timezone.now()})


def worker_running(now: dt.datetime | None = None) -> bool:
    """Whether some worker showed life in the last :data:`STALE_AFTER`."""
    from retain.pipeline.models import WorkerBeat

    since = (now or timezone.now()) - STALE_AFTER
    return WorkerBeat.objects.filter(beat_at__gte=since).exists()


@contextmanager
def worker_beating() -> Iterator[None]:
    """Around the worker's consumer: beat now and every :data:`BEAT_EVERY`, on every database
    (the row is tiny; a missed beat during a long SQLite import is only logged)."""
    from retain.pipeline.models import WorkerBeat

    worker_beat()
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(BEAT_EVERY.total_seconds()):
                try:
                    worker_beat()
                except Exception:
                    log.warning("worker heartbeat missed", exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name="retain-worker-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
        host, pid = me()
        WorkerBeat.objects.filter(name=f"{host}:{pid}").delete()
