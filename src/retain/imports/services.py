"""Import jobs: create one from an upload, run it (in the worker), and blank templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.core.exports import csv_bytes, xlsx_bytes
from retain.imports.engine import ImportResult, import_file
from retain.imports.models import ImportJob, ImportMode, ImportStatus
from retain.imports.reading import ImportFileError
from retain.imports.schema import SHEET_NAMES, ImportKind, template_headers

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
    """Run the import of ``job`` (in the worker, or inline in tests and the CLI)."""
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
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
        fields["duplicates_found"] = duplicates_after_import(result)
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
