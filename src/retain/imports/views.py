"""Import wizard, duplicates and data-quality pages. Thin: they call services and selectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.imports.engine import import_file
from retain.imports.models import ImportJob, ImportMode, ImportStatus
from retain.imports.permissions import can_import, can_merge
from retain.imports.reading import ImportFileError, sample
from retain.imports.schema import ImportKind, fields_of, kind_guess, mapping_guess
from retain.imports.services import (
    import_job_create,
    import_job_progress,
    import_job_queue,
    import_job_retry,
    import_job_update,
    import_jobs_reap,
    template_file,
)
from retain.pipeline.heartbeat import worker_running

MAX_UPLOAD = 200 * 2**20
#: Encodings offered when the guess is not clear-cut (reading.ENCODINGS reads them).
ENCODING_CHOICES = {
    "gb18030": "GBK / GB18030",
    "latin-1": "Latin-1 (Western Europe)",
    "utf-8": "UTF-8",
}
PREVIEW_ROWS = 20


def _require_import(request: HttpRequest) -> None:
    if not can_import(request.user):
        raise PermissionDenied


def _require_merge(request: HttpRequest) -> None:
    if not can_merge(request.user):
        raise PermissionDenied


def _job_for(request: HttpRequest, pk: int) -> ImportJob:
    _require_import(request)
    job = get_object_or_404(ImportJob, pk=pk)
    if job.created_by_id != request.user.pk and not can_merge(request.user):
        raise Http404
    return job


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    _require_import(request)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a CSV or XLSX file to import."))
        elif upload.size and upload.size > MAX_UPLOAD:
            messages.error(request, _("The file is larger than 200 MB."))
        else:
            kind = request.POST.get("kind", "")
            job = import_job_create(
                kind=kind if kind in ImportKind.values else ImportKind.CUSTOMERS,
                upload=upload,
                user=request.user,
            )
            try:
                first = sample(Path(job.file.path), name=job.original_name, limit=1)
            except ImportFileError as exc:
                job.status = ImportStatus.FAILED
                job.error_summary = str(exc)
                job.save(update_fields=["status", "error_summary"])
                messages.error(request, str(exc))
                return redirect("imports")
            headers = first.headers
            if kind not in ImportKind.values:
                kind = kind_guess(headers) or ImportKind.CUSTOMERS
            import_job_update(
                job=job,
                kind=kind,
                mapping=mapping_guess(kind, headers),
                mode=job.mode,
                sheet=first.sheet,
            )
            return redirect("import-mapping", pk=job.pk)
    import_jobs_reap()
    jobs = ImportJob.objects.select_related("created_by")
    if not can_merge(request.user):
        jobs = jobs.filter(created_by_id=request.user.pk)
    shown = list(jobs[:20])
    context = {
        "nav": "imports",
        "kinds": ImportKind.choices,
        "jobs": shown,
        "no_worker": any(j.status == ImportStatus.QUEUED for j in shown) and not worker_running(),
        "can_merge": can_merge(request.user),
    }
    return render(request, "imports/start.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.FAILED) or job.committed:
        return redirect("import-job", pk=job.pk)
    path = Path(job.file.path)
    if request.method == "POST":
        # Another sheet of the workbook, or the encoding confirmed: read the file again.
        posted_sheet = request.POST.get("sheet")
        posted_encoding = request.POST.get("encoding")
        if posted_encoding and posted_encoding not in ENCODING_CHOICES:
            posted_encoding = None
        if (posted_sheet and posted_sheet != job.sheet) or (
            posted_encoding and posted_encoding != job.encoding
        ):
            try:
                changed = sample(
                    path,
                    name=job.original_name,
                    limit=1,
                    sheet=posted_sheet or job.sheet or None,
                    encoding=posted_encoding or job.encoding or None,
                )
            except ImportFileError as exc:
                messages.error(request, str(exc))
                return redirect("import-mapping", pk=job.pk)
            job = import_job_update(
                job=job,
                kind=job.kind,
                mapping=(
                    mapping_guess(job.kind, changed.headers)
                    if changed.sheet != job.sheet
                    else job.mapping
                ),
                mode=job.mode,
                sheet=changed.sheet,
                encoding=posted_encoding or job.encoding,
            )
            # Show the preview of what is read now before anything is imported.
            return redirect("import-mapping", pk=job.pk)
    try:
        peek = sample(
            path,
            name=job.original_name,
            limit=PREVIEW_ROWS,
            sheet=job.sheet or None,
            encoding=job.encoding or None,
        )
    except ImportFileError as exc:
        messages.error(request, str(exc))
        return redirect("imports")
    headers, rows, encoding = peek.headers, peek.rows, peek.encoding
    kind, mapping, mode = job.kind, dict(job.mapping), job.mode
    if request.method == "POST":
        posted_kind = request.POST.get("kind", kind)
        if posted_kind in ImportKind.values and posted_kind != kind:
            kind, mapping = posted_kind, mapping_guess(posted_kind, headers)
        else:
            known = {f.name for f in fields_of(kind)}
            mapping = {}
            for i, header in enumerate(headers):
                target = request.POST.get(f"col-{i}", "")
                if target in known:
                    mapping[header] = target
        posted_mode = request.POST.get("mode", mode)
        mode = posted_mode if posted_mode in ImportMode.values else mode
        job = import_job_update(job=job, kind=kind, mapping=mapping, mode=mode)
        if request.POST.get("action") == "commit":
            try:
                if peek.doubt and not job.encoding:
                    raise ImportFileError(
                        peek.doubt + " " + _("Choose the encoding above, then import.")
                    )
                _check_mapping(job, path)
            except ImportFileError as exc:
                messages.error(request, str(exc))
            else:
                import_job_queue(job=job)
                return redirect("import-job", pk=job.pk)
    preview, problem = _preview(job, path, request.user, encoding=job.encoding or encoding)
    by_row: dict[int, list[Any]] = {}
    for error in preview.errors if preview else []:
        by_row.setdefault(error.row, []).append(error)
    columns = [
        {"index": i, "header": h, "target": mapping.get(h, "")} for i, h in enumerate(headers)
    ]
    context = {
        "nav": "imports",
        "job": job,
        "kinds": ImportKind.choices,
        "modes": ImportMode.choices,
        "fields": fields_of(kind),
        "columns": columns,
        "rows": [(n, cells[: len(headers)], by_row.get(n, [])) for n, cells in rows],
        "encoding": encoding,
        "doubt": peek.doubt,
        "encodings": ENCODING_CHOICES,
        "sheets": [(name, name in peek.hidden) for name in peek.sheets],
        "preview": preview,
        "problem": problem,
    }
    return render(request, "imports/mapping.html", context)


def _check_mapping(job: ImportJob, path: Path) -> None:
    from retain.imports.checks import access_check, mapping_check

    first = sample(
        path,
        name=job.original_name,
        limit=1,
        sheet=job.sheet or None,
        encoding=job.encoding or None,
    )
    mapping_check(job.kind, first.headers, job.mapping, name=job.original_name)
    access_check(job.kind, job.mapping, actor=job.created_by, name=job.original_name)


def _preview(job: ImportJob, path: Path, request_user: Any, *, encoding: str) -> tuple[Any, str]:
    """The first rows checked against the database, written nowhere (rolled back)."""
    try:
        result = import_file(
            path=path,
            kind=job.kind,
            mapping=job.mapping,
            name=job.original_name,
            actor=job.created_by or request_user,
            encoding=None if encoding == "xlsx" else encoding,
            sheet=job.sheet or None,
            dry_run=True,
            limit=PREVIEW_ROWS,
            valid_rows=True,
        )
    except ImportFileError as exc:
        return None, str(exc)
    return result, ""


@login_required
@require_GET
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    import_jobs_reap()  # a dead worker's job shows as failed, with the reason and a retry
    job = _job_for(request, pk)
    done, total = import_job_progress(job)
    context = {
        "nav": "imports",
        "job": job,
        "done": done,
        "total": total,
        "no_worker": job.status == ImportStatus.QUEUED and not worker_running(),
    }
    if request.headers.get("HX-Request"):
        return render(request, "imports/_progress.html", context)
    return render(request, "imports/job.html", context)


@login_required
@require_POST
def import_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed import again (one that saved nothing: a dead worker's, for one)."""
    _require_import(request)
    job = _job_for(request, pk)
    try:
        import_job_retry(job=job, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("import-job", pk=job.pk)


@login_required
@require_GET
def import_reject(request: HttpRequest, pk: int) -> FileResponse:
    job = _job_for(request, pk)
    if not job.reject_file:
        raise Http404
    name = f"{Path(job.original_name).stem}.rejects.csv"
    return FileResponse(job.reject_file.open("rb"), as_attachment=True, filename=name)


@login_required
@require_GET
def import_template(request: HttpRequest, kind: str, language: str, fmt: str) -> HttpResponse:
    _require_import(request)
    if kind not in ImportKind.values or language not in ("zh", "en") or fmt not in ("csv", "xlsx"):
        raise Http404
    name, content, content_type = template_file(kind=kind, language=language, fmt=fmt)
    response = HttpResponse(content, content_type=content_type)
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response
