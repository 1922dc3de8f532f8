"""Measured plans: eligibility, then a stable, logged arm; the control group (holdout) never
gets a task from the plan, whatever door the customer came in by."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.accounts.services import user_create
from retain.campaigns.services import campaign_save, campaign_schedule
from retain.care.models import CareTemplate, Delivery, Occasion
from retain.care.services import campaigns_send_due, care_messages_prepare
from retain.customers.services import consent_set
from retain.playbooks.assignment import plan_key
from retain.playbooks.measurement import CONTROL, arm_for
from retain.playbooks.models import PlanAssignment, Playbook, PlaybookAction, PlaybookVariant
from retain.playbooks.services import playbook_customers_add
from retain.scoring.models import CustomerScore
from retain.tasks.models import Task, TaskStatus
from retain.tasks.services import playbook_tasks_create
from tests.factories import ContactFactory, CustomerFactory, UserFactory

from .conftest import NOW
from .helpers import AS_OF, scored

pytestmark = pytest.mark.django_db

CORE = "核心客户维系计划"


def codes(playbook: Playbook, *, control: bool, n: int, prefix: str = "M") -> list[str]:
    """``n`` customer codes the stable hash puts in (or out of) the plan's control group."""
    found: list[str] = []
    i = 0
    while len(found) < n:
        code = f"{prefix}{i:04d}"
        arm = arm_for(
            plan_key(playbook), code, holdout_percent=playbook.holdout_percent, variants=[]
        )
        if (arm == CONTROL) == control:
            found.append(code)
        i += 1
    return found


def core_customer(code: str, owner, *, quadrant: str = "core", consent: bool = True):
    customer = CustomerFactory(code=code, owner=owner)
    scored(customer, quadrant=quadrant)
    if consent:
        consent_set(customer=customer, channel="phone", granted=True, source="form", at=NOW)
    return customer


@pytest.fixture
def core():
    return Playbook.objects.get(name=CORE)


@pytest.fixture
def li():
    return UserFactory(username="li")


def tasks_of(customer) -> set[str]:
    return set(
        Task.objects.filter(customer=customer, status=TaskStatus.OPEN).values_list(
            "title", flat=True
        )
    )


def test_the_control_group_gets_no_task_and_the_rest_do(core, li):
    held = [core_customer(c, li) for c in codes(core, control=True, n=3)]
    treated = [core_customer(c, li) for c in codes(core, control=False, n=5)]

    result = playbook_tasks_create(as_of=AS_OF, now=NOW)

    assert all(tasks_of(c) == set() for c in held)
    assert all(tasks_of(c) == {"每月电话回访", "每季度上门拜访"} for c in treated)
    assert result.held_out == 3
    rows = PlanAssignment.objects.filter(playbook=core)
    assert {r.customer_id for r in rows if r.holdout} == {c.pk for c in held}
    assert {r.customer_id for r in rows if not r.holdout} == {c.pk for c in treated}
    assert {r.entered_at for r in rows} == {NOW}


def test_the_arm_is_kept_across_runs_and_days(core, li):
    customers = [core_customer(c, li) for c in codes(core, control=False, n=20, prefix="S")]
    customers += [core_customer(c, li) for c in codes(core, control=True, n=4, prefix="S")]
    playbook_tasks_create(as_of=AS_OF, now=NOW)
    first = set(PlanAssignment.objects.values_list("id", "customer_id", "holdout", "entered_at"))

    core.holdout_percent = 30  # a new share applies to new entrants only
    core.save()
    for day in (1, 40):
        playbook_tasks_create(
            as_of=AS_OF + dt.timedelta(days=day), now=NOW + dt.timedelta(days=day)
        )

    assert (
        set(PlanAssignment.objects.values_list("id", "customer_id", "holdout", "entered_at"))
        == first
    )


def test_eligibility_comes_before_assignment(core):
    # nobody to do it (no owner, the plan has none) and no consent: never drawn into a group
    orphan = core_customer(codes(core, control=False, n=1, prefix="O")[0], None)
    core.owner = None
    core.save()

    playbook_tasks_create(as_of=AS_OF, now=NOW)

    assert not PlanAssignment.objects.filter(customer=orphan).exists()
    assert tasks_of(orphan) == set()


def test_leaving_the_target_closes_the_assignment_and_coming_back_keeps_the_arm(core, li):
    customer = core_customer(codes(core, control=True, n=1, prefix="L")[0], li)
    playbook_tasks_create(as_of=AS_OF, now=NOW)

    CustomerScore.objects.filter(customer=customer).update(quadrant="watch")
    later = NOW + dt.timedelta(days=1)
    playbook_tasks_create(as_of=AS_OF + dt.timedelta(days=1), now=later)
    CustomerScore.objects.filter(customer=customer).update(quadrant="core")
    back = NOW + dt.timedelta(days=2)
    playbook_tasks_create(as_of=AS_OF + dt.timedelta(days=2), now=back)

    rows = list(
        PlanAssignment.objects.filter(customer=customer, playbook=core)
        .order_by("entered_at")
        .values_list("holdout", "entered_at", "left_at")
    )
    assert rows == [(True, NOW, later), (True, back, None)]
    assert tasks_of(customer) == set()


