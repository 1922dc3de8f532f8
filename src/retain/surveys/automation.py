"""Surveys that go out by themselves (``SurveyTrigger``): some days after an event — an
order paid, a complaint closed, a task done — or every few months to a segment (the
quarterly relationship NPS). The hourly job ``survey_triggers`` runs ``triggers_run``.

Events are read from their tables, not signalled by the code that writes them, so every
door that can cause one (the web page, the API, an import, the admin, the demo generator)
is covered by the same rule. An event is due ``delay_days`` after it happened and is looked
at while it is at most ``LOOKBACK_DAYS`` overdue (a job that was down a day catches up;
years of imported history are never surveyed). Each invitation carries the event's key
(``order:12``); a unique constraint on (survey, key) makes a second one for the same event
impossible, and the sending rule (consent, quiet hours, one survey per customer per 30 days)
is ``survey_send``'s, the same as for a send by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import survey_may_build
from retain.audit.services import audit_event, snapshot
from retain.customers.models import Customer
from retain.surveys.models import Survey, SurveyTrigger, TriggerEvent
from retain.surveys.sending import survey_send

#: An event is still surveyed this many days after it became due (then it is let go).
LOOKBACK_DAYS = 2


@dataclass
class TriggersRun:
    triggers: int = 0
    invited: int = 0
    not_invited: int = 0


def _events(trigger: SurveyTrigger, now: dt.datetime) -> dict[int, str]:
    """customer id -> event key of the trigger's events due now (the latest per customer)."""
    delay = dt.timedelta(days=trigger.delay_days)
    until = now - delay
    since = max(now - dt.timedelta(days=LOOKBACK_DAYS), trigger.created_at) - delay
    rows: list[tuple[int, int]]
    if trigger.event == TriggerEvent.ORDER_PAID:
        from retain.orders.models import Order, OrderStatus

        rows = list(
            Order.objects.filter(
                status=OrderStatus.PAID, ordered_at__gt=since, ordered_at__lte=until
            )
            .order_by("ordered_at", "pk")
            .values_list("customer_id", "pk")
        )
        prefix = "order"
    elif trigger.event == TriggerEvent.COMPLAINT_CLOSED:
        from retain.complaints.models import Complaint, ComplaintStatus

        rows = list(
            Complaint.objects.filter(
                status=ComplaintStatus.CLOSED, closed_at__gt=since, closed_at__lte=until
            )
            .order_by("closed_at", "pk")
            .values_list("customer_id", "pk")
        )
        prefix = "complaint"
    else:
        from retain.tasks.models import Task, TaskStatus

        rows = list(
            Task.objects.filter(status=TaskStatus.DONE, closed_at__gt=since, closed_at__lte=until)
            .filter(customer__isnull=False)
            .order_by("closed_at", "pk")
            .values_list("customer_id", "pk")
        )
        prefix = "task"
    return {customer_id: f"{prefix}:{pk}" for customer_id, pk in rows}


def _customers(ids: Any, segment: Any) -> list[Customer]:
    found = Customer.objects.filter(pk__in=list(ids))
    if segment is not None:
        from retain.playbooks.conditions import conditions_q

        found = found.filter(conditions_q(segment.conditions))
    return list(found.order_by("pk"))


def trigger_run(*, trigger: SurveyTrigger, now: dt.datetime) -> tuple[int, int]:
    """Invite the customers of one trigger's due events (or its scheduled segment);
    returns (invited, not invited). Call inside a transaction holding the trigger's lock."""
    if trigger.event == TriggerEvent.SCHEDULE:
        today = timezone.localdate(now)
        if trigger.segment is None or (trigger.next_run_on and trigger.next_run_on > today):
            return 0, 0
        run_on = trigger.next_run_on or today
        from retain.playbooks.selectors import segment_members

        people = list(segment_members(segment=trigger.segment).order_by("pk"))
        keys = {c.pk: f"schedule:{trigger.pk}:{run_on.isoformat()}:{c.pk}" for c in people}
        trigger.next_run_on = run_on + relativedelta(months=trigger.every_months)
        while trigger.next_run_on <= today:  # the job was down for a whole period
            trigger.next_run_on += relativedelta(months=trigger.every_months)
        trigger.save(update_fields=["next_run_on"])
    else:
        keys = _events(trigger, now)
        if not keys:
            return 0, 0
        people = _customers(keys, trigger.segment)
    result = survey_send(
        survey=trigger.survey,
        customers=people,
        channel=trigger.channel,
        actor=None,
        language=trigger.language,
        reason=f"trigger {trigger.get_event_display()}"[:100],
        webhook_url=trigger.webhook_url,
        event_keys=keys,
        now=now,
    )
    return result.invited, len(people) - result.invited


def triggers_run(*, now: dt.datetime) -> TriggersRun:
    """Every active trigger, each in its own transaction with its row locked (two workers
    never run one trigger at once)."""
    out = TriggersRun()
    for pk in SurveyTrigger.objects.filter(active=True).order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            trigger = (
                SurveyTrigger.objects.select_for_update(of=("self",))
                .select_related("survey", "segment")
                .filter(pk=pk, active=True)
                .first()
            )
            if trigger is None:
                continue
            invited, not_invited = trigger_run(trigger=trigger, now=now)
        out.triggers += 1
        out.invited += invited
        out.not_invited += not_invited
    return out


@transaction.atomic
def trigger_save(
    *,
    survey: Survey,
    actor: Any,
    trigger: SurveyTrigger | None = None,
    request: Any = None,
    now: dt.datetime | None = None,
    **fields: Any,
) -> SurveyTrigger:
    """Add or change when ``survey`` goes out by itself. Validated, audited. A schedule
    without a first date starts today; an event trigger looks at events from now on."""
    if not survey_may_build(actor):
        raise PermissionDenied("surveys.change_survey")
    now = now or timezone.now()
    before = snapshot(trigger) if trigger is not None else None
    if trigger is None:
        trigger = SurveyTrigger(survey=survey, created_at=now)
    for name, value in fields.items():
        setattr(trigger, name, value)
    if trigger.event == TriggerEvent.SCHEDULE and trigger.segment is None:
        raise ValidationError({"segment": _("A schedule needs the segment it asks.")})
    if trigger.event == TriggerEvent.SCHEDULE and trigger.next_run_on is None:
        trigger.next_run_on = timezone.localdate(now)
    trigger.full_clean()
    trigger.save()
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=trigger,
        before=before,
        after=snapshot(trigger),
        request=request,
    )
    return trigger
