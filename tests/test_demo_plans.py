"""The demo company's measured plans: the results page recovers the effects planted in it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from retain.demo.generate import DemoSpec, demo_company_create
from retain.demo.plans import DEMO_HOLDOUT, PLANTED
from retain.playbooks.measurement import Verdict
from retain.playbooks.models import PlanAssignment, Playbook
from retain.playbooks.results import plan_results
from tests.conftest import AS_OF, PASSWORD

pytestmark = pytest.mark.django_db


def test_each_planted_effect_lies_within_its_interval_at_the_demo_size():
    # the size and seed of `make demo` (retain demo): what the demo's results page shows
    result = demo_company_create(spec=DemoSpec(as_of=AS_OF), password=PASSWORD)
    end = dt.datetime.combine(
        AS_OF + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone()
    )

    assert set(result.plan_entries) == set(PLANTED)
    found = {}
    for name, effect in PLANTED.items():
        measured = plan_results(playbook=Playbook.objects.get(name=name), now=end)
        (comparison,) = measured.comparisons
        difference = comparison.repurchase
        assert difference is not None
        assert difference.low <= effect <= difference.high, (name, difference)
        found[name] = comparison
        # the control group is drawn by the stable hash: about the configured share
        held = PlanAssignment.objects.filter(playbook__name=name, holdout=True).count()
        assert abs(held / result.plan_entries[name] - DEMO_HOLDOUT / 100) < 0.06
        # nobody in the control group was reached
        assert measured.control is not None and measured.control.reached == 0
    potential = found["潜力客户激活计划"]
    watch = found["待观察客户低成本触达"]
    # the uplift is real and the sample big enough to say so
    assert potential.verdict == Verdict.WORKS, (
        potential.arm,
        potential.needed,
        potential.repurchase,
    )
    assert potential.repurchase.low > 0
    assert watch.verdict == Verdict.NO_EFFECT, (watch.arm, watch.needed, watch.repurchase)
    assert 0.5 < potential.arm.reached_share < 0.7  # 70% of those followed 90 days
