"""Build score rows directly (without the engine) for rule and segment tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from retain.scoring.models import CustomerScore, RunStatus, ScoringRun

from .conftest import NOW

AS_OF = dt.date(2026, 11, 1)


def scored(customer: Any, **fields: Any) -> CustomerScore:
    run = ScoringRun.objects.filter(status=RunStatus.DONE).first() or ScoringRun.objects.create(
        as_of=AS_OF, status=RunStatus.DONE, started_at=NOW
    )
    values = {
        "as_of": AS_OF,
        "quadrant": "watch",
        "lifecycle_stage": "returning",
        "churn_risk": "low",
        "value_tier": "low",
        "order_count": 2,
        **fields,
    }
    return CustomerScore.objects.create(customer=customer, run=run, **values)
