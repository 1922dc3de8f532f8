"""Import jobs: create one from an upload, run it (in the worker), and blank templates."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.core.exports import csv_bytes, xlsx_bytes
from retain.imports.engine import ImportResult, import_file
from retain.imports.models import ImportJob, ImportMode, ImportStatus
from retain.imports.reading import ImportFileError
from retain.imports.schema import SHEET_NAMES, ImportKind, template_headers
from retain.pipeline.heartbeat import beating, is_dead, me

#: Example rows of the blank templates: the seed's own examples for customers.
TEMPLATE_EXAMPLES: dict[str, list[list[str]]] = {
    ImportKind.CUSTOMERS: [
        [
            "C2024001",
            "*科技有限公司",
            "张*",
            "IT服务",
            "行业展会",
            "2024-01-15",
            "潜在客户",
            "云存储解决方案",
            "计划Q3采购预算50万",
        ],
        [
            "C2024002",
            "*制造集团",
            "李*",
            "制造业",
            "客户转介绍",
            "2023-11-20",
            "核心客户",
            "供应链管理优化",
            "已合作2年",
        ],
    ],
}

log = logging.getLogger(__name__)


@transaction.atomic
def import_job_create(
    *, kind: str, upload: UploadedFile, user: Any, mapping: dict[str, str] | None = None
) -> ImportJob:
    job = ImportJob(kind=kind, original_name=upload.name or "upload", created_by=user)
    job.mapping = mapping or {}
    job.file.save(Path(job.original_name).name, upload, save=False)
    job.full_clean(exclude=["file"])
    job.save()
    return job


@transaction.atomic
def import_job_update(
    *,
    job: ImportJob,
    kind: str,
    mapping: dict[str, str],
    mode: str,
    sheet: str | None = None,
    encoding: str | None = None,
) -> ImportJob:
    """``sheet``: the workbook's sheet to read; ``encoding``: the one the user confirmed
    for a CSV whose encoding is not clear-cut (None: leave as is)."""
    job.kind = kind
    job.mapping = mapping
    job.mode = mode
    if sheet is not None:
        job.sheet = sheet
    if encoding is not None:
        job.encoding = encoding
    job.full_clean(exclude=["file"])
    job.save(update_fields=["kind", "mapping", "mode", "sheet", "encoding"])
    return job


def import_job_queue(*, job: ImportJob) -> ImportJob:
    """Mark the job queued and hand it to the worker once the mark is committed."""
    from retain.imports.tasks import import_job_task

    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
        transaction.on_commit(lambda: import_job_task(job.pk))
    job.refresh_from_db()
    return job


def _beat(job: ImportJob) -> None:
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def import_jobs_reap(*, now: dt.datetime | None = None) -> int:
    """Mark failed the running jobs whose worker died (process gone, or heartbeat stopped).

    The import writes in one transaction per file, so a dead job wrote nothing. Returns how
    many jobs were marked. Called by the import pages and when the worker starts.
    """
    now = now or timezone.now()
    dead = [
        j.pk
        for j in ImportJob.objects.filter(status=ImportStatus.RUNNING).only(
            "pk", "host", "pid", "heartbeat_at", "started_at"
        )
        if is_dead(host=j.host, pid=j.pid, heartbeat_at=j.heartbeat_at or j.started_at, now=now)
    ]
    if not dead:
        return 0
    return ImportJob.objects.filter(pk__in=dead, status=ImportStatus.RUNNING).update(
        status=ImportStatus.FAILED,
        finished_at=now,
        committed=False,
        error_summary=_(
            "The worker stopped while importing this file (it was killed or crashed). "
            "Nothing from this file was saved; you can retry it."
        ),
    )


def import_job_retry(*, job: ImportJob, user: Any) -> ImportJob:
    """Queue a failed job again (its uploader or whoever may see it). Only a job that saved
    nothing can be retried; its counts and errors start over."""
    with transaction.atomic():
        again = ImportJob.objects.filter(
            pk=job.pk, status=ImportStatus.FAILED, committed=False
        ).update(
            status=ImportStatus.UPLOADED,
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
            processed_rows=0,
            created_count=0,
            updated_count=0,
            unchanged_count=0,
            rejected_count=0,
            error_summary="",
            errors=[],
        )
    if not again:
        raise ValidationError(_("Only a failed import that saved nothing can be retried."))
    job.refresh_from_db()
    return import_job_queue(job=job)


def progress_path(job: ImportJob) -> Path:
    """Where a running job writes its progress. A file, not the database: the import's
    transaction holds the write lock until it ends (SQLite), and must not be split."""
    return Path(settings.MEDIA_ROOT) / "imports" / "progress" / f"{job.pk}.json"


def import_job_progress(job: ImportJob) -> tuple[int, int | None]:
    if job.finished:
        return job.processed_rows, job.processed_rows
    try:
        data = json.loads(progress_path(job).read_text())
    except (OSError, ValueError):
        return 0, job.total_rows
    return int(data["done"]), data["total"]


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Run the import of ``job`` (in the worker, or inline in tests and the CLI).

    Only a job still waiting (uploaded or queued) starts: the move to "running" is one
    conditional UPDATE, so two workers handed the same job never both run it.
    """
    host, pid = me()
    now = timezone.now()
    claimed = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportStatus.UPLOADED, ImportStatus.QUEUED]
    ).update(status=ImportStatus.RUNNING, started_at=now, heartbeat_at=now, host=host, pid=pid)
    if not claimed:
        job.refresh_from_db()
        return job
    path = progress_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)

    def progress(done: int, total: int | None) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": done, "total": total}))
        tmp.replace(path)

    reject = Path(settings.MEDIA_ROOT) / "imports" / "rejects" / f"rejects-{job.pk}.csv"
    fields: dict[str, Any] = {"finished_at": None}
    if job.created_by is None:
        # An upload runs as its uploader; without one it must not run as the system.
        _finish(
            job,
            {
                "status": ImportStatus.FAILED,
                "error_summary": _(
                    "The user who uploaded this file no longer exists; upload it again."
                ),
            },
        )
        job.refresh_from_db()
        return job
    try:
        with beating(lambda: _beat(job)):
            result = import_file(
                path=Path(job.file.path),
                kind=job.kind,
                mapping=job.mapping or None,
                valid_rows=job.mode == ImportMode.VALID_ROWS,
                actor=job.created_by,
                name=job.original_name,
                reject_path=reject,
                encoding=job.encoding or None,
                sheet=job.sheet or None,
                progress=progress,
            )
    except ImportFileError as exc:
        fields.update(status=ImportStatus.FAILED, error_summary=str(exc))
    except Exception as exc:  # the job must end in a state the user can see
        fields.update(
            status=ImportStatus.FAILED,
            error_summary=_("The import stopped with an unexpected error: %(error)s")
            % {"error": exc.__class__.__name__},
        )
        _finish(job, fields)
        raise
    else:
        fields.update(_result_fields(result))
        try:
            fields["duplicates_found"] = duplicates_after_import(result)
        except Exception:  # the rows are saved: a failed search must not leave it "running"
            log.exception("duplicate search after import job %s failed", job.pk)
        if result.reject_path is not None:
            fields["reject_file"] = f"imports/rejects/{result.reject_path.name}"
    _finish(job, fields)
    path.unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def duplicates_after_import(result: ImportResult) -> int:
    """After customers came in, look for duplicates among them (PRODUCT.md: at import)."""
    if result.kind != ImportKind.CUSTOMERS or not result.committed:
        return 0
    if not (result.created or result.updated):
        return 0
    from retain.dedup.services import duplicates_refresh

    return duplicates_refresh(changed_only=True)  # the new and changed ones, not all


