"""Login security: every sign-in and failed attempt is audited; repeated failures lock.

The backend wraps Django's ModelBackend, so the web login page, the admin login and any
other ``authenticate()`` call obey the same lockout. The failures are counted from the
audit trail, so no second table has to be kept in step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from retain.audit.models import AuditAction, AuditEvent
from retain.audit.services import audit_event

#: Failed attempts on one username within LOCKOUT_WINDOW that lock it for that window.
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = dt.timedelta(minutes=15)


def login_locked(username: str, *, now: dt.datetime | None = None) -> bool:
    """Whether ``username`` had LOCKOUT_FAILURES failed logins in the last LOCKOUT_WINDOW
    since its last successful one."""
    now = now or timezone.now()
    since = now - LOCKOUT_WINDOW
    last_success = (
        AuditEvent.objects.filter(action=AuditAction.LOGIN, actor_name=username, at__gte=since)
        .values_list("at", flat=True)
        .first()
    )
    failures = AuditEvent.objects.filter(
        action=AuditAction.LOGIN_FAILED, object_repr=username, at__gte=last_success or since
    )
    return failures.count() >= LOCKOUT_FAILURES


class AuditedLockoutBackend(ModelBackend):
    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None:
            from django.contrib.auth import get_user_model

            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        if login_locked(username):
            _failed(request, username, locked=True)
            raise PermissionDenied("locked")  # stops the other backends too
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            _failed(request, username, locked=False)
        else:
            audit_event(actor=user, action=AuditAction.LOGIN, obj=user, request=request)
        return user


def _failed(request: Any, username: str, *, locked: bool) -> None:
    audit_event(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        after={"username": username[:150], "locked": locked},
        request=request,
        object_repr=username[:150],
    )


class LockoutAuthenticationForm(AuthenticationForm):
    """The login form, saying so when the account is locked rather than "wrong password"."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _("Too many failed logins for this user. Try again in %(minutes)s minutes."),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username and login_locked(username):
            raise forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"minutes": int(LOCKOUT_WINDOW.total_seconds() // 60)},
            )
        return super().clean()
