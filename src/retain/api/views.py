from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from retain.accounts.models import User
from retain.api.models import ApiToken
from retain.api.services import api_token_create, api_token_revoke


@login_required
@require_http_methods(["GET", "POST"])
def tokens_view(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens: make one (shown once) or revoke one."""
    user = cast(User, request.user)  # login_required
    new_token = None
    error = ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        days = request.POST.get("expires_in_days", "").strip()
        if not name:
            error = _("Give the token a name, e.g. the script that uses it.")
        elif days and not days.isdigit():
            error = _("Expires in: a whole number of days, or empty.")
        else:
            try:
                _token, new_token = api_token_create(
                    user=user,
                    name=name,
                    request=request,
                    expires_in_days=int(days) if days else None,
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
    tokens = ApiToken.objects.filter(user=user)
    return render(
        request,
        "api/tokens.html",
        {"tokens": tokens, "new_token": new_token, "error": error, "nav": "tokens"},
        status=422 if error else 200,
    )


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user_id=request.user.pk)
    api_token_revoke(token=token, actor=request.user, request=request)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("api-tokens")
