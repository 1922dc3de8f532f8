"""Global search in the top bar: customer name, code, contact name, phone and email, as
you type (htmx). Through ``customers.selectors.customer_list`` (masking, audit and limits
of phone and email searches live there) and ``access.customers_visible_to``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from retain.accounts.access import SearchLimited, customers_visible_to
from retain.customers.selectors import customer_list

#: Results shown under the search box; the full page shows more.
QUICK_RESULTS = 8
PAGE_RESULTS = 50


@login_required
@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    quick = bool(request.headers.get("HX-Request"))
    limit = QUICK_RESULTS if quick else PAGE_RESULTS
    results: list = []
    error = ""
    more = False
    if q:
        try:
            found = list(
                customers_visible_to(
                    request.user, customer_list(search=q, user=request.user, request=request)
                )[: limit + 1]
            )
        except SearchLimited as exc:
            error = _("Too many searches by phone or email; try again in %(s)d seconds.") % {
                "s": exc.retry_after
            }
        else:
            more = len(found) > limit
            results = found[:limit]
    context = {"q": q, "results": results, "more": more, "error": error, "nav": "search"}
    if quick:
        return render(request, "web/_search_results.html", context)
    return render(request, "web/search.html", context)
