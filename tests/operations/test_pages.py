"""The playbooks pages and the notifications bell."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retain.playbooks.models import Playbook, PlaybookAction
from retain.tasks.models import Notification
from tests.factories import UserFactory

from .conftest import NOW

pytestmark = pytest.mark.django_db


def _marketing():
    """A marketing user in the role's group (editing is permission-checked)."""
    from retain.accounts.services import user_create

    return user_create(username="mk", password="a-long-test-password", role="marketing")


def test_the_playbooks_page_lists_the_default_plans_with_their_actions(client):
    core = Playbook.objects.get(name="核心客户维系计划")
    edit = f'href="{reverse("playbook-edit", args=[core.pk])}"'
    from retain.accounts.services import user_create

    client.force_login(user_create(username="li", password="a-long-test-password", role="sales"))

    html = client.get(reverse("playbooks")).content.decode()
    client.force_login(_marketing())
    marketing_html = client.get(reverse("playbooks")).content.decode()

    for name in (
        "核心客户维系计划",
        "潜力客户激活计划",
        "基础客户提升计划",
        "待观察客户低成本触达",
        "普通客户年度关怀",
    ):
        assert name in html
    assert "每季度上门拜访" in html
    assert edit not in html  # sales cannot edit
    assert edit in marketing_html


def test_marketing_edits_a_playbook_and_its_actions(client):
    client.force_login(_marketing())
    playbook = Playbook.objects.get(name="核心客户维系计划")
    url = reverse("playbook-edit", args=[playbook.pk])
    form = client.get(url).context["actions"]
    data = {
        "name": playbook.name,
        "description": "更新",
        "segment": playbook.segment_id,
        "owner": "",
        "active": "on",
        "actions-TOTAL_FORMS": str(form.initial_form_count()),  # no new action
        "actions-INITIAL_FORMS": str(form.initial_form_count()),
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "1000",
    }
    for i, sub in enumerate(form.forms):
        action = sub.instance
        if action.pk is None:
            continue
        data.update(
            {
                f"actions-{i}-id": str(action.pk),
                f"actions-{i}-playbook": str(playbook.pk),
                f"actions-{i}-name": action.name,
                f"actions-{i}-every_days": "21"
                if action.name == "每月电话回访"
                else str(action.every_days),
                f"actions-{i}-channel": action.channel,
                f"actions-{i}-template": action.template,
                f"actions-{i}-owner_rule": action.owner_rule,
                f"actions-{i}-active": "on",
            }
        )

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["actions"].errors
    assert PlaybookAction.objects.get(name="每月电话回访").every_days == 21
    assert Playbook.objects.get(pk=playbook.pk).description == "更新"


def test_sales_cannot_open_the_playbook_editor(client):
    client.force_login(UserFactory(username="li"))
    playbook = Playbook.objects.first()

    assert client.get(reverse("playbook-edit", args=[playbook.pk])).status_code == 403


def test_the_bell_counts_unread_notifications_and_reading_clears_it(client):
    li = UserFactory(username="li")
    Notification.objects.create(user=li, text="2 customers need a win-back call", created_at=NOW)
    client.force_login(li)

    before = client.get(reverse("tasks")).content.decode()
    client.post(reverse("notifications-read"))
    after = client.get(reverse("tasks")).content.decode()

    assert '<span class="count">1</span>' in before
    assert 'class="count"' not in after


def test_the_customer_page_shows_scores_and_segment_history(client, admin_user):
    from retain.scoring.models import SegmentChange
    from tests.factories import CustomerFactory

    from .helpers import AS_OF, scored

    customer = CustomerFactory(code="C1")
    scored(
        customer,
        quadrant="potential",
        p_alive=0.42,
        risk_reasons="no_repeat(days=200)",
        reason_codes=[{"code": "no_repeat", "params": {"days": 200}}],
    )
    SegmentChange.objects.create(
        customer=customer,
        as_of=AS_OF,
        dimension="quadrant",
        from_value="core",
        to_value="potential",
    )
    SegmentChange.objects.create(
        customer=customer, as_of=AS_OF, dimension="churn_risk", from_value="", to_value="low"
    )
    client.force_login(admin_user)

    html = client.get(reverse("customer-detail", args=["C1"])).content.decode()

    assert "42%" in html
    assert "只购买过一次，已 200 天未再购买" in html  # the engine's reason code, in Chinese
    assert "2026-11-01 · 价值象限: 核心客户 → 潜力客户" in html
    assert html.count("<li>2026-11-01 · ") == 1  # starting points are not moves
