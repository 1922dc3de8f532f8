from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import may_revoke_token
from retain.api.models import ApiToken
from retain.audit.services import audit_event

TOKEN_PREFIX = "rt_"
#: The longest expiry a token may be given, in days.
MAX_DAYS = 3650


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: Any, name: str, request: Any = None, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """Make a token for ``user``; returns the row and the raw token (shown once, never stored).

    ``expires_in_days`` (1 to 3650) makes it stop working after that many days."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        raise ValidationError(
            {"expires_in_days": [_("From 1 to %(max)s days.") % {"max": MAX_DAYS}]}
        )
    token = ApiToken(
        user=user,
        name=name.strip(),
        prefix=raw[:10],
        key_hash=token_hash(raw),
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    token.full_clean()
    token.save()
    audit_event(
        actor=user,
        action="token_create",
        obj=token,
        after={"name": token.name, "expires_at": token.expires_at},
        request=request,
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
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def api_tokens_revoke_all(*, user: Any, reason: str, actor: Any = None) -> int:
    """Revoke every live token of ``user`` (password changed, user deactivated); audited."""
    now = timezone.now()
    live = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True))
    for token in live:
        token.revoked_at = now
        audit_event(actor=actor, action="token_revoke", obj=token, after={"reason": reason})
    ApiToken.objects.bulk_update(live, ["revoked_at"])
    return len(live)


def _user_pre_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Remember the stored password and active flag, to tell a change after the save."""
    if raw or instance.pk is None:
        instance._retain_was = None
        return
    instance._retain_was = (
        type(instance)
        ._default_manager.filter(pk=instance.pk)
        .values_list("password", "is_active")
        .first()
    )


def _user_post_save(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new password or a deactivated user ends every API token of that user, whichever
    door made the change (password page, admin, command line)."""
    was = getattr(instance, "_retain_was", None)
    if raw or created or was is None:
        return
    password, active = was
    if password != instance.password:
        api_tokens_revoke_all(user=instance, reason="password changed")
    elif active and not instance.is_active:
        api_tokens_revoke_all(user=instance, reason="user deactivated")
