"""Churn alerts: after a scoring run, a win-back task for every customer who became high-risk or
left the core quadrant, and one notification (in the app and by e-mail) per owner."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from retain.accounts.models import Role, User
from retain.customers.models import Customer
from retain.scoring.models import CustomerScore, Dimension, SegmentChange
from retain.scoring.reasons import risk_reasons
from retain.tasks.models import Task, TaskKind, TaskStatus
from retain.tasks.services import BATCH, due_dates_spread, notification_send


def base_url() -> str:
    return str(settings.RETAIN_BASE_URL).rstrip("/")


@dataclass
class ChurnAlertResult:
    created: int = 0
    notified: int = 0


@transaction.atomic
def churn_alerts_create(*, as_of: dt.date, now: dt.datetime) -> ChurnAlertResult:
    """A win-back task (with the reasons) for every customer who became high-risk, or left
    the core quadrant, in the latest scoring run up to ``as_of``; the owner is notified in
    the app and by email. Idempotent: one win-back task per customer and scoring date."""
    result = ChurnAlertResult()
    scored_on = (
        CustomerScore.objects.filter(as_of__lte=as_of)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    if scored_on is None:
        return result
    changes = (
        SegmentChange.objects.filter(as_of=scored_on)
        .exclude(from_value="")
        .filter(
            Q(dimension=Dimension.RISK, to_value="high")
            | Q(dimension=Dimension.QUADRANT, from_value="core")
        )
    )
    why: dict[int, list[str]] = defaultdict(list)
    for cid, dimension, before, after in changes.values_list(
        "customer_id", "dimension", "from_value", "to_value"
    ):
        if dimension == Dimension.RISK:
            why[cid].append(_("churn risk rose from %(a)s to high") % {"a": before})
        else:
            why[cid].append(_("moved from core to %(b)s") % {"b": after or _("no quadrant")})
    if not why:
        return result
    key = f"winback:{scored_on.isoformat()}"
    done = set(
        Task.objects.filter(key=key, customer_id__in=list(why)).values_list(
            "customer_id", flat=True
        )
    )
    # one purpose, one open task: a customer already being won back gets no second task
    done |= set(
        Task.objects.filter(
            kind=TaskKind.WINBACK, status=TaskStatus.OPEN, customer_id__in=list(why)
        ).values_list("customer_id", flat=True)
    )
    customers = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=[c for c in why if c not in done]).select_related(
            "owner", "score"
        )
    }
    # Customers nobody owns go to the first manager: a churn alert must reach someone.
    manager = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("id").first()
    tasks: list[Task] = []
    for cid in sorted(customers):
        customer = customers[cid]
        owner = customer.owner or manager
        if owner is None:
            continue
        reasons = getattr(customer, "score", None)
        text = "; ".join(why[cid])
        if reasons is not None and (reasons.reason_codes or reasons.risk_reasons):
            text = _("%(why)s. Reasons: %(reasons)s") % {
                "why": text,
                "reasons": "; ".join(risk_reasons(reasons.reason_codes or reasons.risk_reasons)),
            }
        tasks.append(
            Task(
                customer=customer,
                kind=TaskKind.WINBACK,
                key=key,
                owner=owner,
                title=_("Win back %(name)s") % {"name": customer.name},
                reason=text,
                due_on=as_of,
                created_at=now,
            )
        )
    due_dates_spread(tasks, as_of=as_of)
    Task.objects.bulk_create(tasks, batch_size=BATCH)
    result.created = len(tasks)
    per_owner: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        if task.owner_id is not None:
            per_owner[task.owner_id].append(task)
    inbox = base_url() + reverse("tasks")
    for _owner_id, owned in per_owner.items():
        owner = cast(User, owned[0].owner)
        lines = [f"- {t.customer.code} {t.customer.name}: {t.reason}" for t in owned]
        notification_send(
            users=[owner],
            text=_("%(n)d customers need a win-back call") % {"n": len(owned)},
            url=reverse("tasks"),
            now=now,
            email_subject=_("Churn alert: %(n)d customers to win back") % {"n": len(owned)},
            email_body="\n".join(
                [_("These customers are at risk of leaving:"), "", *lines, "", inbox]
            ),
        )
        result.notified += 1
    return result
