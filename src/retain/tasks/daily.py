"""The daily jobs in one call (``retain daily``): playbook tasks, churn alerts, care
messages, complaint deadlines, detractor follow-ups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from retain.care.services import CareResult, care_messages_prepare
from retain.tasks.service_desk import (
    DetractorResult,
    EscalationResult,
    complaint_deadlines_check,
    detractor_tasks_create,
)
from retain.tasks.services import (
    ChurnAlertResult,
    PlaybookTaskResult,
    churn_alerts_create,
    playbook_tasks_create,
)

#: The time of day a run "as of" a past or future date is taken to happen (local time).
DAILY_AT = dt.time(9, 0)


@dataclass
class DailyResult:
    playbooks: PlaybookTaskResult
    churn: ChurnAlertResult
    care: CareResult
    complaints: EscalationResult
    detractors: DetractorResult


def daily_now(as_of: dt.date | None) -> tuple[dt.date, dt.datetime]:
    """(as_of, now): today and now, or the given day at 09:00 local time."""
    now = timezone.now()
    if as_of is None or as_of == timezone.localdate(now):
        return timezone.localdate(now), now
    return as_of, timezone.make_aware(dt.datetime.combine(as_of, DAILY_AT))


def daily_jobs_run(
    *, as_of: dt.date, now: dt.datetime, progress: Callable[[str], None] | None = None
) -> DailyResult:
    step = progress or (lambda _label: None)
    step(_("playbook tasks"))
    playbooks = playbook_tasks_create(as_of=as_of, now=now)
    step(_("churn alerts"))
    churn = churn_alerts_create(as_of=as_of, now=now)
    step(_("care messages"))
    care = care_messages_prepare(on=as_of, now=now)
    step(_("complaint deadlines"))
    complaints = complaint_deadlines_check(now=now)
    step(_("detractor follow-ups"))
    detractors = detractor_tasks_create(as_of=as_of, now=now)
    return DailyResult(playbooks, churn, care, complaints, detractors)
