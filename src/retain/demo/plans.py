"""The demo company's measured plans, with known true effects.

Customers enter two of the shipped plans over the past year, each drawn into the control group
or the plan by the real stable hash (``retain.playbooks.assignment``). Part of the treated
customers are reached (a done follow-up task after entry), and among them extra repurchases
are planted so that the plan's true intention-to-treat effect on 90-day repurchase is exactly
``PLANTED`` in expectation: +8 points for the potential-customer plan, none for the watch plan.
The results page then has a real uplift to show, and a test checks that the estimate finds it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
from django.db.models import Exists, Min, OuterRef

from retain.customers.models import Customer
from retain.orders.models import Order, OrderLine, OrderStatus
from retain.playbooks.assignment import plan_key
from retain.playbooks.measurement import CONTROL, arm_for
from retain.playbooks.models import PlanAssignment, Playbook
from retain.tasks.models import Task, TaskKind, TaskStatus

#: plan name → true effect on the 90-day repurchase rate (intention to treat)
PLANTED = {"潜力客户激活计划": 0.08, "待观察客户低成本触达": 0.0}

#: Control-group share of the demo plans: large enough to read at the demo's size.
DEMO_HOLDOUT = 40

#: The smallest effect each demo plan is sized to detect (points of 90-day repurchase): the
#: cheap watch plan, with fewer customers, is sized for 15 points.
DEMO_MIN_EFFECT = {"潜力客户激活计划": 8, "待观察客户低成本触达": 15}

#: Share of the demo's buyers who enter the potential-customer plan; the rest are watched.
SHARE_POTENTIAL = 0.75

#: Share of the treated customers the plan actually reaches.
REACH = 0.7

DAY = dt.timedelta(days=1)


def demo_plans_simulate(*, seed: int, end: dt.datetime) -> tuple[dict[str, int], int]:
    """Enter the demo's buyers into the measured plans and plant the effects; returns how many
    customers entered each plan and how many orders were planted. ``end`` is the end of the
    demo's history."""
    rng = np.random.default_rng([seed, 17])
    plans = {p.name: p for p in Playbook.objects.filter(name__in=PLANTED)}
    if len(plans) != len(PLANTED):
        return {}, 0
    # one query: an IN list of every buyer's id passes SQLite's variable limit at 1M customers
    buyers = (
        Customer.objects.annotate(first=Min("orders__ordered_at"))
        .filter(first__lt=end - 100 * DAY)
        .values_list("id", "first", "code", "owner_id")
    )
    first: dict[int, dt.datetime] = {}
    codes: dict[int, str] = {}
    owners: dict[int, int | None] = {}
    for cid, when, code, owner in buyers.iterator(chunk_size=10_000):
        first[cid], codes[cid], owners[cid] = when, code, owner
    ids = np.array(sorted(first), dtype=np.int64)
    which = rng.random(len(ids)) < SHARE_POTENTIAL
    entered: dict[str, int] = {}
    number = 0
    for name, effect in PLANTED.items():
        playbook = plans[name]
        playbook.holdout_percent = DEMO_HOLDOUT
        playbook.min_effect_points = DEMO_MIN_EFFECT[name]
        playbook.save(update_fields=["holdout_percent", "min_effect_points"])
        members = ids[which] if effect > 0 else ids[~which]
        # entered after their first purchase, most long enough ago to be read (followed 90
        # days), some recently
        recent = rng.random(len(members)) < 0.15
        latest = np.array([max(0.0, (first[int(c)] - (end - 330 * DAY)) / DAY) for c in members])
        early = 330 - latest
        days_ago = np.where(
            recent,
            rng.integers(1, 60, len(members)),
            95 + (rng.random(len(members)) * np.maximum(0.0, early - 95)).astype(np.int64),
        )
        rows = [
            PlanAssignment(
                playbook=playbook,
                customer_id=int(cid),
                holdout=arm_for(
                    plan_key(playbook), codes[int(cid)], holdout_percent=DEMO_HOLDOUT, variants=[]
                )
                == CONTROL,
                entered_at=end - int(ago) * DAY - dt.timedelta(hours=12),
            )
            for cid, ago in zip(members, days_ago, strict=True)
        ]
        PlanAssignment.objects.bulk_create(rows, batch_size=1000)
        entered[name] = len(rows)
        treated = [a for a in rows if not a.holdout and a.entered_at <= end - 90 * DAY]
        action = playbook.actions.order_by("every_days", "id").first()
        reached = [a for a in treated if rng.random() < REACH]
        if action is not None:
            Task.objects.bulk_create(
                [
                    Task(
                        customer_id=a.customer_id,
                        kind=TaskKind.PLAYBOOK,
                        key=f"action:{action.pk}",
                        action=action,
                        owner_id=owners.get(a.customer_id) or playbook.owner_id,
                        title=action.name,
                        channel=action.channel,
                        due_on=(a.entered_at + 3 * DAY).date(),
                        status=TaskStatus.DONE,
                        created_at=a.entered_at + DAY,
                        closed_at=a.entered_at + int(rng.integers(2, 20)) * DAY,
                    )
                    for a in reached
                ],
                batch_size=1000,
            )
        if effect <= 0 or not treated:
            continue
        bought = set(
            PlanAssignment.objects.filter(playbook=playbook, holdout=False)
            .filter(
                Exists(
                    Order.objects.filter(
                        customer=OuterRef("customer_id"),
                        status=OrderStatus.PAID,
                        ordered_at__gt=OuterRef("entered_at"),
                        ordered_at__lte=OuterRef("entered_at") + 90 * DAY,
                    )
                )
            )
            .values_list("customer_id", flat=True)
        )
        base = sum(1 for a in treated if a.customer_id in bought) / len(treated)
        # reached customers who would not have bought buy with this chance: the treated
        # arm's 90-day rate then rises by ``effect`` in expectation
        chance = min(1.0, effect / (REACH * (1 - base))) if base < 1 else 0.0
        planted = []
        for a in reached:
            if a.customer_id in bought or rng.random() >= chance:
                continue
            number += 1
            planted.append(
                Order(
                    customer_id=a.customer_id,
                    number=f"PLAN-{codes[a.customer_id]}-{number}",
                    ordered_at=a.entered_at + float(rng.uniform(3, 89)) * DAY,
                    amount=Decimal(str(round(float(rng.gamma(3.0, 400.0)), 2))),
                    channel="online",
                    status=OrderStatus.PAID,
                )
            )
        Order.objects.bulk_create(planted, batch_size=1000)
        # every demo order has its line (the plan's offer), like the generated ones
        saved = Order.objects.filter(number__in=[o.number for o in planted])
        OrderLine.objects.bulk_create(
            [OrderLine(order=o, product="新品试用装", quantity=1, amount=o.amount) for o in saved],
            batch_size=1000,
        )
    return entered, number
