"""The scores upload page: a scores file of ``retain analyze`` loaded by the worker. Thin: it
calls :mod:`retain.scoring.uploads`, the service the CLI's ``retain import --kind scores``
shares (through ``scores_import``)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from retain.pipeline.heartbeat import worker_running
from retain.scoring.lake import ScoresFileError
from retain.scoring.models import ScoresUpload, UploadStatus
from retain.scoring.uploads import can_load_scores, scores_upload_create, scores_uploads_reap

#: A scores file of 1M customers is about 200 MB as CSV.
MAX_UPLOAD = 2**30


def _require_load(request: HttpRequest) -> None:
    if not can_load_scores(request.user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def scores_upload_view(request: HttpRequest) -> HttpResponse:
    _require_load(request)
    as_of = request.POST.get("as_of", "") if request.method == "POST" else ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            day = None
        if upload is None:
            messages.error(request, _("Choose a .csv or .parquet file of retain analyze."))
        elif day is None:
            messages.error(request, _("Give the day the scores are as of (YYYY-MM-DD)."))
        elif upload.size and upload.size > MAX_UPLOAD:
            messages.error(request, _("The file is larger than 1 GB."))
        else:
            try:
                job = scores_upload_create(actor=request.user, upload=upload, as_of=day)
            except ScoresFileError as exc:
                messages.error(request, str(exc))
            else:
                return redirect("scores-upload-job", pk=job.pk)
    scores_uploads_reap()
    shown = list(ScoresUpload.objects.select_related("created_by", "run")[:20])
    context = {
        "nav": "imports",
        "uploads": shown,
        "as_of": as_of,  # no default: the day retain analyze scored is the user's to give
        "no_worker": any(j.status == UploadStatus.QUEUED for j in shown) and not worker_running(),
    }
    return render(request, "scoring/scores_upload.html", context)


@login_required
@require_GET
def scores_upload_job(request: HttpRequest, pk: int) -> HttpResponse:
    _require_load(request)
    scores_uploads_reap()  # a dead worker's load shows as failed, with the reason
    job = get_object_or_404(ScoresUpload.objects.select_related("created_by", "run"), pk=pk)
    context = {
        "nav": "imports",
        "job": job,
        "no_worker": job.status == UploadStatus.QUEUED and not worker_running(),
    }
    if request.headers.get("HX-Request"):
        return render(request, "scoring/_scores_progress.html", context)
    return render(request, "scoring/scores_job.html", context)
