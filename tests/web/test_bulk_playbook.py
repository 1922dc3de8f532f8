"""Bulk "add to playbook" from the customer list: the picked customers join the playbook's
target through its own manual tag, other playbooks' targets stay as they were."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retain.audit.models import AuditEvent
from retain.customers.models import Customer
from retain.playbooks.models import Playbook, Segment
from retain.playbooks.selectors import segment_members
from retain.playbooks.services import playbook_pick_tag_name
from retain.tags.models import CustomerTag

pytestmark = pytest.mark.django_db


def _bulk(client, playbook, customers):
    return client.post(
        reverse("customer-bulk"),
        {"action": "playbook", "playbook": playbook.pk, "customer": [c.pk for c in customers]},
    )


@pytest.fixture
def outsiders(demo_company):
    """Two customers that the playbook's segment does not select today."""
    segment = Segment.objects.create(
        name="only C-nobody", conditions={"all": [{"field": "region", "op": "eq", "value": "火星"}]}
    )
    playbook = Playbook.objects.create(name="火星计划", segment=segment)
    picked = list(Customer.objects.order_by("code")[:2])
    assert not segment_members(segment=segment).filter(pk__in=[c.pk for c in picked]).exists()
    return playbook, picked


def test_marketing_adds_customers_to_a_playbook(login, outsiders):
    playbook, picked = outsiders
    client = login("marketing")

    response = _bulk(client, playbook, picked)

    assert response.status_code == 302
    playbook.refresh_from_db()
    members = set(segment_members(segment=playbook.segment).values_list("pk", flat=True))
    assert members == {c.pk for c in picked}
    tag_name = playbook_pick_tag_name(playbook)
    assert CustomerTag.objects.filter(tag__name=tag_name, automatic=False).count() == 2
    assert AuditEvent.objects.filter(object_type="playbooks.segment", action="update").count() == 1


def test_adding_again_changes_nothing(login, outsiders):
    playbook, picked = outsiders
    client = login("marketing")
    _bulk(client, playbook, picked)
    playbook.refresh_from_db()
    conditions = playbook.segment.conditions

    _bulk(client, playbook, picked)

    playbook.refresh_from_db()
    assert playbook.segment.conditions == conditions
    assert CustomerTag.objects.filter(tag__name=playbook_pick_tag_name(playbook)).count() == 2


def test_a_shared_segment_is_copied_so_other_playbooks_keep_their_target(login, outsiders):
    playbook, picked = outsiders
    other = Playbook.objects.create(name="另一个计划", segment=playbook.segment)
    original = playbook.segment.conditions

    _bulk(login("marketing"), playbook, picked)

    playbook.refresh_from_db()
    other.refresh_from_db()
    assert playbook.segment_id != other.segment_id
    assert other.segment.conditions == original
    assert not segment_members(segment=other.segment).filter(pk__in=[c.pk for c in picked]).exists()


def test_sales_may_not_change_a_playbooks_target(login, outsiders):
    playbook, _picked = outsiders
    sales = login("sales1")
    own = list(Customer.objects.filter(owner__username="sales1")[:2])

    response = _bulk(sales, playbook, own)

    assert response.status_code == 403
    playbook.refresh_from_db()
    assert playbook.segment.conditions == {
        "all": [{"field": "region", "op": "eq", "value": "火星"}]
    }
    assert not CustomerTag.objects.filter(tag__name=playbook_pick_tag_name(playbook)).exists()


def test_the_list_offers_the_action_only_to_roles_that_may(login, outsiders):
    marketing = login("marketing").get(reverse("customer-list")).content.decode()
    assert 'value="playbook"' in marketing
    sales = login("sales1").get(reverse("customer-list")).content.decode()
    assert 'value="playbook"' not in sales
