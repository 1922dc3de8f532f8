"""Playbook editing: the ``playbook_update`` service (plain arguments, several actions per
save, audited) and the edit page on the seed's default plans."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from retain.audit.models import AuditEvent
from retain.playbooks.models import Playbook, PlaybookAction, Segment
from retain.playbooks.services import playbook_update

pytestmark = pytest.mark.django_db


def test_playbook_update_saves_several_actions_deletes_the_rest_and_audits(staff):
    plan = Playbook.objects.get(name="普通客户年度关怀")
    old = list(plan.actions.all())
    segment = Segment.objects.create(
        name="普通", conditions={"all": [{"field": "quadrant", "op": "eq", "value": "basic"}]}
    )

    playbook_update(
        playbook=plan,
        name="普通客户关怀",
        description="每两周邮件，每季度电话",
        segment=segment,
        owner=staff["sales1"],
        actions=[
            {"name": "双周邮件", "every_days": 14, "channel": "email", "template": "您好"},
            {
                "name": "季度电话",
                "every_days": 91,
                "channel": "phone",
                "owner_rule": "fixed_user",
                "fixed_user": staff["sales2"],
            },
        ],
        actor=staff["marketing"],
    )

    plan.refresh_from_db()
    assert (plan.name, plan.segment, plan.owner) == ("普通客户关怀", segment, staff["sales1"])
    assert list(plan.actions.values_list("name", "every_days", "channel")) == [
        ("双周邮件", 14, "email"),
        ("季度电话", 91, "phone"),
    ]
    assert not PlaybookAction.objects.filter(pk__in=[a.pk for a in old]).exists()
    events = AuditEvent.objects.filter(object_type__startswith="playbooks.")
    assert sorted(events.values_list("object_type", "action")) == sorted(
        [("playbooks.playbook", "update")]
        + [("playbooks.playbookaction", "create")] * 2
        + [("playbooks.playbookaction", "delete")] * len(old)
    )


def test_a_bad_action_names_its_row_and_nothing_is_saved(staff):
    plan = Playbook.objects.get(name="普通客户年度关怀")
    before = list(plan.actions.values_list("pk", flat=True))

    with pytest.raises(ValidationError, match=r"actions\[1\]"):
        playbook_update(
            playbook=plan,
            name=plan.name,
            segment=plan.segment,
            actions=[
                {"name": "好", "every_days": 30, "channel": "phone"},
                {
                    "name": "坏",
                    "every_days": 30,
                    "channel": "phone",
                    "owner_rule": "team_round_robin",
                },
            ],
            actor=staff["marketing"],
        )
    assert list(plan.actions.values_list("pk", flat=True)) == before
    with pytest.raises(PermissionDenied):
        playbook_update(
            playbook=plan, name="x", segment=plan.segment, actions=[], actor=staff["sales1"]
        )


def test_the_edit_page_saves_a_default_plan_through_the_service(staff, login):
    plan = Playbook.objects.get(name="核心客户维系计划")
    actions = list(plan.actions.order_by("pk"))
    client = login("marketing")
    page = client.get(reverse("playbook-edit", args=[plan.pk])).content.decode()
    assert 'list="cadences"' in page and 'label="every quarter"' in page
    data = {
        "name": plan.name,
        "description": plan.description,
        "segment": plan.segment_id,
        "owner": "",
        "active": "on",
        "actions-TOTAL_FORMS": str(len(actions) + 1),
        "actions-INITIAL_FORMS": str(len(actions)),
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "1000",
    }
    for i, a in enumerate(actions):
        data.update(
            {
                f"actions-{i}-id": a.pk,
                f"actions-{i}-playbook": plan.pk,
                f"actions-{i}-name": a.name,
                f"actions-{i}-every_days": 14 if i == 0 else a.every_days,
                f"actions-{i}-channel": a.channel,
                f"actions-{i}-template": a.template,
                f"actions-{i}-owner_rule": a.owner_rule,
                f"actions-{i}-active": "on",
            }
        )
    n = len(actions)
    data.update(
        {
            f"actions-{n}-name": "每季度新品邮件",
            f"actions-{n}-every_days": "91",
            f"actions-{n}-channel": "email",
            f"actions-{n}-owner_rule": "account_owner",
            f"actions-{n}-active": "on",
        }
    )

    response = client.post(reverse("playbook-edit", args=[plan.pk]), data)

    assert response.status_code == 302
    assert plan.actions.get(pk=actions[0].pk).every_days == 14
    assert plan.actions.get(name="每季度新品邮件").every_days == 91
    assert (
        AuditEvent.objects.filter(
            object_type="playbooks.playbookaction", action="create", actor=staff["marketing"]
        ).count()
        == 1
    )