def test_a_holdout_customer_added_by_hand_gets_no_task(core, li):
    marketing = user_create(username="mk", password="a-long-test-password", role="marketing")
    picked = core_customer(codes(core, control=True, n=1, prefix="P")[0], li, quadrant="")
    other = core_customer(codes(core, control=False, n=1, prefix="P")[0], li, quadrant="")

    playbook_customers_add(playbook=core, customer_ids=[picked.pk, other.pk], actor=marketing)
    playbook_tasks_create(as_of=AS_OF, now=NOW)

    assert tasks_of(picked) == set()
    assert tasks_of(other) == {"每月电话回访", "每季度上门拜访"}
    assert PlanAssignment.objects.get(customer=picked, playbook=core).holdout


def test_an_open_task_of_a_customer_who_turns_out_held_out_is_withdrawn(core, li):
    customer = core_customer(codes(core, control=True, n=1, prefix="W")[0], li)
    core.holdout_percent = 0
    core.save()
    playbook_tasks_create(as_of=AS_OF, now=NOW)
    assert tasks_of(customer)  # no control group then: the customer got the plan
    PlanAssignment.objects.all().delete()  # the plan is restarted with a control group

    core.holdout_percent = 10
    core.save()
    playbook_tasks_create(as_of=AS_OF + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1))

    assert tasks_of(customer) == set()
    assert Task.objects.filter(customer=customer, status=TaskStatus.WITHDRAWN).count() == 2


def test_each_variant_gets_only_its_own_actions(core, li):
    a = PlaybookVariant.objects.create(playbook=core, name="A", share=1)
    b = PlaybookVariant.objects.create(playbook=core, name="B", share=1)
    PlaybookAction.objects.filter(playbook=core, channel="phone").update(variant=a)
    PlaybookAction.objects.filter(playbook=core, channel="visit").update(variant=b)
    customers = [core_customer(f"V{i:03d}", li) for i in range(30)]

    playbook_tasks_create(as_of=AS_OF, now=NOW)

    arms = dict(PlanAssignment.objects.values_list("customer_id", "variant_id"))
    held = set(PlanAssignment.objects.filter(holdout=True).values_list("customer_id", flat=True))
    for c in customers:
        expected = (
            set()
            if c.pk in held
            else {"每月电话回访"}
            if arms[c.pk] == a.pk
            else {"每季度上门拜访"}
        )
        assert tasks_of(c) == expected, c.code
    assert {arms[c.pk] for c in customers if c.pk not in held} == {a.pk, b.pk}


def company_with_email(code: str, owner, *, quadrant: str = "core"):
    customer = core_customer(code, owner, quadrant=quadrant)
    ContactFactory(customer=customer, email=f"{code.lower()}@example.com", is_primary=True)
    consent_set(customer=customer, channel="email", granted=True, source="form", at=NOW)
    return customer


def test_a_campaign_of_the_plan_skips_its_control_group(core, li):
    mk = user_create(username="mk", password="a-long-test-password", role="marketing")
    held = [company_with_email(c, li) for c in codes(core, control=True, n=2, prefix="E")]
    treated = [company_with_email(c, li) for c in codes(core, control=False, n=3, prefix="E")]
    playbook_tasks_create(as_of=AS_OF, now=NOW)  # the daily run draws the groups
    fields = {
        "name": "核心客户专属优惠",
        "kind": "promotion",
        "starts_on": NOW.date(),
        "segment": core.segment,
        "channel": "email",
        "subject": "专属优惠",
        "body": "{{ name }}您好。退订：{{ unsubscribe_url }}",
    }
    of_plan = campaign_save(campaign=None, fields={**fields, "playbook": core}, actor=mk)
    outside = campaign_save(campaign=None, fields={**fields, "name": "全体通知"}, actor=mk)
    for campaign in (of_plan, outside):
        campaign_schedule(campaign=campaign, send_at=NOW, actor=mk)

    result = campaigns_send_due(now=NOW + dt.timedelta(minutes=5))

    reached = set(Delivery.objects.filter(campaign=of_plan).values_list("customer_id", flat=True))
    assert reached == {c.pk for c in treated}
    assert result.held_out == 2
    # a campaign that is not part of the plan is not the plan's to withhold
    everyone = set(Delivery.objects.filter(campaign=outside).values_list("customer_id", flat=True))
    assert everyone == {c.pk for c in held + treated}


def test_a_greeting_of_the_plan_skips_its_control_group(core, li):
    held = [company_with_email(c, li) for c in codes(core, control=True, n=2, prefix="G")]
    treated = [company_with_email(c, li) for c in codes(core, control=False, n=2, prefix="G")]
    playbook_tasks_create(as_of=AS_OF, now=NOW)
    CareTemplate.objects.create(
        name="核心客户节日问候",
        occasion=Occasion.CUSTOM,
        custom_month=AS_OF.month,
        custom_day=AS_OF.day,
        subject="问候",
        body="{{ name }}您好",
        playbook=core,
    )

    result = care_messages_prepare(on=AS_OF, now=NOW)

    greeted = set(
        Delivery.objects.filter(template__name="核心客户节日问候").values_list(
            "customer_id", flat=True
        )
    )
    assert greeted == {c.pk for c in treated}
    assert result.held_out == 2
    assert not Delivery.objects.filter(customer__in=held, template__playbook=core).exists()


