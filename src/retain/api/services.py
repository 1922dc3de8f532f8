from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from retain.accounts.access import may_revoke_token
from retain.api.models import ApiToken
from retain.audit.services import audit_event

TOKEN_PREFIX = "rt_"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: Any, name: str, request: Any = None) -> tuple[ApiToken, str]:
    """Make a token for ``user``; returns the row and the raw token (shown once, never stored)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip(),
        prefix=raw[:10],
        key_hash=token_hash(raw),
        created_at=timezone.now(),
    )
    token.full_clean()
    token.save()
    audit_event(
        actor=user, action="token_create", obj=token, after={"name": token.name}, request=request
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Any, request: Any = None) -> ApiToken:
    """Revoke a token; its owner or an administrator may."""
    if not may_revoke_token(actor, token):
        raise PermissionDenied("api token")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_event(actor=actor, action="token_revoke", obj=token, request=request)
    return token


def api_token_user(raw: str) -> Any:
    """The active user of a live token, or None; records when the token was last used."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
