"""Customer 360: scores explained in plain words, one timeline of everything, a follow-up
logged in place."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from retain.audit.models import AuditEvent
from retain.campaigns.models import Campaign, CampaignParticipation
from retain.care.models import CareTemplate, Delivery
from retain.customers.selectors import customer_timeline
from retain.interactions.models import FollowUp
from retain.scoring.models import CustomerScore
from retain.tasks.models import Task
from retain.web.explain import risk_reasons
from tests.conftest import AS_OF
from tests.factories import CustomerFactory, OrderFactory, aware

pytestmark = pytest.mark.django_db


@pytest.fixture
def potential(small_run, staff):
    """A high-value customer who went quiet: ¥4,000 in March and April, nothing since."""
    customer = CustomerFactory(code="T1", name="华东精密制造", owner=staff["sales1"])
    OrderFactory(customer=customer, ordered_at=aware(2026, 3, 1, 10), amount=Decimal("2500"))
    OrderFactory(customer=customer, ordered_at=aware(2026, 4, 15, 10), amount=Decimal("1500"))
    CustomerScore.objects.create(
        customer=customer,
        run=small_run,
        as_of=AS_OF,
        quadrant="potential",
        lifecycle_stage="silent",
        value_tier="high",
        activity_level="low",
        churn_risk="high",
        risk_reasons="no_repeat(days=200); p_alive_low(p=0.21)",
        reason_codes=[
            {"code": "no_repeat", "params": {"days": 200}},
            {"code": "p_alive_low", "params": {"p": 0.21}},
        ],
        value_spend=4000.0,
        activity_orders=0,
        churn_probability=0.83,
        expected_lost_value=1200.0,
        recency_days=200,
        order_count=2,
        total_spend=4000.0,
        p_alive=0.21,
    )
    return customer


def test_risk_reasons_are_translated_reason_by_reason():
    from django.utils import translation

    text = (
        "overdue(multiple=3.2); spend_drop(pct=60); open_complaint(count=1, days=5); nps(score=4)"
    )
    with translation.override("zh-hans"):
        words = risk_reasons(text)
    with translation.override("en"):
        english = risk_reasons(text)

    assert words == [
        "未购买时间已达平时购买间隔的 3.2 倍",
        "消费额比上一周期下降 60%",
        "1 个投诉仍未解决，最早的已 5 天",
        "NPS 4 分",
    ]
    assert english == [
        "no purchase for 3.2 times the usual interval",
        "spend down 60% on the previous period",
        "1 complaint(s) still open, the oldest after 5 days",
        "NPS 4",
    ]


def test_page_says_why_the_customer_is_potential_and_at_risk(potential, login):
    html = login("sales1").get(reverse("customer-detail", args=["T1"])).content.decode()

    assert "Potential: bought a lot, but quiet lately." in html
    assert "spent ¥4,000 in the last 365 days, among the top 20% of customers" in html
    assert "0 orders in the last 90 days and the last purchase 200 days ago (quiet:" in html
    assert "Silent: no purchase for more than 180 days." in html
    assert "Churn risk High because:" in html
    assert "<li>bought once, 200 days ago, never again</li>" in html
    # the engine's stored probability and value at stake, not a recomputation
    assert "83%" in html and "expected lost value 1,200" in html
    assert "<li>low probability of still being a customer (21%)</li>" in html


def test_scores_panel_shows_the_preferred_channel_and_category(potential, login):
    # given the scores say the customer buys mostly offline, mostly tea
    CustomerScore.objects.filter(customer=potential).update(
        preferred_channel="offline", preferred_category="茶叶"
    )
    client = login("sales1")
    # when the page is shown in English, then in Chinese
    html = client.get(reverse("customer-detail", args=["T1"])).content.decode()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    zh = client.get(reverse("customer-detail", args=["T1"])).content.decode()
    # then both are in the scores panel, the channel by its label
    assert "<dt>Preferred channel</dt><dd>Offline</dd>" in html
    assert "<dt>Preferred category</dt><dd>茶叶</dd>" in html
    assert "<dt>偏好渠道</dt><dd>线下</dd>" in zh
    assert "<dt>偏好产品类别</dt><dd>茶叶</dd>" in zh


def test_scores_panel_shows_a_dash_without_a_preference(potential, login):
    html = login("sales1").get(reverse("customer-detail", args=["T1"])).content.decode()
    assert "<dt>Preferred channel</dt><dd>—</dd>" in html
    assert "<dt>Preferred category</dt><dd>—</dd>" in html


def test_timeline_holds_campaigns_care_messages_and_tasks(potential, staff):
    campaign = Campaign.objects.create(name="新品试用", kind="new_product", starts_on=AS_OF)
    CampaignParticipation.objects.create(
        campaign=campaign, customer=potential, joined_at=aware(2026, 5, 1, 9)
    )
    template = CareTemplate.objects.create(
        name="t", occasion="birthday", subject="生日快乐", body="祝您生日快乐"
    )
    Delivery.objects.create(
        template=template,
        customer=potential,
        on=dt.date(2026, 6, 1),
        address="a@example.com",
        subject="生日快乐",
        body="祝您生日快乐",
        send_after=aware(2026, 6, 1, 9),
    )
    Task.objects.create(
        customer=potential,
        kind="winback",
        key="winback:1",
        owner=staff["sales1"],
        title="挽回华东精密制造",
        due_on=AS_OF,
        created_at=aware(2026, 10, 30, 9),
    )

    entries = customer_timeline(customer=potential)

    assert [(e.kind, e.at.date().isoformat()) for e in entries] == [
        ("task", "2026-10-30"),
        ("care", "2026-06-01"),
        ("campaign", "2026-05-01"),
        ("order", "2026-04-15"),
        ("order", "2026-03-01"),
    ]
    assert entries[0].title == "Task: 挽回华东精密制造"


def test_follow_up_logged_in_place_is_saved_and_audited(potential, login):
    client = login("sales1")

    response = client.post(
        reverse("customer-followup", args=["T1"]),
        {
            "kind": "call",
            "occurred_at": "2026-11-01T17:30",
            "content": "电话回访，客户担心价格",
            "feedback": "觉得贵",
            "next_step": "下周提供分期方案",
            "next_step_on": "2026-11-08",
        },
    )

    assert response.status_code == 302
    item = FollowUp.objects.get(customer=potential)
    assert (item.owner.username, item.next_step, item.next_step_on) == (
        "sales1",
        "下周提供分期方案",
        dt.date(2026, 11, 8),
    )
    assert AuditEvent.objects.filter(object_type="interactions.followup").count() == 1
    html = client.get(reverse("customer-detail", args=["T1"])).content.decode()
    assert "电话回访，客户担心价格" in html


def test_follow_up_without_content_is_not_logged(potential, login):
    login("sales1").post(
        reverse("customer-followup", args=["T1"]),
        {"kind": "call", "occurred_at": "2026-11-01T17:30", "content": ""},
    )

    assert not FollowUp.objects.exists()


def test_sales_cannot_log_on_someone_elses_customer(potential, login):
    response = login("sales2").post(
        reverse("customer-followup", args=["T1"]),
        {"kind": "call", "occurred_at": "2026-11-01T17:30", "content": "x"},
    )

    assert response.status_code == 404
    assert not FollowUp.objects.exists()


def test_marketing_sees_the_page_without_the_follow_up_form(potential, login):
    html = login("marketing").get(reverse("customer-detail", args=["T1"])).content.decode()

    assert 'id="why"' in html
    assert 'id="followup"' not in html
