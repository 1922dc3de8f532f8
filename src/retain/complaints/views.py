"""The service desk pages: the complaint inbox, recording a complaint or inquiry (from the
inbox or a customer page), one complaint with its history and the next steps, and survey
answers entered by hand. Every write goes through ``complaints.services`` or
``surveys.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.accounts.access import can, customers_visible_to, visible_to
from retain.accounts.models import User
from retain.complaints import services
from retain.complaints.deadlines import first_response_minutes
from retain.complaints.models import (
    Complaint,
    ComplaintChannel,
    ComplaintKind,
    ComplaintStatus,
    Severity,
)
from retain.complaints.selectors import INBOX_VIEWS, complaint_deadlines, complaint_inbox
from retain.surveys.models import Survey
from retain.surveys.services import survey_answer_enter


def _require(request: HttpRequest, permission: str) -> None:
    if not can(request.user, permission):
        raise PermissionDenied(permission)


def _errors(exc: ValidationError) -> str:
    """The errors of a ``full_clean``, each with the field it is about."""
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(m for e in errors for m in e.messages)}"
            if field != "__all__"
            else " ".join(m for e in errors for m in e.messages)
            for field, errors in exc.error_dict.items()
        )
    return "; ".join(exc.messages)


def _handlers() -> Any:
    """Users who may handle complaints (offered when assigning)."""
    return [
        u
        for u in User.objects.filter(is_active=True).order_by("username")
        if can(u, "complaints.change_complaint")
    ]


@login_required
@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    _require(request, "complaints.view_complaint")
    view = request.GET.get("view", "open")
    view = view if view in INBOX_VIEWS else "open"
    now = timezone.now()
    complaints = list(complaint_inbox(user=request.user, view=view, now=now)[:200])
    rows = [(c, complaint_deadlines(c, now=now)) for c in complaints]
    return render(
        request,
        "complaints/inbox.html",
        {
            "rows": rows,
            "view": view,
            "views": [
                ("open", _("Open")),
                ("mine", _("Mine")),
                ("unassigned", _("Unassigned")),
                ("overdue", _("First response overdue")),
                ("closed", _("Resolved and closed")),
            ],
            "can_add": can(request.user, "complaints.add_complaint"),
            "can_survey": can(request.user, "surveys.add_surveyresponse"),
            "nav": "service",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def complaint_new_view(request: HttpRequest) -> HttpResponse:
    _require(request, "complaints.add_complaint")
    data = request.POST if request.method == "POST" else request.GET
    code = data.get("customer", "").strip().upper()
    error = None
    if request.method == "POST":
        customer = customers_visible_to(request.user).filter(code=code).first()
        if customer is None:
            error = _("No customer with the code %(code)s.") % {"code": code or "—"}
        else:
            try:
                complaint = services.complaint_open(
                    customer=customer,
                    actor=request.user,
                    request=request,
                    kind=data.get("kind", ComplaintKind.COMPLAINT),
                    channel=data.get("channel", ""),
                    category=data.get("category", "").strip(),
                    severity=data.get("severity", Severity.NORMAL),
                    description=data.get("description", "").strip(),
                    owner=request.user if data.get("take") else None,
                )
            except ValidationError as exc:
                error = _errors(exc)
            else:
                messages.success(request, _("Recorded."))
                return redirect("complaint-detail", pk=complaint.pk)
    customer = customers_visible_to(request.user).filter(code=code).first() if code else None
    return render(
        request,
        "complaints/new.html",
        {
            "code": code,
            "customer": customer,
            "data": data,
            "error": error,
            "kinds": ComplaintKind.choices,
            "channels": ComplaintChannel.choices,
            "severities": [
                (key, label, first_response_minutes()[key]) for key, label in Severity.choices
            ],
            "nav": "service",
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def complaint_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "complaints.view_complaint")
    complaint = get_object_or_404(
        visible_to(request.user, Complaint.objects.select_related("customer", "owner")), pk=pk
    )
    now = timezone.now()
    return render(
        request,
        "complaints/detail.html",
        {
            "complaint": complaint,
            "deadlines": complaint_deadlines(complaint, now=now),
            "events": complaint.events.select_related("actor"),
            "handlers": _handlers(),
            "can_change": can(request.user, "complaints.change_complaint"),
            "is_open": complaint.status in (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS),
            "nav": "service",
        },
    )


@login_required
@require_POST
def complaint_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _require(request, "complaints.change_complaint")
    complaint = get_object_or_404(
        visible_to(request.user, Complaint.objects.select_related("customer")), pk=pk
    )
    text = request.POST.get("text", "")
    common = {"complaint": complaint, "actor": request.user, "request": request}
    try:
        if action == "assign":
            raw = request.POST.get("owner", "")
            owner = get_object_or_404(User, pk=raw) if raw else None
            services.complaint_assign(owner=owner, **common)
        elif action == "respond":
            services.complaint_respond(text=text, **common)
        elif action == "note":
            services.complaint_note(text=text, **common)
        elif action == "resolve":
            services.complaint_resolve(resolution=text, **common)
        elif action == "close":
            services.complaint_close(**common)
        elif action == "reopen":
            services.complaint_reopen(reason=text, **common)
        else:
            raise PermissionDenied(action)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Saved."))
    return redirect("complaint-detail", pk=complaint.pk)


@login_required
@require_http_methods(["GET", "POST"])
def survey_entry_view(request: HttpRequest) -> HttpResponse:
    """A survey or NPS answer taken by phone, typed in by service staff."""
    _require(request, "surveys.add_surveyresponse")
    data = request.POST if request.method == "POST" else request.GET
    code = data.get("customer", "").strip().upper()
    error = None
    if request.method == "POST":
        customer = customers_visible_to(request.user).filter(code=code).first()
        survey = Survey.objects.filter(pk=data.get("survey") or 0).first()
        if customer is None:
            error = _("No customer with the code %(code)s.") % {"code": code or "—"}
        elif survey is None:
            error = _("Choose a survey.")
        else:
            try:
                nps = int(data["nps"]) if data.get("nps", "").strip() else None
                sat = int(data["satisfaction"]) if data.get("satisfaction", "").strip() else None
                survey_answer_enter(
                    customer=customer,
                    survey=survey,
                    actor=request.user,
                    nps=nps,
                    satisfaction=sat,
                    comment=data.get("comment", ""),
                    request=request,
                )
            except ValueError:
                error = _("NPS and satisfaction are whole numbers.")
            except ValidationError as exc:
                error = _errors(exc)
            else:
                messages.success(request, _("Answer recorded."))
                return redirect(reverse("customer-detail", args=[customer.code]))
    return render(
        request,
        "complaints/survey.html",
        {
            "code": code,
            "data": data,
            "error": error,
            "surveys": Survey.objects.order_by("name"),
            "nav": "service",
        },
        status=400 if error else 200,
    )
