"""Segment explorer (conditions, live figures, save) and a playbook's results page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from retain.audit.models import AuditEvent
from retain.playbooks.models import Playbook, PlaybookAction, Segment
from retain.scoring.models import CustomerScore
from retain.tasks.models import Task
from tests.conftest import AS_OF
from tests.factories import CustomerFactory, FollowUpFactory, OrderFactory, aware

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(small_run, staff):
    """Five scored customers: two potential (one high risk), one core, two watch."""
    rows = [
        ("T1", "potential", "high", 800.0, 3),
        ("T2", "potential", "low", 600.0, 1),
        ("T3", "core", "low", 2000.0, 5),
        ("T4", "watch", "high", 50.0, 1),
        ("T5", "watch", "low", 50.0, 2),
    ]
    out = {}
    for code, quadrant, risk, spend, orders in rows:
        customer = CustomerFactory(code=code, owner=staff["sales1"])
        CustomerScore.objects.create(
            customer=customer,
            run=small_run,
            as_of=AS_OF,
            quadrant=quadrant,
            lifecycle_stage="returning",
            churn_risk=risk,
            total_spend=spend,
            order_count=orders,
            p_alive=0.5,
        )
        out[code] = customer
    return out


def test_explorer_shows_size_revenue_and_members_of_the_conditions(scored, login):
    response = login("marketing").get(
        reverse("segments"), {"f": ["quadrant"], "o": ["eq"], "v": ["potential"], "mode": "all"}
    )

    html = response.content.decode()
    assert 'id="segment-size">2<' in html
    assert "¥1,400" in html  # spend of the two
    assert "40.0% of all" in html  # 2 of 5 customers
    assert "40.0%" in html and "50.0%" in html  # revenue share 1400/3500; high risk 1 of 2
    assert html.count('href="/customers/T') == 2


def test_explorer_any_mode_and_lists(scored, login):
    response = login("marketing").get(
        reverse("segments"),
        {"f": ["quadrant", "churn_risk"], "o": ["eq", "in"], "v": ["core", "high"], "mode": "any"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert 'id="segment-size">3<' in html  # T1, T3, T4


def test_explorer_names_a_bad_number(scored, login):
    response = login("marketing").get(
        reverse("segments"), {"f": ["total_spend"], "o": ["gte"], "v": ["lots"]}
    )

    assert "Spend: &#x27;lots&#x27; is not a number" in response.content.decode()


def test_saved_segment_is_audited_and_offered_to_playbooks(scored, login):
    client = login("marketing")

    response = client.post(
        reverse("segment-save"),
        {
            "name": "高风险潜力客户",
            "f": ["quadrant", "churn_risk"],
            "o": ["eq", "eq"],
            "v": ["potential", "high"],
            "mode": "all",
        },
    )

    segment = Segment.objects.get(name="高风险潜力客户")
    assert response.status_code == 302
    assert segment.conditions == {
        "all": [
            {"field": "quadrant", "op": "eq", "value": "potential"},
            {"field": "churn_risk", "op": "eq", "value": "high"},
        ]
    }
    assert AuditEvent.objects.filter(object_type="playbooks.segment", action="create").count() == 1
    form = client.get(reverse("playbook-new")).content.decode()
    assert "高风险潜力客户" in form


def test_sales_may_not_save_segments(scored, login):
    before = Segment.objects.count()

    response = login("sales1").post(
        reverse("segment-save"), {"name": "x", "f": ["quadrant"], "o": ["eq"], "v": ["core"]}
    )

    assert response.status_code == 403
    assert Segment.objects.count() == before


def test_playbook_results_count_tasks_reach_coverage_and_repurchase(scored, staff, login):
    segment = Segment.objects.create(
        name="潜力测试",
        conditions={"all": [{"field": "quadrant", "op": "eq", "value": "potential"}]},
    )
    playbook = Playbook.objects.create(name="潜力激活测试", segment=segment, owner=staff["sales1"])
    action = PlaybookAction.objects.create(
        playbook=playbook, name="电话", every_days=14, channel="phone"
    )
    # T1: task done, bought afterwards; T2: open task; T3 (core) is outside the segment.
    for code, status in (("T1", "done"), ("T2", "open")):
        Task.objects.create(
            customer=scored[code],
            kind="playbook",
            key=f"action:{action.pk}",
            action=action,
            owner=staff["sales1"],
            title="电话",
            due_on=dt.date(2026, 10, 20),
            status=status,
            created_at=aware(2026, 10, 15, 9),
        )
    OrderFactory(customer=scored["T1"], ordered_at=aware(2026, 10, 25, 9), amount=Decimal(300))
    FollowUpFactory(customer=scored["T1"], occurred_at=aware(2026, 11, 1, 9))

    html = login("manager").get(reverse("playbook-results", args=[playbook.pk])).content.decode()

    assert 'data-figure="members">2<' in html
    assert 'data-figure="created">2<' in html
    assert 'data-figure="done">1<' in html
    assert 'data-figure="reached">1<' in html
    assert 'data-figure="coverage">50.0%<' in html
    # no customer entered through the daily run: nothing measured, and it says so
    assert 'data-verdict="empty"' in html


def test_playbook_results_counts_are_cached_until_a_follow_up_is_logged(scored, staff, login):
    from retain.interactions.services import followup_log

    segment = Segment.objects.create(
        name="潜力缓存",
        conditions={"all": [{"field": "quadrant", "op": "eq", "value": "potential"}]},
    )
    playbook = Playbook.objects.create(name="缓存测试", segment=segment, owner=staff["sales1"])
    url = reverse("playbook-results", args=[playbook.pk])
    manager = login("manager")
    assert 'data-figure="coverage">0.0%<' in manager.get(url).content.decode()
    # a row written behind the services' back (no audit) is not seen: the counts are cached
    FollowUpFactory(customer=scored["T1"], occurred_at=aware(2026, 11, 1, 9))
    assert 'data-figure="coverage">0.0%<' in manager.get(url).content.decode()
    # a follow-up logged through the service (audited) makes them stale: both now count
    followup_log(
        customer=scored["T2"],
        actor=staff["manager"],
        kind="call",
        occurred_at=aware(2026, 11, 1, 10),
        content="回访",
    )
    html = manager.get(url).content.decode()
    assert 'data-figure="members">2<' in html
    assert 'data-figure="coverage">100.0%<' in html


def test_a_nested_segment_is_not_overwritten_from_the_explorer(scored, login):
    nested = {
        "any": [
            {"field": "quadrant", "op": "eq", "value": "core"},
            {"all": [{"field": "churn_risk", "op": "eq", "value": "high"}]},
        ]
    }
    segment = Segment.objects.create(name="嵌套", conditions=nested)
    client = login("marketing")

    page = client.get(reverse("segments"), {"segment": segment.pk}).content.decode()
    client.post(
        reverse("segment-save"),
        {"segment": segment.pk, "name": "嵌套", "f": ["quadrant"], "o": ["eq"], "v": ["core"]},
    )

    assert 'id="segment-save"' not in page
    assert 'id="segment-size">3<' in page  # T1, T3, T4 evaluated with the nested group
    segment.refresh_from_db()
    assert segment.conditions == nested


def test_explorer_takes_values_by_their_label_in_either_language(scored, login):
    client = login("marketing")

    zh = client.get(
        reverse("segments"),
        {"f": ["quadrant"], "o": ["in"], "v": ["核心客户，潜力客户"]},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()
    en = client.get(reverse("segments"), {"f": ["churn_risk"], "o": ["eq"], "v": ["High"]})

    assert 'id="segment-size">3<' in zh  # T1, T2, T3
    assert 'id="segment-size">2<' in en.content.decode()  # T1, T4
    assert '<option value="核心客户">' in zh  # offered as a labelled choice


def test_segment_saved_by_label_keeps_codes_and_shows_labels(scored, login):
    client = login("marketing")

    client.post(
        reverse("segment-save"),
        {"name": "核心", "f": ["quadrant"], "o": ["eq"], "v": ["核心客户"], "mode": "all"},
    )
    segment = Segment.objects.get(name="核心")
    zh = client.get(
        reverse("segments"), {"segment": segment.pk}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    en = client.get(reverse("segments"), {"segment": segment.pk}).content.decode()

    assert segment.conditions == {"all": [{"field": "quadrant", "op": "eq", "value": "core"}]}
    assert 'name="v" value="核心客户"' in zh
    assert 'name="v" value="Core"' in en


def test_tags_combine_with_and_or_not_and_a_segment_filters_the_export(scored, staff, login):
    from retain.tags.models import CustomerTag, Tag, TagGroup

    industry = TagGroup.objects.create(name="行业", kind="industry")
    need = TagGroup.objects.create(name="需求", kind="need")
    maker = Tag.objects.create(group=industry, name="制造业")
    quality = Tag.objects.create(group=need, name="品质优先")
    for code, tag in (("T1", maker), ("T2", maker), ("T2", quality), ("T3", quality)):
        CustomerTag.objects.create(customer=scored[code], tag=tag, tagged_at=aware(2026, 10, 1))
    client = login("analyst")

    def size(mode: str, ops: list[str]) -> str:
        html = client.get(
            reverse("segments"),
            {"f": ["tag", "tag"], "o": ops, "v": ["制造业", "品质优先"], "mode": mode},
        ).content.decode()
        return html.split('id="segment-size">')[1].split("<")[0]

    assert size("all", ["eq", "eq"]) == "1"  # T2
    assert size("any", ["eq", "eq"]) == "3"  # T1, T2, T3
    assert size("all", ["eq", "ne"]) == "1"  # T1: 制造业 NOT 品质优先
    segment = Segment.objects.create(
        name="制造业+品质优先",
        conditions={
            "all": [
                {"field": "tag", "op": "eq", "value": "制造业"},
                {"field": "tag", "op": "eq", "value": "品质优先"},
            ]
        },
    )
    export = client.get(reverse("customer-export", args=["csv"]), {"segment": segment.pk})
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith("T2,")
