"""Every change to a customer lands in its audit trail; nobody can edit the trail."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retain.audit.models import AuditEvent
from retain.customers.services import consent_set, contact_create, customer_create, customer_update
from tests.access.conftest import bearer

pytestmark = pytest.mark.django_db


def test_customer_services_write_the_trail(company):
    actor = company.users["manager"]

    customer = customer_create(name="新客户", code="C2099001", actor=actor)
    customer_update(customer=customer, city="上海", actor=actor)
    contact_create(customer=customer, name="李娜", phone="13700000000", actor=actor)
    consent_set(customer=customer, channel="sms", granted=False, source="hotline", actor=actor)

    trail = list(AuditEvent.objects.filter(customer=customer).order_by("id"))
    assert [(e.action, e.object_type) for e in trail] == [
        ("create", "customers.customer"),
        ("update", "customers.customer"),
        ("create", "customers.contact"),
        ("consent", "customers.consent"),
    ]
    assert trail[1].changes() == [("city", "", "上海")]
    assert trail[3].after["status"] == "withdrawn"
    assert {e.actor_name for e in trail} == {"manager"}


def test_api_patch_is_audited_with_before_and_after(client, company):
    code = company.code("east")

    client.patch(
        f"/api/v1/customers/{code}",
        {"status": "active"},
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    event = AuditEvent.objects.get(customer__code=code, action="update")
    assert event.actor == company.users["east"]
    assert event.before == {"status": "prospect"}
    assert event.after == {"status": "active"}
    assert event.ip == "127.0.0.1"


def test_a_refused_change_leaves_no_trail_and_no_change(client, company):
    code = company.code("west")
    count = AuditEvent.objects.count()

    response = client.patch(
        f"/api/v1/customers/{code}",
        {"status": "active"},
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    assert response.status_code == 404
    assert AuditEvent.objects.count() == count
    company.customers["west"].refresh_from_db()
    assert company.customers["west"].status == "prospect"


def _admin_post_data(response):
    """The change form as the browser would post it back, unchanged."""
    data = {}

    def put(form):
        for name in form.fields:
            value = form[name].value()
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
            elif value is not None:
                data[form.add_prefix(name)] = value

    put(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for form in formset.forms:
            put(form)
    return data


def test_admin_edit_and_inline_contact_are_audited(client, company):
    customer = company.customers["east"]
    contact = customer.contacts.get()
    client.force_login(company.users["admin"])
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = _admin_post_data(client.get(url))
    data["name"] = "改名客户"
    data["contacts-0-phone"] = "13600000000"

    response = client.post(url, data)

    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    events = AuditEvent.objects.filter(customer=customer, actor=company.users["admin"])
    assert {(e.action, e.object_type) for e in events} == {
        ("update", "customers.customer"),
        ("update", "customers.contact"),
    }
    assert events.get(object_type="customers.customer").changes() == [
        ("name", "east客户", "改名客户")
    ]
    assert events.get(object_type="customers.contact").changes() == [
        ("phone", contact.phone, "13600000000")
    ]


def test_the_trail_cannot_be_edited_or_deleted_in_the_admin(client, company):
    event = AuditEvent.objects.create(action="update", actor_name="x")
    client.force_login(company.users["admin"])  # a superuser

    change = client.post(
        reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "delete"}
    )
    delete = client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"})
    add = client.get(reverse("admin:audit_auditevent_add"))

    assert (change.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    event.refresh_from_db()
    assert event.action == "update"


def test_customer_page_shows_the_trail_to_managers_only(client, company):
    customer = company.customers["east"]
    customer_update(customer=customer, city="南京", actor=company.users["east"])

    client.force_login(company.users["manager"])
    manager_html = client.get(reverse("customer-detail", args=[customer.code])).content.decode()
    client.force_login(company.users["east"])
    sales_html = client.get(reverse("customer-detail", args=[customer.code])).content.decode()

    assert 'id="audit"' in manager_html and "南京" in manager_html
    assert 'id="audit"' not in sales_html


@pytest.mark.parametrize(
    ("who", "status"), [("manager", 200), ("admin", 200), ("east", 403), ("analyst", 403)]
)
def test_audit_report_is_for_managers(client, company, who, status):
    client.force_login(company.users[who])

    response = client.get(reverse("audit-report"), {"action": "create"})

    assert response.status_code == status


def test_audit_report_filters_by_customer(client, company):
    customer_update(customer=company.customers["east"], city="南京", actor=company.users["east"])
    customer_update(customer=company.customers["west"], city="广州", actor=company.users["west"])
    client.force_login(company.users["manager"])

    page = client.get(reverse("audit-report"), {"customer": company.code("west")})

    assert [e.customer for e in page.context["page"].object_list] == [company.customers["west"]]


def test_api_audit_needs_the_audit_permission(client, company):
    customer_update(customer=company.customers["east"], city="南京", actor=company.users["east"])

    ok = client.get(
        "/api/v1/audit", {"customer": company.code("east")}, headers=bearer(company, "manager")
    )
    refused = client.get("/api/v1/audit", headers=bearer(company, "east"))

    assert ok.json()["count"] == 1
    assert ok.json()["items"][0]["after"] == {"city": "南京"}
    assert refused.status_code == 403
