"""The membership panel's forms on the customer page: redeem and adjust points."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from retain.accounts.access import customers_visible_to, points_may_adjust, points_may_redeem
from retain.customers.models import Customer
from retain.loyalty.ledger import points_adjust, points_redeem
from retain.loyalty.models import LoyaltyAccount
from retain.loyalty.referrals import referral_signup
from retain.orders.models import Order


def _points(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("points", ""))
    except ValueError:
        return None


def _back(customer: Customer) -> HttpResponse:
    return redirect(f"/customers/{customer.code}/#loyalty")


def _error(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


@login_required
@require_POST
def points_redeem_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = get_object_or_404(customers_visible_to(request.user), code=code)
    if not points_may_redeem(request.user, customer):
        raise PermissionDenied
    points = _points(request)
    what = request.POST.get("what", "").strip()[:200]
    order = Order.objects.filter(customer=customer, number=what).first()
    if points is None:
        messages.error(request, _("Enter a whole number of points."))
        return _back(customer)
    try:
        points_redeem(
            customer=customer,
            points=points,
            on=timezone.localdate(),
            order=order,
            reward="" if order else what,
            actor=request.user,
            request=request,
        )
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("%(n)s points redeemed.") % {"n": points})
    return _back(customer)


@login_required
@require_POST
def points_adjust_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = get_object_or_404(customers_visible_to(request.user), code=code)
    if not points_may_adjust(request.user, customer):
        raise PermissionDenied
    points = _points(request)
    if points is None:
        messages.error(request, _("Enter a whole number of points."))
        return _back(customer)
    try:
        points_adjust(
            customer=customer,
            points=points,
            reason=request.POST.get("reason", "")[:300],
            on=timezone.localdate(),
            actor=request.user,
            request=request,
        )
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("Points adjusted."))
    return _back(customer)


def _signup_limited(request: HttpRequest) -> bool:
    """Sign-ups per client address per minute (RETAIN_REFERRAL_RATE_LIMIT, default 10),
    counted in the project's cache like the public survey page."""
    from django.conf import settings

    from retain.surveys.ratelimit import survey_rate_limited

    limit = int(getattr(settings, "RETAIN_REFERRAL_RATE_LIMIT", 10))
    return survey_rate_limited(f"referral:{request.META.get('REMOTE_ADDR', '')}", limit=limit)


@never_cache
@require_http_methods(["GET", "POST"])
def referral_signup_view(request: HttpRequest, code: str) -> HttpResponse:
    """The public referral link: a friend signs up (no login). The same thanks whether or
    not a guard refused the attribution, so the page tells an abuser nothing."""
    if _signup_limited(request):
        response = render(request, "loyalty/referral_signup.html", {"state": "busy"}, status=429)
        response["Retry-After"] = "60"
        return response
    if not LoyaltyAccount.objects.filter(referral_code=code.strip().upper()).exists():
        return render(request, "loyalty/referral_signup.html", {"state": "unknown"}, status=404)
    values = {k: request.POST.get(k, "").strip() for k in ("name", "phone", "address")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            referral_signup(
                code=code,
                **values,
                device_id=request.POST.get("device", "") or request.GET.get("d", ""),
                on=timezone.localdate(),
                request=request,
            )
        except ValidationError as exc:
            errors = {k: " ".join(v) for k, v in exc.message_dict.items()}
        else:
            return render(request, "loyalty/referral_signup.html", {"state": "thanks"})
    return render(
        request,
        "loyalty/referral_signup.html",
        {"state": "form", "values": values, "errors": errors, "code": code.upper()},
        status=422 if errors else 200,
    )
