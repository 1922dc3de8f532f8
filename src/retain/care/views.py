from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from retain.care.services import unsubscribe_confirm, unsubscribe_read
from retain.customers.models import Customer


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
