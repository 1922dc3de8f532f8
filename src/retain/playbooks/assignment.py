"""Who is in which arm of a measured plan: eligibility first, then a stable-hash assignment
logged at entry and kept until the customer leaves the plan's target.

Called by the daily run (``playbook_tasks_create``) for each playbook before any task is made,
and by the campaign and care senders for a message that belongs to a plan: a customer in the
control group (holdout) gets nothing from that plan, through any door.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import pandas as pd
from django.db import connection, transaction

from retain.core.bulk import frame_insert
from retain.playbooks.measurement import arm_for
from retain.playbooks.models import (
    CONSENT_CHANNELS,
    ActionChannel,
    OwnerRule,
    PlanAssignment,
    Playbook,
)

BATCH = 500


@dataclass(frozen=True)
class Arm:
    holdout: bool
    variant_id: int | None


def plan_key(playbook: Playbook) -> str:
    """The plan's part of the hash: its id, so renaming a plan never reshuffles its arms."""
    return f"playbook:{playbook.pk}"


def playbook_eligible(
    *,
    playbook: Playbook,
    owners: Mapping[int, int | None],
    granted: Mapping[str, Collection[int]],
) -> set[int]:
    """The members (``owners``: customer id → account owner id) some active action of the plan
    could reach: consent on the action's channel when it contacts them, and someone to do it.

    Decided before assignment, from what is known at entry, so the control group is drawn
    from the same customers as the treated ones (excluding afterwards would bias the groups)."""
    members = set(owners)
    eligible: set[int] = set()
    for action in playbook.actions.all():
        if not action.active:
            continue
        reached = members - eligible
        consent = CONSENT_CHANNELS.get(ActionChannel(action.channel))
        if consent is not None:
            reached.intersection_update(granted.get(consent, ()))
        if action.owner_rule == OwnerRule.ACCOUNT_OWNER and playbook.owner_id is None:
            reached = {cid for cid in reached if owners[cid] is not None}
        eligible |= reached
    return eligible


@transaction.atomic
def plan_assignments_update(
    *,
    playbook: Playbook,
    members: Mapping[int, str],
    eligible: Collection[int],
    now: dt.datetime,
) -> dict[int, Arm]:
    """Bring the plan's assignment log up to date and return the live arms (customer id → arm).

    ``members`` are the customers in the plan's target now (id → customer code, the hash key);
    members who are not yet assigned and are ``eligible`` enter today, each in the arm the
    stable hash of (plan, customer code) gives; assigned customers who are no longer members
    leave (the row is closed, never deleted). A customer who comes back later enters again,
    in the same arm while the plan's shares are unchanged."""
    # one run at a time per plan (PostgreSQL): a second run waits here and then reads the
    # first one's rows, so the entrants are written once, by a plain bulk insert
    Playbook.objects.select_for_update().filter(pk=playbook.pk).values_list("pk").first()
    live: dict[int, Arm] = {
        cid: Arm(holdout, variant_id)
        for cid, holdout, variant_id in PlanAssignment.objects.filter(
            playbook=playbook, left_at__isnull=True
        ).values_list("customer_id", "holdout", "variant_id")
    }
    leaving = [cid for cid in live if cid not in members]
    for at in range(0, len(leaving), BATCH):
        PlanAssignment.objects.filter(
            playbook=playbook, left_at__isnull=True, customer_id__in=leaving[at : at + BATCH]
        ).update(left_at=now)
    for cid in leaving:
        del live[cid]
    variants = [(str(v.pk), v.share) for v in playbook.variants.all()]
    key = plan_key(playbook)
    entering = [cid for cid in sorted(set(eligible) - set(live)) if cid in members]
    holdouts: list[bool] = []
    variant_ids: list[int | None] = []
    for cid in entering:
        arm = arm_for(
            key, members[cid], holdout_percent=playbook.holdout_percent, variants=variants
        )
        holdout = arm == "control"
        variant_id = None if holdout or not variants else int(arm)
        live[cid] = Arm(holdout, variant_id)
        holdouts.append(holdout)
        variant_ids.append(variant_id)
    frame_insert(
        PlanAssignment,
        pd.DataFrame(
            {
                "playbook_id": playbook.pk,
                "customer_id": pd.array(entering, dtype="Int64"),
                "holdout": pd.array(holdouts, dtype="boolean"),
                "variant_id": pd.array(variant_ids, dtype="Int64"),
                "entered_at": connection.ops.adapt_datetimefield_value(now),
            }
        ),
    )
    return live


def holdout_customers(*, playbook_id: int, customer_ids: Collection[int] | None = None) -> set[int]:
    """The customers in the plan's control group now (among ``customer_ids`` if given)."""
    rows = PlanAssignment.objects.filter(
        playbook_id=playbook_id, left_at__isnull=True, holdout=True
    )
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=list(customer_ids))
    return set(rows.values_list("customer_id", flat=True))


#: Why a message of a plan is not sent at send time (the delivery's ``last_error``).
SKIPPED_HOLDOUT = "skipped: in the plan's control group"
SKIPPED_LEFT = "skipped: left the plan's target"
#: The prefix of every send-time skip, to count them.
SKIPPED = "skipped: "


def plan_send_refusal(*, playbook_id: int | None, customer_id: int) -> str:
    """Checked again when a queued message of a plan is actually sent: why the plan may no
    longer reach the customer ("" when it may). The customer is in the plan's control group
    now (e.g. drawn after the message was queued), or has left the plan's target since (their
    assignment was closed and they have no live one)."""
    if playbook_id is None:
        return ""
    rows = list(
        PlanAssignment.objects.filter(playbook_id=playbook_id, customer_id=customer_id)
        .order_by("left_at")  # the live row (no left_at) sorts last on SQLite, first on PG
        .values_list("holdout", "left_at")
    )
    live = [holdout for holdout, left_at in rows if left_at is None]
    if any(live):
        return SKIPPED_HOLDOUT
    if rows and not live:
        return SKIPPED_LEFT
    return ""


def plan_sends_skipped(*, playbook_id: int) -> int:
    """How many queued messages of the plan were withheld at send time."""
    from django.db.models import Q

    from retain.care.models import Delivery, DeliveryStatus

    return Delivery.objects.filter(
        Q(campaign__playbook_id=playbook_id) | Q(template__playbook_id=playbook_id),
        status=DeliveryStatus.FAILED,
        last_error__startswith=SKIPPED,
    ).count()
