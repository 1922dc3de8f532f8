"""``/healthz`` (the process answers) and ``/readyz`` (database, job queue, last scoring run):
JSON, no login, no personal data, never cached."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from retain.core.health import liveness, readiness


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse(liveness())


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    ready, report = readiness(now=timezone.now())
    return JsonResponse(report, status=200 if ready else 503)
