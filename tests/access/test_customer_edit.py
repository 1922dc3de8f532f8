"""Customers and contacts created and edited from retain's pages, by the roles allowed:
sales their own accounts, a team lead the team's, managers and admins all. Every write goes
through the customer services, is permission-checked and audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import translation

from retain.audit.models import AuditEvent
from retain.customers.models import Contact, Customer, StatusChange
from retain.customers.selectors import customer_possible_duplicates
from retain.customers.services import customer_create, customer_status_change, customer_update
from retain.tags.models import CustomerTag, Tag, TagGroup
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, company, who):
    client.force_login(company.users[who])
    return client


def test_possible_duplicates_by_normalised_name_phone_and_email(company):
    Customer.objects.filter(pk=company.customers["east"].pk).update(name="(北京)星河科技有限公司")
    east = Customer.objects.get(pk=company.customers["east"].pk)

    with translation.override("en"):
        by_name = customer_possible_duplicates(name="星河科技", kind="company")
        by_phone = customer_possible_duplicates(name="别的", phone="+86 138-1234-0001")
        by_contact_phone = customer_possible_duplicates(phone="139 9999 0001")
        by_email = customer_possible_duplicates(email=" Zhang1@Example.com ")

    assert [(d.customer, d.why) for d in by_name] == [(east, ["same name"])]
    assert [(d.customer, d.why) for d in by_phone] == [(east, ["same phone"])]
    assert [d.customer for d in by_contact_phone] == [east]
    assert [(d.customer, d.why) for d in by_email] == [(east, ["same email"])]
    assert customer_possible_duplicates(name="完全不同的公司", kind="company") == []


def test_quick_create_warns_of_a_duplicate_then_creates_on_confirmation(client, company):
    login(client, company, "east")
    form = {"name": "east客户", "kind": "company", "phone": "138-1234-0001", "status": "prospect"}

    live = client.get(reverse("customer-duplicates"), form)
    warned = client.post(reverse("customer-create"), form)
    created = client.post(reverse("customer-create"), {**form, "confirm": "1"})

    assert "C2026001 east客户" in live.content.decode()
    assert warned.status_code == 200 and 'name="confirm"' in warned.content.decode()
    customer = Customer.objects.exclude(pk=company.customers["east"].pk).get(
        name="east客户", phone="13812340001"
    )
    assert created.status_code == 302 and created["Location"] == f"/customers/{customer.code}/"
    assert customer.owner == company.users["east"]  # sales create their own accounts
    assert list(
        StatusChange.objects.filter(customer=customer).values_list("to_status", flat=True)
    ) == ["prospect"]
    assert AuditEvent.objects.filter(customer=customer, action="create").count() == 1


def test_a_duplicate_of_someone_elses_account_is_named_without_a_link(client, company):
    login(client, company, "east")
    html = client.get(reverse("customer-duplicates"), {"phone": "13812340002"}).content.decode()
    assert "C2026002 west客户" in html and "/customers/C2026002/" not in html


@pytest.mark.parametrize(
    ("who", "owner", "status"),
    [
        ("east", "east", 302),
        ("east", "west", 404),  # nobody else's accounts: not even seen
        ("lead", "east", 302),  # the team lead, the team's
        ("lead", "west", 404),
        ("manager", "west", 302),
        ("admin", "nobody", 302),
        ("marketing", "east", 403),
        ("analyst", "east", 403),
    ],
)
def test_who_may_edit_which_customer(client, company, who, owner, status):
    login(client, company, who)
    customer = company.customers[owner]
    url = reverse("customer-edit", args=[customer.code])
    data = {
        "name": customer.name,
        "kind": customer.kind,
        "status": customer.status,
        "key_needs": "云存储解决方案",
        "notes": "计划Q3采购预算50万",
        "first_contact_date": "2024-01-15",
        "owner": customer.owner_id or "",
    }

    response = client.post(url, data)

    assert response.status_code == status
    customer.refresh_from_db()
    if status == 302:
        assert (customer.key_needs, customer.first_contact_date) == (
            "云存储解决方案",
            dt.date(2024, 1, 15),
        )
    else:
        assert customer.key_needs == ""


def test_edit_form_dates_render_in_iso_in_chinese(client, company):
    customer = company.customers["east"]
    Customer.objects.filter(pk=customer.pk).update(first_contact_date=dt.date(2024, 1, 15))
    login(client, company, "east")
    html = client.get(
        reverse("customer-edit", args=[customer.code]), headers={"accept-language": "zh-hans"}
    ).content.decode()
    assert 'type="date" name="first_contact_date" value="2024-01-15"' in html
    assert "关键需求" in html


def test_a_rep_may_not_hand_an_account_to_another_team(company):
    with pytest.raises(PermissionDenied):
        customer_update(
            customer=company.customers["east"],
            owner=company.users["west"],
            actor=company.users["east"],
        )
    customer_update(
        customer=company.customers["east"], owner=company.users["lead"], actor=company.users["lead"]
    )
    assert Customer.objects.get(pk=company.customers["east"].pk).owner == company.users["lead"]


def test_status_change_keeps_who_when_and_why(client, company):
    customer = company.customers["east"]
    login(client, company, "east")
    client.post(
        reverse("customer-status", args=[customer.code]), {"status": "core", "reason": "已合作2年"}
    )
    refused = client.post(
        reverse("customer-status", args=[customer.code]), {"status": "active", "reason": ""}
    )

    change = StatusChange.objects.get(customer=customer)
    assert (change.from_status, change.to_status, change.reason, change.changed_by) == (
        "prospect",
        "core",
        "已合作2年",
        company.users["east"],
    )
    assert refused.status_code == 302 and Customer.objects.get(pk=customer.pk).status == "core"
    page = client.get(reverse("customer-detail", args=[customer.code])).content.decode()
    assert "已合作2年" in page and 'id="status-form"' in page
    event = AuditEvent.objects.filter(customer=customer, action="update").get()
    assert event.changes() == [("status", "prospect", "core")]
    with pytest.raises(PermissionDenied):
        customer_status_change(
            customer=company.customers["west"],
            status="core",
            reason="x",
            actor=company.users["east"],
        )


def test_contacts_added_edited_and_marked_as_left(client, company):
    customer = company.customers["east"]
    login(client, company, "east")
    client.post(
        reverse("contact-create", args=[customer.code]),
        {"name": "张伟", "title": "采购经理", "phone": "137 0000 0001", "is_primary": "on"},
    )
    zhang = Contact.objects.get(name="张伟")
    client.post(
        reverse("contact-edit", args=[customer.code, zhang.pk]),
        {"name": "张伟", "title": "采购经理", "phone": "13700000001", "left_on": "2026-10-31"},
    )

    zhang.refresh_from_db()
    assert (zhang.phone, zhang.left_on, zhang.is_primary) == (
        "13700000001",
        dt.date(2026, 10, 31),
        False,
    )
    page = client.get(reverse("customer-detail", args=[customer.code])).content.decode()
    assert "2026-10-31 离职" in page and 'href="tel:13700000001"' in page
    assert (
        AuditEvent.objects.filter(object_type="customers.contact", object_id=str(zhang.pk)).count()
        == 2
    )
    other = company.customers["west"].contacts.get()
    assert (
        client.post(reverse("contact-edit", args=["C2026002", other.pk]), {"name": "x"}).status_code
        == 404
    )


def test_tags_added_and_removed_on_the_customer_page(client, company):
    group = TagGroup.objects.create(name="需求", kind="need")
    tag = Tag.objects.create(group=group, name="云存储")
    auto = Tag.objects.create(group=group, name="高价值", automatic=True)
    customer = company.customers["east"]
    login(client, company, "east")
    client.post(reverse("customer-tags", args=[customer.code]), {"tag": tag.pk})
    assert list(customer.customer_tags.values_list("tag__name", "tagged_by__username")) == [
        ("云存储", "east")
    ]
    client.post(reverse("customer-tags", args=[customer.code]), {"tag": auto.pk})
    client.post(reverse("customer-tags", args=[customer.code]), {"tag": tag.pk, "remove": "1"})
    assert not CustomerTag.objects.filter(customer=customer).exists()
    assert list(
        AuditEvent.objects.filter(object_type="tags.customertag")
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["create", "delete"]


def test_the_seed_sheet_row_can_be_entered_through_the_service(company):
    customer = customer_create(
        name="*科技有限公司",
        kind="company",
        industry="IT服务",
        first_contact_date=dt.date(2024, 1, 15),
        key_needs="云存储解决方案",
        notes="计划Q3采购预算50万",
        actor=company.users["manager"],
    )
    assert customer.owner is None and PASSWORD
