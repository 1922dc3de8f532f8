"""Huey jobs of the task inbox: daily playbook tasks and churn alerts, complaint deadlines,
e-mail to staff. Thin: each calls a service with an explicit date or time."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task(retries=3, retry_delay=60)
def email_send(*, subject: str, body: str, to: list[str]) -> int:
    """Send a staff notification e-mail (retried by Huey when the server is unreachable)."""
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


@db_periodic_task(crontab(hour="6", minute="0"))
def daily_tasks() -> None:
    from retain.tasks.service_desk import detractor_tasks_create
    from retain.tasks.services import churn_alerts_create, playbook_tasks_create

    now = timezone.now()
    playbook_tasks_create(as_of=timezone.localdate(now), now=now)
    churn_alerts_create(as_of=timezone.localdate(now), now=now)
    detractor_tasks_create(as_of=timezone.localdate(now), now=now)


@db_periodic_task(crontab(minute="*/5"))
def complaint_deadlines() -> None:
    from retain.tasks.service_desk import complaint_deadlines_check

    complaint_deadlines_check(now=timezone.now())


@db_task()
def daily_job(as_of: str) -> None:
    """The daily jobs for a given day (YYYY-MM-DD), queued by hand or by ``retain daily``."""
    import datetime as dt

    from retain.tasks.daily import daily_jobs_run, daily_now

    day, now = daily_now(dt.date.fromisoformat(as_of))
    daily_jobs_run(as_of=day, now=now)
