"""Huey jobs of the task inbox: e-mail to staff. (The daily steps run in the nightly run,
``retain.pipeline``.)"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from huey.contrib.djhuey import db_task


@db_task(retries=3, retry_delay=60)
def email_send(*, subject: str, body: str, to: list[str]) -> int:
    """Send a staff notification e-mail (retried by Huey when the server is unreachable)."""
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