def test_a_queued_message_of_the_plan_is_rechecked_when_it_is_sent(core, li, smtp_server):
    """Prepared for three treated customers; by send time one is in the control group and
    one has left the plan's target: only the third gets it (real SMTP), the two are skipped
    and counted, on the plan's page and in the delivery log."""
    from django.test import Client

    from retain.care.models import DeliveryStatus
    from retain.care.tasks import delivery_send_job
    from retain.playbooks.assignment import SKIPPED_HOLDOUT, SKIPPED_LEFT, plan_sends_skipped

    mk = user_create(username="mk", password="a-long-test-password", role="marketing")
    drawn, leaving, staying = (
        company_with_email(c, li) for c in codes(core, control=False, n=3, prefix="Q")
    )
    playbook_tasks_create(as_of=AS_OF, now=NOW)
    campaign = campaign_save(
        campaign=None,
        fields={
            "name": "核心客户专属优惠",
            "kind": "promotion",
            "starts_on": NOW.date(),
            "segment": core.segment,
            "channel": "email",
            "subject": "专属优惠",
            "body": "{{ name }}您好。退订：{{ unsubscribe_url }}",
            "playbook": core,
        },
        actor=mk,
    )
    campaign_schedule(campaign=campaign, send_at=NOW, actor=mk)
    campaigns_send_due(now=NOW + dt.timedelta(minutes=5))
    queued = {d.customer_id: d for d in Delivery.objects.filter(campaign=campaign)}
    assert set(queued) == {drawn.pk, leaving.pk, staying.pk}
    # since then: one is in the control group (re-drawn), one left the segment
    PlanAssignment.objects.filter(customer=drawn, playbook=core).update(holdout=True)
    CustomerScore.objects.filter(customer=leaving).update(quadrant="watch")
    later = NOW + dt.timedelta(days=1)
    playbook_tasks_create(as_of=AS_OF + dt.timedelta(days=1), now=later)

    for customer in (drawn, leaving, staying):
        delivery_send_job(delivery_id=queued[customer.pk].pk)  # the care message job

    mail = smtp_server.wait_for(1)
    assert [m["X-Rcpt-To"] for m in mail] == [staying.contacts.get().email]
    outcome = {
        d.customer_id: (d.status, d.last_error, d.sent_at is not None)
        for d in Delivery.objects.filter(campaign=campaign)
    }
    assert outcome == {
        drawn.pk: (DeliveryStatus.FAILED, SKIPPED_HOLDOUT, False),
        leaving.pk: (DeliveryStatus.FAILED, SKIPPED_LEFT, False),
        staying.pk: (DeliveryStatus.SENT, "", True),
    }
    assert plan_sends_skipped(playbook_id=core.pk) == 2
    manager = user_create(username="mgr", password="a-long-test-password", role="manager")
    client = Client(headers={"accept-language": "en"})
    client.force_login(manager)
    page = client.get(f"/playbooks/{core.pk}/results/").content.decode()
    log = client.get(f"/care/deliveries/?campaign={campaign.pk}").content.decode()
    assert "2 queued messages of the plan were withheld at send time" in page
    assert "of which 2 withheld at send time" in log


def test_a_greeting_of_the_plan_to_a_customer_out_of_its_segment_is_not_sent(core, li, smtp_server):
    """A greeting of the plan with its own segment: the customer left that segment between
    preparing and sending (no assignment change): skipped; a greeting outside any plan is
    sent whatever happened."""
    from retain.care.services import delivery_send
    from retain.playbooks.assignment import SKIPPED_LEFT
    from retain.playbooks.models import Segment

    customer = company_with_email(codes(core, control=False, n=1, prefix="W")[0], li)
    playbook_tasks_create(as_of=AS_OF, now=NOW)
    segment = Segment.objects.create(
        name="核心问候", conditions={"all": [{"field": "quadrant", "op": "eq", "value": "core"}]}
    )
    for name, plan in (("计划问候", core), ("普通问候", None)):
        CareTemplate.objects.create(
            name=name,
            occasion=Occasion.CUSTOM,
            custom_month=AS_OF.month,
            custom_day=AS_OF.day,
            subject="问候",
            body="{{ name }}您好",
            segment=segment,
            playbook=plan,
        )
    care_messages_prepare(on=AS_OF, now=NOW)
    CustomerScore.objects.filter(customer=customer).update(quadrant="basic")

    for d in Delivery.objects.filter(customer=customer):
        delivery_send(delivery_id=d.pk, now=NOW)

    sent = dict(
        Delivery.objects.filter(customer=customer).values_list("template__name", "last_error")
    )
    assert sent == {"计划问候": SKIPPED_LEFT, "普通问候": ""}
    assert len(smtp_server.wait_for(1)) == 1