def _result_fields(result: ImportResult) -> dict[str, Any]:
    failed = not result.committed
    summary = ""
    if failed:
        summary = _(
            "Nothing was imported: %(n)s row(s) have errors. Fix them (see the reject file) "
            "or import only the valid rows."
        ) % {"n": result.rejected}
    return {
        "status": ImportStatus.FAILED if failed else ImportStatus.DONE,
        "committed": result.committed,
        "encoding": result.encoding,
        "mapping": result.mapping,
        "total_rows": result.rows,
        "processed_rows": result.rows,
        "created_count": result.created,
        "updated_count": result.updated,
        "unchanged_count": result.unchanged,
        "rejected_count": result.rejected,
        "errors": [
            {"row": e.row, "column": e.column, "message": e.message} for e in result.errors[:200]
        ],
        "error_summary": summary,
    }


def _finish(job: ImportJob, fields: dict[str, Any]) -> None:
    fields["finished_at"] = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def template_file(*, kind: str, language: str, fmt: str) -> tuple[str, bytes, str]:
    """A blank template: (file name, content, content type). Chinese headers are the seed's."""
    headers = template_headers(kind, language)
    zh = language.startswith("zh")
    examples = TEMPLATE_EXAMPLES.get(kind, []) if zh else []
    name = SHEET_NAMES[ImportKind(kind)][0 if zh else 1]
    if fmt == "xlsx":
        content = xlsx_bytes(headers, examples, title=name)
        return (
            f"{name}.xlsx",
            content,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    return f"{name}.csv", csv_bytes(headers, examples), "text/csv; charset=utf-8"
