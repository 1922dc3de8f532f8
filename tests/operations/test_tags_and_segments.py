"""Automatic tag rules and saved segments (AND / OR over scores, tags, owner, region)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from retain.playbooks.models import Segment
from retain.playbooks.selectors import segment_members
from retain.scoring.models import TagRule
from retain.scoring.services import tag_rules_apply
from retain.tags.models import CustomerTag, Tag, TagGroup
from tests.factories import CustomerFactory, UserFactory

from .conftest import NOW
from .helpers import scored

pytestmark = pytest.mark.django_db


def tagged(tag_name: str) -> set[tuple[str, bool]]:
    return set(
        CustomerTag.objects.filter(tag__name=tag_name).values_list("customer__code", "automatic")
    )


def test_rules_tag_matching_customers_and_untag_those_who_no_longer_match():
    rich, poor = CustomerFactory(code="R1"), CustomerFactory(code="P1")
    scored(rich, value_tier="high")
    scored(poor, value_tier="low")

    added, removed = tag_rules_apply(now=NOW)

    assert tagged("高价值") == {("R1", True)}
    assert (added, removed) >= (1, 0)
    # the customer drops to low value: the automatic tag goes
    rich.score.value_tier = "low"
    rich.score.save()
    tag_rules_apply(now=NOW)
    assert tagged("高价值") == set()


def test_manual_tags_are_never_touched():
    by_hand = CustomerFactory(code="M1")
    scored(by_hand, value_tier="low")
    marketing = UserFactory(username="mk", role="marketing")
    tag = Tag.objects.get(name="高价值")
    CustomerTag.objects.create(
        customer=by_hand, tag=tag, tagged_by=marketing, automatic=False, tagged_at=NOW
    )

    tag_rules_apply(now=NOW)

    assert tagged("高价值") == {("M1", False)}


def test_a_rule_switched_off_removes_its_automatic_tags():
    c = CustomerFactory(code="O1")
    scored(c, order_count=1)
    tag_rules_apply(now=NOW)
    assert tagged("一次性购买") == {("O1", True)}

    TagRule.objects.filter(tag__name="一次性购买").update(active=False)
    tag_rules_apply(now=NOW)

    assert tagged("一次性购买") == set()


def test_complained_rule_is_an_or_of_open_and_recent_complaints():
    a, b, c = CustomerFactory(code="A"), CustomerFactory(code="B"), CustomerFactory(code="C")
    scored(a, open_complaints=1)
    scored(b, recent_complaints=2)
    scored(c)

    tag_rules_apply(now=NOW)

    assert tagged("近期投诉") == {("A", True), ("B", True)}


def _tag(name: str, group: str = "行业") -> Tag:
    g, _ = TagGroup.objects.get_or_create(name=group, defaults={"kind": "industry"})
    return Tag.objects.get_or_create(group=g, name=name)[0]


def _put(customer, tag: Tag) -> None:
    CustomerTag.objects.create(customer=customer, tag=tag, tagged_at=NOW)


def test_segment_and_of_two_tags_needs_both():
    manufacturing, quality = _tag("制造业"), _tag("品质优先", "需求")
    both, one = CustomerFactory(code="BOTH"), CustomerFactory(code="ONE")
    _put(both, manufacturing)
    _put(both, quality)
    _put(one, manufacturing)
    segment = Segment(
        name="制造业+品质优先",
        conditions={
            "all": [
                {"field": "tag", "op": "eq", "value": "制造业"},
                {"field": "tag", "op": "eq", "value": "品质优先"},
            ]
        },
    )

    assert set(segment_members(segment=segment).values_list("code", flat=True)) == {"BOTH"}


def test_segment_or_group_inside_and_group():
    east = UserFactory(username="east1")
    a = CustomerFactory(code="A", region="华东", owner=east)
    b = CustomerFactory(code="B", region="华南", owner=east)
    c = CustomerFactory(code="C", region="华东")
    for customer, quadrant, risk in (
        (a, "core", "low"),
        (b, "potential", "high"),
        (c, "core", "high"),
    ):
        scored(customer, quadrant=quadrant, churn_risk=risk)
    segment = Segment(
        name="east1 valuable",
        conditions={
            "all": [
                {"field": "owner", "op": "eq", "value": "east1"},
                {
                    "any": [
                        {"field": "region", "op": "eq", "value": "华东"},
                        {"field": "churn_risk", "op": "eq", "value": "high"},
                    ]
                },
            ]
        },
    )

    assert set(segment_members(segment=segment).values_list("code", flat=True)) == {"A", "B"}


def test_a_bad_condition_is_named_precisely():
    segment = Segment(
        name="bad",
        conditions={
            "all": [
                {"field": "quadrant", "op": "eq", "value": "core"},
                {"field": "colour", "op": "eq", "value": 1},
            ]
        },
    )

    with pytest.raises(
        ValidationError, match=r"conditions\.all\[1\]\.field: unknown field 'colour'"
    ):
        segment.full_clean()
