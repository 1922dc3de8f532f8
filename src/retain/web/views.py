from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from retain.accounts.access import (
    HANDLE_PRIVACY_REQUESTS,
    VIEW_AUDIT,
    SearchLimited,
    can,
    customers_visible_to,
    shows_personal_data,
)
from retain.accounts.login import LockoutAuthenticationForm
from retain.audit.selectors import customer_audit_trail
from retain.customers.models import Customer
from retain.customers.selectors import customer_timeline
from retain.playbooks.models import Segment
from retain.web.customer_edit_views import customer_edit_context
from retain.web.customer_list_views import customer_list_context
from retain.web.customer_query import CustomerQuery, customer_page, customer_search
from retain.web.customer_views import customer_360_context


class RetainLoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True
    authentication_form = LockoutAuthenticationForm


@login_required
@require_GET
def customer_list_view(request: HttpRequest) -> HttpResponse:
    query = CustomerQuery.from_params(request.GET)
    status = 200
    try:
        qs = customer_search(user=request.user, query=query, request=request)
    except SearchLimited as exc:
        query.errors.append(_search_limited_message(exc))
        # htmx swaps only 2xx answers: the partial says so in place
        qs = Customer.objects.none()
        status = 200 if request.headers.get("HX-Request") else 429
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    page = customer_page(qs, number)
    context = {
        "page": page,
        "query": query,
        "segment": Segment.objects.filter(pk=query.segment).first() if query.segment else None,
        "q": query.q,
        "qs": query.querystring(),
        "nav": "customers",
        **customer_list_context(request.user, query),
    }
    if request.headers.get("HX-Request"):
        response = render(request, "web/_customer_rows.html", context, status=status)
        # the address bar shows the filters that apply, not every empty field of the form
        response["HX-Push-Url"] = (
            f"{request.path}?{context['qs']}" if context["qs"] else request.path
        )
        return response
    return render(request, "web/customer_list.html", context, status=status)


def _search_limited_message(exc: SearchLimited) -> str:
    return _("Too many searches by phone number or email. Try again in %(minutes)s minutes.") % {
        "minutes": max(1, -(-exc.retry_after // 60))
    }


@login_required
@require_GET
def customer_detail_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = get_object_or_404(
        customers_visible_to(request.user, Customer.objects.select_related("owner", "source")),
        code=code,
    )
    context = {
        "customer": customer,
        "contacts": customer.contacts.all(),
        "tags": customer.customer_tags.select_related("tag", "tag__group", "tagged_by"),
        "consents": customer.consents.all(),
        "timeline": customer_timeline(customer=customer),
        "nav": "customers",
        "show_personal_data": shows_personal_data(request.user),
        "can_privacy": can(request.user, HANDLE_PRIVACY_REQUESTS),
        "audit_events": (
            customer_audit_trail(customer=customer)[:50] if can(request.user, VIEW_AUDIT) else None
        ),
        **customer_360_context(request.user, customer),
        **customer_edit_context(request.user, customer),
    }
    return render(request, "web/customer_detail.html", context)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page in the user's language with the navigation; plain text if even that
    fails (the database may be what is down)."""
    from django.http import HttpResponseServerError

    try:
        return render(request, "500.html", status=500)
    except Exception:
        return HttpResponseServerError("500 Server Error", content_type="text/plain")
