"""Tag management: groups and tags created, renamed (segments follow), merged, retired,
with customer counts; an automatic rule edited in the page with a preview of who would
gain or lose the tag."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.customers.bulk import customers_tag
from retain.playbooks.models import Segment
from retain.scoring.models import CustomerScore, ScoringRun, TagRule
from retain.tags.models import CustomerTag, Tag
from retain.tags.services import (
    tag_create,
    tag_group_create,
    tag_merge,
    tag_rename,
    tag_retire,
)
from tests.conftest import AS_OF, PASSWORD
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def mk():
    return user_create(username="mk", password=PASSWORD, role="marketing")


def test_create_rename_merge_retire_with_counts_and_segments_following(mk):
    group = tag_group_create(name="需求", kind="need", actor=mk)
    quality = tag_create(group=group, name="品质优先", actor=mk)
    price = tag_create(group=group, name="价格敏感", actor=mk)
    cheap = tag_create(group=group, name="低价", actor=mk)
    customers = [CustomerFactory(code=f"K{i}") for i in range(4)]
    customers_tag(customer_ids=[c.pk for c in customers[:3]], tag=quality, actor=mk)
    customers_tag(customer_ids=[customers[0].pk, customers[3].pk], tag=cheap, actor=mk)
    customers_tag(customer_ids=[customers[0].pk], tag=price, actor=mk)
    segment = Segment.objects.create(
        name="低价客户", conditions={"all": [{"field": "tag", "op": "eq", "value": "低价"}]}
    )

    quality = tag_rename(tag=quality, name="质量优先", actor=mk)
    moved = tag_merge(source=cheap, target=price, actor=mk)
    tag_retire(tag=quality, actor=mk)

    assert moved == 1  # K3; K0 had both
    assert sorted(
        CustomerTag.objects.filter(tag=price).values_list("customer__code", flat=True)
    ) == ["K0", "K3"]
    assert not Tag.objects.filter(name="低价").exists()
    segment.refresh_from_db()
    assert segment.conditions == {"all": [{"field": "tag", "op": "eq", "value": "价格敏感"}]}
    with pytest.raises(ValidationError):
        customers_tag(customer_ids=[customers[3].pk], tag=Tag.objects.get(pk=quality.pk), actor=mk)
    assert AuditEvent.objects.filter(object_type="tags.tag").count() >= 5
    page = Client()
    page.login(username="mk", password=PASSWORD)
    html = page.get(reverse("tags"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = html.split('data-tag="质量优先"')[1].split("</tr>")[0]
    assert '<td class="count">3</td>' in row and "retired" in row


def test_service_may_not_manage_tags():
    kefu = user_create(username="kefu", password=PASSWORD, role="service")
    with pytest.raises(PermissionDenied):
        tag_group_create(name="x", kind="custom", actor=kefu)


def test_rule_preview_shows_who_gains_and_loses_then_saves(mk):
    group = tag_group_create(name="价值", kind="behaviour", actor=mk)
    tag = tag_create(group=group, name="高价值", actor=mk)
    run = ScoringRun.objects.create(as_of=AS_OF, status="done", started_at=NOW, customers=3)
    for code, spend in (("A", 5000), ("B", 300), ("C", 9000)):
        customer = CustomerFactory(code=code, name=f"客户{code}")
        CustomerScore.objects.create(customer=customer, run=run, as_of=AS_OF, total_spend=spend)
    CustomerTag.objects.create(
        customer=CustomerScore.objects.get(total_spend=300).customer,
        tag=tag,
        automatic=True,
        tagged_at=NOW,
    )
    client = Client()
    client.login(username="mk", password=PASSWORD)
    params = {"f": ["total_spend"], "o": ["gte"], "v": ["1000"], "mode": "all", "active": "1"}

    preview = client.get(reverse("tag-rule", args=[tag.pk]), params).content.decode()
    saved = client.post(reverse("tag-rule", args=[tag.pk]), params)

    assert 'id="rule-gain">2<' in preview and "客户A, 客户C" in preview
    assert 'id="rule-lose">1<' in preview and "客户B" in preview
    assert saved.status_code == 302
    rule = TagRule.objects.get(tag=tag)
    assert rule.conditions == {"all": [{"field": "total_spend", "op": "gte", "value": 1000.0}]}
    assert Tag.objects.get(pk=tag.pk).automatic
