"""A plan's control group and variants edited on the playbook's own page: one service
validates them (shares, holdout 0-50%), audits every change and keeps measured history."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from retain.audit.models import AuditEvent
from retain.playbooks.models import PlanAssignment, Playbook, PlaybookVariant
from retain.playbooks.services import plan_arms_update, plan_arms_validate
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PLAN = "普通客户年度关怀"


@pytest.fixture
def plan(db):
    return Playbook.objects.get(name=PLAN)


def _variants(plan):
    return list(plan.variants.order_by("id").values_list("name", "share"))


def test_the_service_creates_changes_and_deletes_variants_and_audits(plan, staff):
    plan_arms_update(
        playbook=plan,
        holdout_percent=20,
        variants=[{"name": "A 电话", "share": 1}, {"name": "B 邮件", "share": 2}],
        actor=staff["marketing"],
    )
    a, _b = plan.variants.order_by("id")

    plan_arms_update(
        playbook=plan,
        holdout_percent=20,
        variants=[{"id": a.pk, "name": "A 电话", "share": 3}],
        actor=staff["marketing"],
    )

    plan.refresh_from_db()
    assert plan.holdout_percent == 20
    assert _variants(plan) == [("A 电话", 3)]
    events = AuditEvent.objects.filter(object_type__in=["playbooks.playbookvariant"])
    assert sorted(events.values_list("action", flat=True)) == [
        "create",
        "create",
        "delete",
        "update",
    ]
    holdout = AuditEvent.objects.get(object_type="playbooks.playbook", object_id=str(plan.pk))
    assert (holdout.before, holdout.after) == ({"holdout_percent": 10}, {"holdout_percent": 20})


@pytest.mark.parametrize(
    ("holdout", "variants", "message"),
    [
        (51, [], "between 0% and 50%"),
        (-1, [], "between 0% and 50%"),
        (10, [{"name": "A", "share": 0}], "from 1 to 100"),
        (10, [{"name": "A", "share": 101}], "from 1 to 100"),
        (10, [{"name": "A", "share": 1}, {"name": "A", "share": 1}], "two variants are named A"),
        (10, [{"name": " ", "share": 1}], "needs a name"),
    ],
)
def test_bad_arms_are_refused_and_nothing_changes(plan, staff, holdout, variants, message):
    with pytest.raises(ValidationError, match=message):
        plan_arms_update(
            playbook=plan, holdout_percent=holdout, variants=variants, actor=staff["manager"]
        )

    plan.refresh_from_db()
    assert (plan.holdout_percent, _variants(plan)) == (10, [])
    assert not AuditEvent.objects.filter(object_type__startswith="playbooks.").exists()


def test_the_holdout_of_the_playbook_form_goes_through_the_same_check(plan, staff):
    from retain.playbooks.services import playbook_update

    with pytest.raises(ValidationError, match="between 0% and 50%"):
        playbook_update(
            playbook=plan,
            name=plan.name,
            segment=plan.segment,
            holdout_percent=60,
            actions=[],
            actor=staff["manager"],
        )
    plan_arms_validate(holdout_percent=0, variants=[])  # no control group: allowed


def test_a_variant_with_customers_is_never_deleted(plan, staff):
    variant = PlaybookVariant.objects.create(playbook=plan, name="A", share=1)
    PlanAssignment.objects.create(
        playbook=plan,
        customer=CustomerFactory(),
        holdout=False,
        variant=variant,
        entered_at=timezone.now(),
    )

    with pytest.raises(ValidationError, match="has customers assigned"):
        plan_arms_update(playbook=plan, holdout_percent=10, variants=[], actor=staff["manager"])

    assert PlaybookVariant.objects.filter(pk=variant.pk).exists()


@pytest.mark.parametrize("role", ["sales1", "analyst", "service"])
def test_only_who_changes_playbooks_edits_the_arms(plan, staff, role):
    with pytest.raises(PermissionDenied):
        plan_arms_update(
            playbook=plan,
            holdout_percent=10,
            variants=[{"name": "A", "share": 1}],
            actor=staff[role],
        )
    assert _variants(plan) == []


def _post(**rows):
    data = {
        "holdout_percent": rows.pop("holdout", "10"),
        "variants-TOTAL_FORMS": str(len(rows["variants"])),
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows["variants"]):
        for key, value in row.items():
            data[f"variants-{i}-{key}"] = value
    return data


def test_the_page_edits_the_variants_with_htmx(plan, staff, login):
    client = login("marketing")
    url = reverse("plan-arms", args=[plan.pk])

    page = client.get(reverse("playbook-edit", args=[plan.pk])).content.decode()
    saved = client.post(
        url,
        _post(
            holdout="25",
            variants=[{"name": "A", "share": "1"}, {"name": "B", "share": "3"}, {"name": ""}],
        ),
        headers={"HX-Request": "true"},
    )
    refused = client.post(
        url,
        _post(holdout="70", variants=[{"name": "C", "share": "1"}]),
        headers={"HX-Request": "true"},
    )

    assert 'id="arms-form"' in page
    html = saved.content.decode()
    assert saved.status_code == 200 and 'id="arms-saved"' in html
    assert "18.8%" in html and "56.3%" in html  # 75% treated split 1 : 3
    plan.refresh_from_db()
    assert (plan.holdout_percent, _variants(plan)) == (25, [("A", 1), ("B", 3)])
    assert refused.status_code == 200 and "arms-saved" not in refused.content.decode()
    assert _variants(plan) == [("A", 1), ("B", 3)]
    a = plan.variants.get(name="A")
    deleted = client.post(
        url,
        _post(
            holdout="25",
            variants=[
                {"id": str(a.pk), "name": "A", "share": "1", "DELETE": "on"},
                {"id": str(plan.variants.get(name="B").pk), "name": "B", "share": "2"},
            ],
        ),
        headers={"HX-Request": "true"},
    )
    assert deleted.status_code == 200
    assert _variants(plan) == [("B", 2)]


def test_an_action_runs_for_one_variant_of_its_own_plan(plan, staff, login):
    variant = PlaybookVariant.objects.create(playbook=plan, name="A", share=1)
    other = PlaybookVariant.objects.create(
        playbook=Playbook.objects.exclude(pk=plan.pk).first(), name="X", share=1
    )
    from retain.playbooks.services import playbook_update

    playbook_update(
        playbook=plan,
        name=plan.name,
        segment=plan.segment,
        actions=[{"name": "A 电话", "every_days": 30, "channel": "phone", "variant": variant}],
        actor=staff["manager"],
    )
    assert list(plan.actions.values_list("variant__name", flat=True)) == ["A"]
    with pytest.raises(ValidationError, match="not one of this playbook's"):
        playbook_update(
            playbook=plan,
            name=plan.name,
            segment=plan.segment,
            actions=[{"name": "X 电话", "every_days": 30, "channel": "phone", "variant": other}],
            actor=staff["manager"],
        )
    html = login("manager").get(reverse("playbook-edit", args=[plan.pk])).content.decode()
    select = re.search(r'<select name="actions-0-variant".*?</select>', html, re.S).group(0)
    assert f'<option value="{variant.pk}"' in select and f'value="{other.pk}"' not in select


def test_the_admin_shows_the_variants_but_does_not_edit_them(plan, staff, client):
    variant = PlaybookVariant.objects.create(playbook=plan, name="A 电话", share=2)
    client.force_login(staff["admin"])

    html = client.get(reverse("admin:playbooks_playbook_change", args=[plan.pk])).content.decode()

    assert "A 电话" in html
    assert 'name="variants-0-share"' not in html and 'name="variants-0-name"' not in html
    variant.refresh_from_db()
    assert variant.share == 2
