"""The duplicates pages (pairs found, merge side by side, dismiss, undo a merge) and the
data-quality report. Who may merge is asked of retain.imports.permissions (can_merge)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.dedup.models import DuplicatePair, MergeRecord
from retain.dedup.selectors import (
    data_quality,
    duplicate_pairs_open,
    duplicate_scan_queued,
    merges_recent,
)
from retain.dedup.services import (
    MERGE_FIELDS,
    customer_merge,
    customer_merge_undo,
    duplicate_dismiss,
    duplicates_scan_queue,
)
from retain.imports.permissions import can_merge


def _require_merge(request: HttpRequest) -> None:
    if not can_merge(request.user):
        raise PermissionDenied


# --------------------------------------------------------------------------- duplicates


@login_required
@require_http_methods(["GET", "POST"])
def duplicate_list(request: HttpRequest) -> HttpResponse:
    _require_merge(request)

    if request.method == "POST":
        # The full scan takes minutes on a large database: the job worker runs it.
        _scan, queued = duplicates_scan_queue(actor=request.user, request=request)
        if queued:
            messages.success(
                request,
                _(
                    "The search of the whole database is queued; new pairs appear here when it ends."
                ),
            )
        else:
            messages.info(
                request, _("A search of the whole database is already queued or running.")
            )
        return redirect("duplicates")
    context = {
        "nav": "imports",
        "scan": duplicate_scan_queued(),
        "pairs": duplicate_pairs_open()[:200],
        "merges": merges_recent(now=timezone.now()),
    }
    return render(request, "dedup/duplicates.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def duplicate_merge(request: HttpRequest, pk: int) -> HttpResponse:
    _require_merge(request)

    pair = get_object_or_404(DuplicatePair.objects.select_related("left", "right"), pk=pk)
    # The older record (smaller id) survives unless the user swaps them.
    survivor, loser = pair.left, pair.right
    if request.GET.get("swap") or request.POST.get("swap"):
        survivor, loser = loser, survivor
    if request.method == "POST":
        take = {f for f in MERGE_FIELDS if request.POST.get(f"field-{f}") == "loser"}
        try:
            record = customer_merge(
                survivor=survivor,
                loser=loser,
                actor=request.user,
                take_from_loser=take,
                request=request,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("%(loser)s was merged into %(survivor)s. You can undo this for 30 days.")
                % {"loser": record.loser_code, "survivor": survivor.code},
            )
            return redirect("duplicates")
    rows = []
    for name in MERGE_FIELDS:
        field = cast(Any, survivor._meta.get_field(name))
        left, right = _display(survivor, name), _display(loser, name)
        rows.append(
            {
                "name": name,
                "label": field.verbose_name,
                "survivor": left,
                "loser": right,
                "differs": left != right,
                "prefer_loser": left in ("", "-") and right not in ("", "-"),
            }
        )
    counts = {
        "survivor": _counts(survivor),
        "loser": _counts(loser),
    }
    context = {
        "nav": "imports",
        "pair": pair,
        "survivor": survivor,
        "loser": loser,
        "rows": rows,
        "counts": counts,
        "swapped": survivor.pk != pair.left_id,
    }
    return render(request, "dedup/merge.html", context)


def _display(customer: Any, name: str) -> str:
    display = getattr(customer, f"get_{name}_display", None)
    value = display() if display else getattr(customer, name)
    return "" if value in (None, "") else str(value)


def _counts(customer: Any) -> dict[str, int]:
    return {
        "orders": customer.orders.count(),
        "contacts": customer.contacts.count(),
        "followups": customer.followups.count(),
        "tags": customer.customer_tags.count(),
    }


@login_required
@require_POST
def duplicate_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_merge(request)

    duplicate_dismiss(pair=get_object_or_404(DuplicatePair, pk=pk), actor=request.user)
    return redirect("duplicates")


@login_required
@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    _require_merge(request)

    record = get_object_or_404(MergeRecord, pk=pk)
    try:
        restored = customer_merge_undo(record=record, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The merge was undone: %(code)s is back.") % {"code": restored.code}
        )
    return redirect("duplicates")


# --------------------------------------------------------------------------- quality


@login_required
@require_GET
def quality_view(request: HttpRequest) -> HttpResponse:
    _require_merge(request)

    try:
        months = max(1, min(60, int(request.GET.get("months", 12))))
    except ValueError:
        months = 12
    report = data_quality(as_of=timezone.localdate(), stale_months=months)
    if request.GET.get("format") == "csv":
        from retain.core.exports import csv_bytes

        content = csv_bytes(
            [_("customer code"), _("where"), _("field"), _("value"), _("reason")],
            ([b.customer_code, b.where, b.field, b.value, b.reason] for b in report.invalid),
        )
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="data-quality.csv"'
        return response
    context = {"nav": "imports", "report": report, "months": months}
    return render(request, "dedup/quality.html", context)
