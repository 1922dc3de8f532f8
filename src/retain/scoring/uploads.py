"""Scores files uploaded from a page: stored, queued, loaded by the worker through
:func:`retain.scoring.lake.scores_import` (the service the CLI's ``retain import --kind scores``
calls), and shown with their state."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from retain.accounts.access import can, require
from retain.pipeline.heartbeat import beating, is_dead, me
from retain.scoring.lake import ScoresFileError, scores_import
from retain.scoring.models import ScoresUpload, UploadStatus
from retain.scoring.services import ScoringBusyError, ScoringOrderError

log = logging.getLogger(__name__)

#: Who may load scores: the permission `scores_import` checks.
LOAD_SCORES = "scoring.add_scoringrun"
SUFFIXES = (".csv", ".parquet")


def can_load_scores(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and can(user, LOAD_SCORES))


def scores_upload_create(*, actor: Any, upload: UploadedFile, as_of: dt.date) -> ScoresUpload:
    """Store ``upload`` under RETAIN_HOME (owner-only) and queue its load once committed."""
    require(actor, LOAD_SCORES)
    name = Path(upload.name or "scores").name
    if Path(name).suffix.lower() not in SUFFIXES:
        raise ScoresFileError(
            _("%(file)s: use a .csv or .parquet file of retain analyze") % {"file": name}
        )
    from retain.scoring.tasks import scores_upload_task

    with transaction.atomic():
        job = ScoresUpload(
            original_name=name,
            as_of=as_of,
            created_by=actor,
            language=translation.get_language() or "",
        )
        job.file.save(name, upload, save=False)
        job.full_clean(exclude=["file"])
        job.save()
        transaction.on_commit(lambda: scores_upload_task(job.pk))
    return job


def _update(job: ScoresUpload, **fields: Any) -> None:
    ScoresUpload.objects.filter(pk=job.pk).update(**fields)


def scores_upload_run(*, job: ScoresUpload) -> ScoresUpload:
    """Load the uploaded file (in the worker). Only a queued upload starts: the move to
    "running" is one conditional UPDATE, so two workers never both load it. The file is
    removed when the load ends, loaded or not (the scores are in the database; a bad file is
    fixed and uploaded again)."""
    host, pid = me()
    now = timezone.now()
    claimed = ScoresUpload.objects.filter(pk=job.pk, status=UploadStatus.QUEUED).update(
        status=UploadStatus.RUNNING, started_at=now, heartbeat_at=now, host=host, pid=pid
    )
    if not claimed:
        job.refresh_from_db()
        return job
    fields: dict[str, Any] = {}
    try:
        with translation.override(job.language or None), beating(lambda: _beat(job)):
            if job.created_by is None:
                # An upload loads as its uploader; without one it must not load as the system.
                raise PermissionDenied(
                    _("The user who uploaded this file no longer exists; upload it again.")
                )
            try:
                run = scores_import(
                    actor=job.created_by,
                    path=Path(job.file.path),
                    as_of=job.as_of,
                    progress=lambda step: _update(job, step=step, heartbeat_at=timezone.now()),
                )
            except PermissionDenied as exc:
                raise PermissionDenied(
                    _("%(user)s may not load scores (it needs the scoring permission).")
                    % {"user": job.created_by}
                ) from exc
    except (ScoresFileError, ScoringBusyError, ScoringOrderError, PermissionDenied) as exc:
        fields.update(status=UploadStatus.FAILED, error=str(exc))
    except Exception as exc:  # the upload must end in a state its user can see
        fields.update(
            status=UploadStatus.FAILED,
            error=_("The load stopped with an unexpected error: %(error)s")
            % {"error": exc.__class__.__name__},
        )
        _finish(job, fields)
        raise
    else:
        fields.update(status=UploadStatus.DONE, run=run, customers=run.customers)
    _finish(job, fields)
    job.refresh_from_db()
    return job


def _beat(job: ScoresUpload) -> None:
    ScoresUpload.objects.filter(pk=job.pk, status=UploadStatus.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def _finish(job: ScoresUpload, fields: dict[str, Any]) -> None:
    fields.update(finished_at=timezone.now(), step="", file="")
    _update(job, **fields)
    _file_remove(job)


def _file_remove(job: ScoresUpload) -> None:
    if not job.file:
        return
    folder = Path(job.file.path).parent
    try:
        shutil.rmtree(folder)
    except OSError:
        log.warning("could not remove the scores upload %s", folder, exc_info=True)


def scores_uploads_reap(*, now: dt.datetime | None = None) -> int:
    """Mark failed the running uploads whose worker died; the load is one transaction, so a
    dead one wrote nothing. Returns how many were marked. Called by the page."""
    now = now or timezone.now()
    dead = [
        j
        for j in ScoresUpload.objects.filter(status=UploadStatus.RUNNING)
        if is_dead(host=j.host, pid=j.pid, heartbeat_at=j.heartbeat_at or j.started_at, now=now)
    ]
    for job in dead:
        marked = ScoresUpload.objects.filter(pk=job.pk, status=UploadStatus.RUNNING).update(
            status=UploadStatus.FAILED,
            finished_at=now,
            step="",
            file="",
            error=_(
                "The worker stopped while loading this file (it was killed or crashed). "
                "Nothing from it was saved; upload it again."
            ),
        )
        if marked:
            _file_remove(job)
    return len(dead)
