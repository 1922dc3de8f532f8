from __future__ import annotations

import datetime as dt
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from retain.accounts.access import VIEW_AUDIT, can, customers_visible_to
from retain.audit.models import AuditAction
from retain.audit.selectors import audit_report
from retain.customers.models import Contact, Customer
from retain.customers.privacy import (
    customer_erase,
    customer_personal_data_export,
    personal_data_reveal,
)


def _visible_customer(request: HttpRequest, code: str) -> Customer:
    return get_object_or_404(customers_visible_to(request.user), code=code)


@login_required
@require_POST
def personal_reveal_view(
    request: HttpRequest, code: str, model: str, pk: int, field: str
) -> HttpResponse:
    customer = _visible_customer(request, code)
    try:
        value = personal_data_reveal(
            actor=request.user, customer=customer, model=model, pk=pk, field=field, request=request
        )
    except (ValidationError, Contact.DoesNotExist) as exc:
        raise Http404 from exc
    return HttpResponse(format_html('<span class="pii revealed">{}</span>', value))


@login_required
@require_POST
def personal_data_export_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = _visible_customer(request, code)
    data = customer_personal_data_export(actor=request.user, customer=customer, request=request)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{customer.code}-personal-data.json"'
    return response


@login_required
@require_POST
def customer_erase_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = _visible_customer(request, code)
    if request.POST.get("confirm") != customer.code:
        messages.error(request, _("Type the customer code to confirm the erasure."))
        return redirect("customer-detail", code=code)
    customer_erase(actor=request.user, customer=customer, request=request)
    messages.success(request, _("The customer's personal data was erased."))
    return redirect("customer-detail", code=code)


AUDIT_PAGE_SIZE = 100


@login_required
@require_GET
def audit_report_view(request: HttpRequest) -> HttpResponse:
    if not can(request.user, VIEW_AUDIT):
        raise PermissionDenied
    filters = {
        "action": request.GET.get("action", ""),
        "actor": request.GET.get("actor", "").strip(),
        "customer_code": request.GET.get("customer", "").strip(),
    }
    if filters["action"] not in ("", *AuditAction.values):
        filters["action"] = ""
    dates: dict[str, dt.date | None] = {}
    for key in ("since", "until"):
        try:
            dates[key] = dt.date.fromisoformat(request.GET.get(key, ""))
        except ValueError:
            dates[key] = None
    events = audit_report(
        action=filters["action"],
        actor=filters["actor"],
        customer_code=filters["customer_code"],
        since=dates["since"],
        until=dates["until"],
    )
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/report.html",
        {
            "page": page,
            "filters": filters,
            "dates": dates,
            "actions": AuditAction.choices,
            "query": query.urlencode(),
            "nav": "audit",
        },
    )
