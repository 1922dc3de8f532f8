"""Huey jobs of care messages: send each greeting (retried), send scheduled campaigns. The
nightly run (``retain.pipeline``) prepares the day's greetings."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task(retries=3, retry_delay=300)
def delivery_send_job(*, delivery_id: int) -> None:
    from retain.care.services import delivery_send

    delivery_send(delivery_id=delivery_id)


@db_periodic_task(crontab(minute="*/5"))
def campaigns_due() -> None:
    """Send the scheduled campaigns whose time has come."""
    from retain.care.services import campaigns_send_due

    campaigns_send_due(now=timezone.now())
