"""The caller's own API tokens: list, create, revoke."""

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from retain.api import schemas as s
from retain.api.models import ApiToken
from retain.api.services import api_token_create, api_token_revoke
from retain.api.v1.common import Id, user_of

router = Router(tags=["tokens"])


@router.get("", response={200: list[s.TokenOut], **s.ERRORS})
def tokens_list(request: HttpRequest) -> Any:
    """Your own API tokens (never the tokens themselves)."""
    return ApiToken.objects.filter(user=user_of(request))


@router.post("", response={201: s.TokenCreatedOut, **s.ERRORS})
def tokens_create(request: HttpRequest, payload: s.TokenIn) -> Any:
    token, raw = api_token_create(
        user=user_of(request),
        name=payload.name,
        request=request,
        expires_in_days=payload.expires_in_days,
    )
    return Status(201, {**s.TokenOut.from_orm(token).dict(), "token": raw})


@router.delete("/{token_id}", response={200: s.TokenOut, **s.ERRORS})
def tokens_revoke(request: HttpRequest, token_id: Id) -> Any:
    token = get_object_or_404(ApiToken, pk=token_id, user=user_of(request))
    return api_token_revoke(token=token, actor=user_of(request), request=request)
