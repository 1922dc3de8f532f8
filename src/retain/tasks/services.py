"""Tasks: created by playbooks, churn alerts, next steps and detractor answers; completed by
logging a follow-up."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import may_assign_to, task_may_work_on, users_overseen_by
from retain.accounts.models import Role, User
from retain.audit.models import AuditAction
from retain.audit.services import audit_event, snapshot
from retain.care.contact_policy import quiet_until
from retain.care.templating import CompiledTemplate, TemplateInvalid, template_compile
from retain.core.bulk import frame_insert
from retain.customers.models import Consent, ConsentStatus, Customer, CustomerKind
from retain.interactions.models import LOGGING_DEADLINE
from retain.interactions.services import followup_log
from retain.playbooks.assignment import plan_assignments_update, playbook_eligible
from retain.playbooks.models import (
    CONSENT_CHANNELS,
    ActionChannel,
    OwnerRule,
    Playbook,
    PlaybookAction,
)
from retain.playbooks.selectors import segment_members
from retain.scoring.models import CustomerScore
from retain.tasks.models import (
    DEFAULT_DAILY_CAPACITY,
    DailyCapacity,
    Notification,
    Task,
    TaskKind,
    TaskStatus,
    WinbackOutcome,
)

BATCH = 500


def _script_text(
    script: CompiledTemplate | None,
    action: PlaybookAction,
    member: tuple[str, int | None, str, str],
    owner: str,
    as_of: dt.date,
) -> str:
    if script is None:
        return action.template
    name, _owner, code, kind = member
    return script.render(
        {
            "name": name,
            "customer": {"name": name, "code": code},
            "owner": owner,
            "company": name if kind == CustomerKind.COMPANY else "",
            "today": as_of,
        }
    )


def _script(action: PlaybookAction) -> CompiledTemplate | None:
    """The action's message template, compiled by the one sandboxed renderer; None (and
    the raw text shown) when it is broken, so a bad template never stops the daily run."""
    try:
        return template_compile(action.template)
    except TemplateInvalid:
        return None


# --------------------------------------------------------------------------- playbooks


@dataclass
class PlaybookTaskResult:
    created: int = 0
    withdrawn: int = 0
    without_consent: int = 0
    without_owner: int = 0
    held_out: int = 0
    coupons: int = 0  # coupons given by the actions' "issue coupon" steps
    by_owner: dict[int, int] = field(default_factory=dict)


def _owners_for(
    action: PlaybookAction, customer_ids: list[int], account_owner: dict[int, int | None]
) -> dict[int, int | None]:
    fallback = action.playbook.owner_id
    if action.owner_rule == OwnerRule.FIXED_USER:
        return dict.fromkeys(customer_ids, action.fixed_user_id)
    if action.owner_rule == OwnerRule.TEAM_ROUND_ROBIN and action.team_id is not None:
        members = list(
            User.objects.filter(team_id=action.team_id, is_active=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not members:
            return dict.fromkeys(customer_ids, fallback)
        # Reserve the next len(customer_ids) turns in one UPDATE (F()): two runs at once
        # each get their own turns, never the same ones.
        with transaction.atomic():
            PlaybookAction.objects.filter(pk=action.pk).update(
                round_robin_next=F("round_robin_next") + len(customer_ids)
            )
            end = PlaybookAction.objects.values_list("round_robin_next", flat=True).get(
                pk=action.pk
            )
        start = end - len(customer_ids)
        return {cid: members[(start + i) % len(members)] for i, cid in enumerate(customer_ids)}
    return {cid: account_owner.get(cid) or fallback for cid in customer_ids}


@transaction.atomic
def playbook_tasks_create(*, as_of: dt.date, now: dt.datetime) -> PlaybookTaskResult:
    """Create the follow-up tasks the playbooks call for on ``as_of``; withdraw stale ones.

    Never two open tasks for one customer and action (a partial unique constraint backs
    this); a channel that contacts the customer needs their consent on it; a task created in
    quiet hours is not to be done before they end. Set-based: a few queries per action.
    """
    result = PlaybookTaskResult()
    granted: dict[str, set[int]] = defaultdict(set)
    for cid, channel in Consent.objects.filter(status=ConsentStatus.GRANTED).values_list(
        "customer_id", "channel"
    ):
        granted[channel].add(cid)
    not_before = quiet_until(now)
    by_owner: dict[int, int] = defaultdict(int)
    user_names = {
        u.pk: (u.get_full_name() or u.get_username()).strip()
        for u in User.objects.only("username", "first_name", "last_name")
    }
    for playbook in Playbook.objects.select_related("segment").prefetch_related("actions"):
        members: dict[int, tuple[str, int | None, str, str]] = {}
        if playbook.active:
            members = {
                cid: (name, owner, code, kind)
                for cid, name, owner, code, kind in segment_members(
                    segment=playbook.segment
                ).values_list("id", "name", "owner_id", "code", "kind")
            }
        # measured plan: eligibility, then the logged arm; the control group gets nothing
        arms = plan_assignments_update(
            playbook=playbook,
            members={cid: m[2] for cid, m in members.items()},
            eligible=playbook_eligible(
                playbook=playbook,
                owners={cid: m[1] for cid, m in members.items()},
                granted=granted,
            ),
            now=now,
        )
        result.held_out += sum(1 for arm in arms.values() if arm.holdout)
        for action in playbook.actions.all():
            action.playbook = playbook
            key = f"action:{action.pk}"
            open_tasks = dict(
                Task.objects.filter(key=key, status=TaskStatus.OPEN).values_list(
                    "customer_id", "id"
                )
            )
            # customers who left the segment (or a switched-off plan, or in its control
            # group or another variant): withdraw their tasks
            live = (
                {
                    cid: m
                    for cid, m in members.items()
                    if cid in arms
                    and not arms[cid].holdout
                    and action.variant_id in (None, arms[cid].variant_id)
                }
                if action.active
                else {}
            )
            if live:
                # the action's "issue coupon" step (loyalty): the treated customers only
                from retain.loyalty.coupons import action_coupon_issue

                result.coupons += action_coupon_issue(action=action, customer_ids=live, on=as_of)
            stale = [tid for cid, tid in open_tasks.items() if cid not in live]
            for at in range(0, len(stale), BATCH):
                result.withdrawn += Task.objects.filter(
                    pk__in=stale[at : at + BATCH], status=TaskStatus.OPEN
                ).update(status=TaskStatus.WITHDRAWN, closed_at=now)
            if not live:
                continue
            recent = set(
                Task.objects.filter(
                    key=key,
                    due_on__gt=as_of - dt.timedelta(days=action.every_days),
                )
                .exclude(status=TaskStatus.WITHDRAWN)
                .values_list("customer_id", flat=True)
            )
            # one purpose, one open task: a customer who already has an open playbook task on
            # this channel (another action, another playbook: a second call) gets no second
            busy = set(
                Task.objects.filter(
                    kind=TaskKind.PLAYBOOK, channel=action.channel, status=TaskStatus.OPEN
                )
                .exclude(key=key)
                .values_list("customer_id", flat=True)
            )
            candidates = sorted(set(live) - set(open_tasks) - recent - busy)
            consent_channel = CONSENT_CHANNELS.get(ActionChannel(action.channel))
            if consent_channel is not None:
                allowed = granted[consent_channel]
                result.without_consent += sum(1 for cid in candidates if cid not in allowed)
                candidates = [cid for cid in candidates if cid in allowed]
            owners = _owners_for(action, candidates, {c: m[1] for c, m in live.items()})
            owned = [(cid, owners.get(cid)) for cid in candidates]
            customer_ids = [cid for cid, owner_id in owned if owner_id is not None]
            owner_ids = [owner_id for _cid, owner_id in owned if owner_id is not None]
            result.without_owner += len(owned) - len(customer_ids)
            for owner_id in owner_ids:
                by_owner[owner_id] += 1
            result.created += _playbook_tasks_insert(
                action=action,
                playbook=playbook,
                members=live,
                customer_ids=customer_ids,
                owner_ids=owner_ids,
                user_names=user_names,
                not_before=not_before if consent_channel else None,
                as_of=as_of,
                now=now,
            )
    result.by_owner = dict(by_owner)
    return result


def _playbook_tasks_insert(
    *,
    action: PlaybookAction,
    playbook: Playbook,
    members: dict[int, tuple[str, int | None, str, str]],
    customer_ids: list[int],
    owner_ids: list[int],
    user_names: dict[int, str],
    not_before: dt.datetime | None,
    as_of: dt.date,
    now: dt.datetime,
) -> int:
    """Write the action's new tasks (one per customer, ``owner_ids`` beside ``customer_ids``)
    column-wise in one bulk insert, most at stake first with their spread due dates; no
    model instance per task."""
    if not customer_ids:
        return 0
    order, dues = due_dates_plan(customer_ids=customer_ids, owner_ids=owner_ids, as_of=as_of)
    customers = [customer_ids[i] for i in order]
    owners = [owner_ids[i] for i in order]
    script = _script(action)
    reason = _("%(playbook)s (segment %(segment)s): %(what)s")
    reasons = [
        reason
        % {
            "playbook": playbook.name,
            "segment": playbook.segment.name,
            "what": _script_text(script, action, members[cid], user_names.get(oid, ""), as_of),
        }
        for cid, oid in zip(customers, owners, strict=True)
    ]
    ops = connection.ops
    columns: dict[str, Any] = {
        "customer_id": pd.array(customers, dtype="Int64"),
        "kind": TaskKind.PLAYBOOK.value,
        "key": f"action:{action.pk}",
        "action_id": action.pk,
        "owner_id": pd.array(owners, dtype="Int64"),
        "title": action.name,
        "reason": reasons,
        "channel": action.channel,
        "due_on": [due.isoformat() if due is not None else as_of.isoformat() for due in dues],
        "status": TaskStatus.OPEN.value,
        "created_at": ops.adapt_datetimefield_value(now),
        "logged_late": False,
        "outcome": "",
        "outcome_reason": "",
    }
    if not_before is not None:
        columns["not_before"] = ops.adapt_datetimefield_value(not_before)
    return frame_insert(Task, pd.DataFrame(columns))


# --------------------------------------------------------------------------- daily capacity


def capacities(owner_ids: Any) -> dict[int, int]:
    """Tasks per day of each owner: their own setting, else the default."""
    owner_ids = set(owner_ids)
    known = dict(
        DailyCapacity.objects.filter(user_id__in=owner_ids).values_list("user_id", "tasks_per_day")
    )
    return {o: known.get(o, DEFAULT_DAILY_CAPACITY) for o in owner_ids}


def stakes(customer_ids: Any) -> dict[int, tuple[float, int]]:
    """What is at stake per customer, for ordering: (value at risk, churn-risk rank).

    The value at risk is the predicted lifetime value (spend to date when not predicted);
    the churn-risk rank is 0 for high, 1 medium, 2 low or unknown."""
    ranks = {"high": 0, "medium": 1}
    ids = list(customer_ids)
    # in parts: SQLite refuses a statement with more parameters than its limit
    size = connection.features.max_query_params or 10_000
    out: dict[int, tuple[float, int]] = {}
    for at in range(0, len(ids), size):
        out.update(
            (cid, (float(ltv if ltv is not None else spend or 0.0), ranks.get(risk, 2)))
            for cid, ltv, spend, risk in CustomerScore.objects.filter(
                customer_id__in=ids[at : at + size]
            ).values_list("customer_id", "predicted_ltv", "total_spend", "churn_risk")
        )
    return out


def due_dates_spread(tasks: list[Task], *, as_of: dt.date) -> None:
    """Give new (unsaved) tasks due dates within their owners' daily capacity, and put them
    in that order (most at stake first): see :func:`due_dates_plan`."""
    if not any(t.owner_id is not None for t in tasks):
        return
    order, dues = due_dates_plan(
        customer_ids=[t.customer_id for t in tasks],
        owner_ids=[t.owner_id for t in tasks],
        as_of=as_of,
    )
    tasks[:] = [tasks[i] for i in order]
    for task, due in zip(tasks, dues, strict=True):
        if due is not None:
            task.due_on = due


def due_dates_plan(
    *, customer_ids: Sequence[int], owner_ids: Sequence[int | None], as_of: dt.date
) -> tuple[list[int], list[dt.date | None]]:
    """The order and due dates of new tasks (one per position of ``customer_ids`` and
    ``owner_ids``) within their owners' daily capacity: (positions, most at stake first;
    the due date of each in that order, None without an owner).

    The customers with most at stake come first and get today; the rest go to the following
    days, each day filled up to the owner's capacity. Open tasks already due count against
    their day (overdue ones against today), so a daily run never piles up one day.
    """
    owners = {o for o in owner_ids if o is not None}
    cap = capacities(owners)
    load: dict[tuple[int, dt.date], int] = defaultdict(int)
    if owners:
        for owner_id, due, n in (
            Task.objects.filter(owner_id__in=owners, status=TaskStatus.OPEN)
            .order_by()
            .values_list("owner_id", "due_on")
            .annotate(n=Count("id"))
        ):
            load[(owner_id, max(due, as_of))] += n
    at_stake = stakes(set(customer_ids))
    unknown = (0.0, 2)
    order = sorted(
        range(len(customer_ids)),
        key=lambda i: (
            -at_stake.get(customer_ids[i], unknown)[0],
            at_stake.get(customer_ids[i], unknown)[1],
            customer_ids[i],
        ),
    )
    day: dict[int, dt.date] = dict.fromkeys(owners, as_of)  # first day not yet full
    dues: list[dt.date | None] = []
    for i in order:
        owner_id = owner_ids[i]
        if owner_id is None:
            dues.append(None)
            continue
        while load[(owner_id, day[owner_id])] >= cap[owner_id]:
            day[owner_id] += dt.timedelta(days=1)
        dues.append(day[owner_id])
        load[(owner_id, day[owner_id])] += 1
    return order, dues


@transaction.atomic
def capacity_set(*, user: User, tasks_per_day: int, actor: Any) -> DailyCapacity:
    """Set how many tasks ``user`` works a day: themselves or whoever oversees them. Audited."""
    if actor is not None and actor.pk != user.pk and not may_assign_to(actor, user):
        raise PermissionDenied("tasks.capacity")
    capacity, _created = DailyCapacity.objects.get_or_create(user=user)
    before = snapshot(capacity, ["tasks_per_day"])
    capacity.tasks_per_day = tasks_per_day
    capacity.set_by = actor
    capacity.full_clean()
    capacity.save()
    audit_event(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=capacity,
        object_repr=str(user),
        before=before,
        after=snapshot(capacity, ["tasks_per_day"]),
    )
    return capacity


# --------------------------------------------------------------------------- working the inbox


@transaction.atomic
def task_snooze(*, task: Task, until: dt.date, actor: User, today: dt.date | None = None) -> Task:
    """Put a task off to a later day. Audited."""
    today = today or timezone.localdate()
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not task_may_work_on(actor, task):
        raise PermissionDenied(_("This task belongs to someone else."))
    if task.status != TaskStatus.OPEN:
        raise ValidationError(_("This task is already closed."))
    if until <= today:
        raise ValidationError({"until": _("Snooze to a day after today.")})
    before = snapshot(task, ["due_on"])
    task.due_on = until
    task.save(update_fields=["due_on"])
    audit_event(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=task,
        before=before,
        after=snapshot(task, ["due_on"]),
    )
    return task


@transaction.atomic
def tasks_reassign(
    *, tasks: list[Task], owner: User, actor: User, now: dt.datetime | None = None
) -> int:
    """Hand open tasks to another person: whoever oversees both may (a manager, the team
    lead); the new owner is notified. Returns how many changed. Audited per task."""
    now = now or timezone.now()
    if not may_assign_to(actor, owner):
        raise PermissionDenied("tasks.reassign")
    ids = [t.pk for t in tasks]
    rows = list(
        Task.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, status=TaskStatus.OPEN)
        .select_related("customer", "owner")
    )
    overseen = set(users_overseen_by(actor).values_list("pk", flat=True))
    for task in rows:
        if task.owner_id is not None and task.owner_id not in overseen:
            raise PermissionDenied("tasks.reassign")
    moving = [t for t in rows if t.owner_id != owner.pk]
    for task in moving:
        before = snapshot(task, ["owner"])
        task.owner = owner
        audit_event(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=task,
            before=before,
            after={"owner": owner.pk},
        )
    Task.objects.filter(pk__in=[t.pk for t in moving]).update(owner=owner)
    if moving:
        notification_send(
            users=[owner],
            text=_("%(who)s gave you %(n)d tasks") % {"who": actor, "n": len(moving)},
            url=reverse("tasks"),
            now=now,
        )
    return len(moving)


#: Kinds of task that are simple touches: closed in bulk with one note.
SIMPLE_TOUCH_KINDS = (TaskKind.PLAYBOOK, TaskKind.FOLLOWUP)


def tasks_complete_bulk(
    *, tasks: list[Task], user: User, content: str, now: dt.datetime | None = None
) -> int:
    """Close simple touches (playbook and next-step tasks) with one note; each is logged
    through ``task_complete`` (so through ``followup_log``). Win-back and service tasks need
    their own form. All or nothing."""
    now = now or timezone.now()
    if not content.strip():
        raise ValidationError({"content": _("Say what was done.")})
    complex_ = [t for t in tasks if t.kind not in SIMPLE_TOUCH_KINDS]
    if complex_:
        raise ValidationError(
            _("Win-back and service tasks are completed one by one: %(titles)s")
            % {"titles": ", ".join(t.title for t in complex_[:3])}
        )
    methods = {"phone": "call", "visit": "visit", "email": "email", "wechat": "chat", "sms": "chat"}
    with transaction.atomic():
        for task in tasks:
            task_complete(
                task=task,
                user=user,
                method=methods.get(task.channel, "call"),
                occurred_at=now,
                content=content,
                now=now,
            )
    return len(tasks)


# --------------------------------------------------------------------------- notifications


def notification_send(
    *,
    users: list[User],
    text: str,
    url: str = "",
    task: Task | None = None,
    now: dt.datetime,
    email_subject: str = "",
    email_body: str = "",
) -> list[Notification]:
    """Notify users in the app and (after commit, by the worker) by email."""
    notes = Notification.objects.bulk_create(
        [Notification(user=u, text=text[:300], url=url, task=task, created_at=now) for u in users]
    )
    if email_subject:
        addresses = [u.email for u in users if u.email]
        if addresses:
            from retain.tasks.tasks import email_send

            transaction.on_commit(
                lambda: email_send(subject=email_subject, body=email_body, to=addresses)
            )
    return notes


@transaction.atomic
def notifications_mark_read(*, user: User, now: dt.datetime) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=now)


# --------------------------------------------------------------------------- completing tasks


@transaction.atomic
def task_complete(
    *,
    task: Task,
    user: User,
    method: str,
    occurred_at: dt.datetime,
    content: str,
    feedback: str = "",
    next_step: str = "",
    next_step_on: dt.date | None = None,
    outcome: str = "",
    outcome_reason: str = "",
    now: dt.datetime | None = None,
) -> Task:
    """Close a task by logging the follow-up it asked for (跟进记录).

    The delay between the follow-up and its logging is stored; more than 24 hours is flagged.
    A next step with a date becomes the next task. A win-back task needs its outcome.
    """
    now = now or timezone.now()
    task = Task.objects.select_for_update().select_related("customer").get(pk=task.pk)
    if not task_may_work_on(user, task):
        raise PermissionDenied(_("This task belongs to someone else."))
    if task.status != TaskStatus.OPEN:
        raise ValidationError(_("This task is already closed."))
    if task.kind == TaskKind.WINBACK and outcome not in WinbackOutcome.values:
        raise ValidationError({"outcome": _("Say whether the customer was won back or lost.")})
    if outcome and task.kind != TaskKind.WINBACK:
        raise ValidationError({"outcome": _("Only win-back tasks have an outcome.")})
    followup = followup_log(
        customer=task.customer,
        actor=user,
        kind=method,
        occurred_at=occurred_at,
        content=content,
        feedback=feedback,
        outcome=(WinbackOutcome(outcome).label if outcome else "")
        + (f": {outcome_reason}" if outcome_reason else ""),
        next_step=next_step,
        next_step_on=next_step_on,
        task=task,
        now=now,
    )
    task.status = TaskStatus.DONE
    task.closed_at = now
    task.followup = followup
    task.logging_delay = now - occurred_at
    task.logged_late = task.logging_delay > LOGGING_DEADLINE
    task.outcome = outcome
    task.outcome_reason = outcome_reason
    task.full_clean()
    task.save(
        update_fields=[
            "status",
            "closed_at",
            "followup",
            "logging_delay",
            "logged_late",
            "outcome",
            "outcome_reason",
        ]
    )
    # the bell stops ringing for a task that is done
    Notification.objects.filter(task=task, read_at__isnull=True).update(read_at=now)
    return task


# --------------------------------------------------------------------------- service tasks


def service_owner() -> User | None:
    """The customer-service user with the fewest open tasks (ties: lowest id)."""
    return (
        User.objects.filter(role=Role.SERVICE, is_active=True)
        .annotate(load=Count("tasks", filter=Q(tasks__status=TaskStatus.OPEN)))
        .order_by("load", "id")
        .first()
    )


def service_task_open(
    *, customer: Customer, key: str, title: str, reason: str, due_on: dt.date, now: dt.datetime
) -> Task | None:
    """Open a service task unless one with this key was ever opened for the customer.

    Safe when two writers (a survey answer and the daily detractor step) race: the customer
    row is locked (PostgreSQL) and the unique rule on open tasks settles the rest.
    """
    with transaction.atomic():
        list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk"))
        if Task.objects.filter(customer=customer, key=key).exists():
            return None
        return _service_task_create(
            customer=customer, key=key, title=title, reason=reason, due_on=due_on, now=now
        )


def _service_task_create(
    *, customer: Customer, key: str, title: str, reason: str, due_on: dt.date, now: dt.datetime
) -> Task | None:
    owner = service_owner() or customer.owner
    task = Task(
        customer=customer,
        kind=TaskKind.SERVICE,
        key=key,
        owner=owner,
        title=title,
        reason=reason,
        due_on=due_on,
        created_at=now,
    )
    task.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            task.save()
    except IntegrityError:  # opened by the other writer a moment ago
        return None
    if owner is not None:
        notification_send(users=[owner], text=title, url=reverse("tasks"), task=task, now=now)
    return task
