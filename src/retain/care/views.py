"""Care messages and campaigns, run by marketing: lists, edit with validation and preview,
scheduling, the delivery log; the unsubscribe link and the "opened" receipt."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.accounts.access import can, customers_visible_to
from retain.campaigns.models import Campaign
from retain.campaigns.services import campaign_save, campaign_schedule
from retain.care.forms import CampaignForm, CareTemplateForm
from retain.care.models import CareTemplate, Delivery, DeliveryStatus
from retain.care.services import (
    FREQUENCY_CAP,
    care_template_save,
    delivery_opened,
    unsubscribe_confirm,
    unsubscribe_read,
)
from retain.care.templating import TEMPLATE_NAMES, TemplateInvalid, template_preview
from retain.customers.models import Customer
from retain.playbooks.assignment import SKIPPED


@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link in every greeting: no login, the signed token is the permission."""
    try:
        customer, channel = unsubscribe_read(token)
    except (signing.BadSignature, Customer.DoesNotExist):
        return render(request, "care/unsubscribe.html", {"invalid": True}, status=400)
    done = False
    if request.method == "POST":
        unsubscribe_confirm(token=token, request=request)
        done = True
    return render(
        request,
        "care/unsubscribe.html",
        {"name": customer.name, "channel": channel, "done": done, "token": token},
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def opened_view(request: HttpRequest, token: str) -> HttpResponse:
    """A gateway (or a tracking pixel) reports a message read; the signed token is the key."""
    try:
        delivery_opened(token=token)
    except (signing.BadSignature, Delivery.DoesNotExist):
        return HttpResponse(status=404)
    return HttpResponse(status=204)


def _require(request: HttpRequest, permission: str) -> None:
    if not can(request.user, permission):
        raise PermissionDenied(permission)


@login_required
@require_GET
def care_home_view(request: HttpRequest) -> HttpResponse:
    _require(request, "campaigns.view_campaign")
    counts = {
        "sent": Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
        "failed": Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        "opened": Count("deliveries", filter=Q(deliveries__opened_at__isnull=False)),
    }
    return render(
        request,
        "care/home.html",
        {
            "campaigns": Campaign.objects.select_related("segment").annotate(**counts)[:100],
            "templates": CareTemplate.objects.select_related("segment").annotate(**counts),
            "can_edit": can(request.user, "campaigns.change_campaign"),
            "can_edit_care": can(request.user, "care.change_caretemplate"),
            "nav": "care",
        },
    )


def _preview(request: HttpRequest, form: Any) -> dict[str, Any]:
    """The subject and body as they would go to the customer named in ``preview_customer``."""
    code = request.POST.get("preview_customer", "").strip().upper()
    customer = customers_visible_to(request.user).filter(code=code).first() if code else None
    out: dict[str, Any] = {"preview_customer": code}
    try:
        out["preview"] = {
            field: template_preview(form.data.get(field, ""), customer=customer)
            for field in ("subject", "body")
        }
    except TemplateInvalid as exc:
        out["preview_error"] = str(exc)
    return out


def _edit(
    request: HttpRequest,
    *,
    form_class: Any,
    obj: Any,
    save: Any,
    template: str,
    done: str,
) -> HttpResponse:
    form = form_class(request.POST or None, instance=obj)
    context: dict[str, Any] = {
        "form": form,
        "obj": obj,
        "names": TEMPLATE_NAMES.items(),
        "cap": FREQUENCY_CAP,
        "nav": "care",
    }
    if request.method == "POST" and "preview" in request.POST:
        context.update(_preview(request, form))
    elif request.method == "POST" and form.is_valid():
        fresh = type(obj).objects.get(pk=obj.pk) if obj is not None else None
        try:
            saved = save(fresh, form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(done, pk=saved.pk)
    return render(request, template, context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require(request, "campaigns.change_campaign" if pk else "campaigns.add_campaign")
    campaign = get_object_or_404(Campaign, pk=pk) if pk else None
    response = _edit(
        request,
        form_class=CampaignForm,
        obj=campaign,
        save=lambda obj, data: campaign_save(
            campaign=obj, fields=data, actor=request.user, request=request
        ),
        template="care/campaign_edit.html",
        done="campaign-edit",
    )
    return response


@login_required
@require_POST
def campaign_schedule_view(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    raw = request.POST.get("send_at", "").strip()
    try:
        send_at = None
        if raw:
            send_at = timezone.make_aware(dt.datetime.fromisoformat(raw))
        campaign_schedule(campaign=campaign, send_at=send_at, actor=request.user, request=request)
    except ValueError:
        messages.error(request, _("Give the date and time to send."))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Scheduled.") if send_at else _("Back to draft."))
    return redirect("campaign-edit", pk=campaign.pk)


@login_required
@require_http_methods(["GET", "POST"])
def care_template_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require(request, "care.change_caretemplate" if pk else "care.add_caretemplate")
    template = get_object_or_404(CareTemplate, pk=pk) if pk else None
    return _edit(
        request,
        form_class=CareTemplateForm,
        obj=template,
        save=lambda obj, data: care_template_save(
            template=obj, fields=data, actor=request.user, request=request
        ),
        template="care/template_edit.html",
        done="care-template-edit",
    )


@login_required
@require_GET
def delivery_log_view(request: HttpRequest) -> HttpResponse:
    _require(request, "care.view_delivery")
    deliveries = Delivery.objects.select_related("template", "campaign", "customer")
    source: Campaign | CareTemplate | None = None
    if request.GET.get("campaign"):
        source = get_object_or_404(Campaign, pk=request.GET["campaign"])
        deliveries = deliveries.filter(campaign=source)
    elif request.GET.get("template"):
        template = get_object_or_404(CareTemplate, pk=request.GET["template"])
        deliveries, source = deliveries.filter(template=template), template
    totals = deliveries.aggregate(
        sent=Count("id", filter=Q(status=DeliveryStatus.SENT)),
        failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
        # of the failed: messages of a plan withheld at send time (control group, left)
        skipped=Count("id", filter=Q(status=DeliveryStatus.FAILED, last_error__startswith=SKIPPED)),
        pending=Count("id", filter=Q(status=DeliveryStatus.PENDING)),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
    )
    return render(
        request,
        "care/deliveries.html",
        {
            "deliveries": deliveries.order_by("-send_after", "-id")[:300],
            "source": source,
            "totals": totals,
            "nav": "care",
        },
    )
