"""Login security: every sign-in and failed attempt is audited; repeated failures lock.

The backend wraps Django's ModelBackend, so the web login page, the admin login and any
other ``authenticate()`` call obey the same lockout. Attempts are counted in
``LoginThrottle`` rows under a row lock *before* the password is checked, so parallel
attempts are counted exactly: with a limit of five, forty wrong passwords sent at once get
five password checks, not ten. Two counts apply:

- a username from one client address: LOCKOUT_FAILURES failures within LOCKOUT_WINDOW lock
  that username *from that address* for LOCKOUT_WINDOW — so nobody can lock the admin out
  of their own desk by failing from another address;
- one client address, whatever the usernames: RETAIN_LOGIN_IP_LIMIT failures within the
  window lock the address (password spraying).

A successful sign-in clears the username's count from that address.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from retain.accounts.models import LoginThrottle
from retain.audit.models import AuditAction
from retain.audit.services import audit_event

#: Failed attempts on one username from one address within LOCKOUT_WINDOW that lock it.
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = dt.timedelta(minutes=15)


def _ip_limit() -> int:
    return int(getattr(settings, "RETAIN_LOGIN_IP_LIMIT", 20))


def _address(request: Any) -> str:
    return (request.META.get("REMOTE_ADDR") if request is not None else None) or "-"


def _keys(username: str, request: Any) -> list[tuple[str, int]]:
    address = _address(request)
    return [
        (f"user:{username.lower()[:150]}@{address}", LOCKOUT_FAILURES),
        (f"ip:{address}", _ip_limit()),
    ]


def _reserve(key: str, limit: int, now: dt.datetime) -> dt.datetime | None:
    """Count one attempt on ``key`` under a row lock; the time the key is locked until
    when it may not try now, else None."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                LoginThrottle.objects.get_or_create(key=key, defaults={"window_start": now})
        except IntegrityError:  # made by a parallel attempt: it exists now
            pass
        row = LoginThrottle.objects.select_for_update().get(key=key)
        if row.locked_until is not None and row.locked_until > now:
            return row.locked_until
        if row.window_start <= now - LOCKOUT_WINDOW or row.locked_until is not None:
            row.attempts, row.window_start, row.locked_until = 0, now, None
        if row.attempts >= limit:  # the others are checking their passwords right now
            row.locked_until = now + LOCKOUT_WINDOW
            row.save()
            return row.locked_until
        row.attempts += 1
        if row.attempts >= limit:  # the last try: locked if it fails, cleared if not
            row.locked_until = now + LOCKOUT_WINDOW
        row.save()
    return None


def _release(key: str) -> None:
    """Take back one counted attempt that did not fail (signed in, or refused elsewhere),
    and the lock its count may have set in advance."""
    LoginThrottle.objects.filter(key=key, attempts__gt=0).update(
        attempts=F("attempts") - 1, locked_until=None
    )


def login_locked_until(
    username: str, request: Any = None, *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Until when ``username`` may not sign in from the request's address (None: it may)."""
    now = now or timezone.now()
    keys = [key for key, _limit in _keys(username, request)]
    return (
        LoginThrottle.objects.filter(key__in=keys, locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )


def login_locked(username: str, request: Any = None, *, now: dt.datetime | None = None) -> bool:
    return login_locked_until(username, request, now=now) is not None


class AuditedLockoutBackend(ModelBackend):
    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None:
            from django.contrib.auth import get_user_model

            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        now = timezone.now()
        reserved: list[str] = []
        for key, limit in _keys(username, request):
            if _reserve(key, limit, now) is not None:
                for done in reserved:
                    _release(done)
                _failed(request, username, locked=True)
                raise PermissionDenied("locked")  # stops the other backends too
            reserved.append(key)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            _failed(request, username, locked=False)
        else:
            # The username from this address starts afresh; the address keeps its failures.
            user_key, address_key = reserved
            LoginThrottle.objects.filter(key=user_key).update(attempts=0, locked_until=None)
            _release(address_key)
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
    """The login form, saying so — and until when — when the account is locked rather
    than "wrong password"."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _(
            "This account is locked after too many failed sign-ins from your address. "
            "Try again after %(until)s."
        ),
    }

    locked_message = ""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username:
            self._raise_if_locked(username)
        try:
            return super().clean()
        except forms.ValidationError:
            if username:
                self._raise_if_locked(username)
            raise

    def _raise_if_locked(self, username: str) -> None:
        until = login_locked_until(username, self.request)
        if until is not None:
            params = {"until": date_format(timezone.localtime(until), "DATETIME_FORMAT")}
            self.locked_message = self.error_messages["locked"] % params
            raise forms.ValidationError(self.error_messages["locked"], code="locked", params=params)
