from __future__ import annotations

import pytest

from retain.audit.models import AuditEvent
from retain.audit.services import audit_event, snapshot
from tests.factories import ContactFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_audit_event_links_the_customer_of_a_contact_and_keeps_values():
    # given
    user = UserFactory(username="alice")
    contact = ContactFactory(name="王伟", phone="13812341234")
    # when
    event = audit_event(
        actor=user,
        action="update",
        obj=contact,
        before={"phone": "13800000000"},
        after=snapshot(contact, ["phone"]),
    )
    # then
    event.refresh_from_db()
    assert event.customer == contact.customer
    assert event.object_type == "customers.contact"
    assert event.object_id == str(contact.pk)
    assert event.actor_name == "alice"
    assert event.changes() == [("phone", "13800000000", "13812341234")]


def test_audit_event_for_the_system_has_no_actor():
    customer = CustomerFactory()
    event = audit_event(actor=None, action="create", obj=customer, after=snapshot(customer))
    assert event.actor is None and event.actor_name == ""
    assert event.customer == customer
    assert event.after["code"] == customer.code


def test_audit_event_rejects_an_unknown_action():
    with pytest.raises(ValueError):
        audit_event(actor=None, action="frobnicate")
    assert AuditEvent.objects.count() == 0
