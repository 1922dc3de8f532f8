"""Huey jobs of surveys: send each invitation (retried), remind non-respondents once."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task(retries=3, retry_delay=300)
def invitation_send_job(*, invitation_id: int) -> None:
    from retain.surveys.sending import invitation_send

    invitation_send(invitation_id=invitation_id)


@db_periodic_task(crontab(minute="7"))
def survey_reminders() -> None:
    """Remind non-respondents once (hourly; nothing goes out in quiet hours)."""
    from retain.surveys.sending import reminders_send

    reminders_send(now=timezone.now())


@db_task()
def survey_send_job(*, send_id: int) -> None:
    """A send to a segment started on the survey's send page (progress on the page)."""
    from retain.surveys.sending import survey_send_run

    survey_send_run(send_id=send_id)


@db_periodic_task(crontab(minute="17"))
def survey_triggers() -> None:
    """Surveys that go out by themselves: after events and on their schedule (hourly)."""
    from retain.surveys.automation import triggers_run

    triggers_run(now=timezone.now())
