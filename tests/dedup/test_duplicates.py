"""The demo company's planted duplicates are found, merged field by field, and unmerged."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError

from retain.audit.models import AuditEvent
from retain.customers.models import Contact, Customer
from retain.dedup.models import DuplicatePair, MergeRecord
from retain.dedup.normalise import company_core, phone_key
from retain.dedup.services import customer_merge, customer_merge_undo, duplicates_refresh
from retain.interactions.models import FollowUp
from retain.orders.models import Order
from retain.tags.models import CustomerTag
from tests.factories import ContactFactory, CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "core"),
    [
        ("某科技", "某"),
        ("某科技有限公司", "某"),
        ("(北京)某科技有限公司", "某"),
        ("（北京）某科技有限公司", "某"),
        ("北京某科技有限公司", "某"),
        ("某制造集团", "某"),
        ("ＡＢＣ Co., Ltd.", "abc"),
        ("Freeman Group", "freeman"),
    ],
)
def test_company_names_reduce_to_their_core(name, core):
    assert company_core(name) == core


def test_phones_reduce_to_digits():
    assert phone_key("+86 138-0013-8000") == "13800138000"
    assert phone_key("12") == ""


def _planted() -> dict[int, int]:
    """{duplicate id: original id} of the demo company's planted duplicates."""
    pattern = re.compile(r"demo: planted duplicate of (\S+)")
    ids = dict(Customer.objects.values_list("code", "id"))
    planted = {}
    for pk, notes in Customer.objects.filter(notes__startswith="demo: planted").values_list(
        "id", "notes"
    ):
        planted[pk] = ids[pattern.match(notes).group(1)]
    return planted


def test_every_planted_duplicate_of_the_demo_company_is_found(demo_company):
    planted = _planted()
    assert len(planted) == demo_company.duplicates == 3

    stored = duplicates_refresh(now=NOW)

    pairs = {(p.left_id, p.right_id): p for p in DuplicatePair.objects.all()}
    assert stored == len(pairs)
    for dup, original in planted.items():
        pair = pairs[tuple(sorted((dup, original)))]
        assert pair.score >= 0.8
        assert pair.evidence, pair
    # The planted pairs are the strongest candidates.
    top = sorted(pairs.values(), key=lambda p: -p.score)[: len(planted)]
    assert {(p.left_id, p.right_id) for p in top} == {tuple(sorted(x)) for x in planted.items()}


def test_short_and_long_names_and_a_shared_phone_are_found_with_evidence():
    a = CustomerFactory(code="A1", name="(北京)华信科技有限公司", city="北京")
    b = CustomerFactory(code="A2", name="华信科技", city="北京")
    c = CustomerFactory(code="A3", name="张伟", kind="person", phone="13800138000")
    d = CustomerFactory(code="A4", name="张 伟", kind="person", phone="+86 138 0013 8000")
    CustomerFactory(code="A5", name="完全不同贸易有限公司", city="上海")

    duplicates_refresh(now=NOW)

    pairs = {(p.left_id, p.right_id): p for p in DuplicatePair.objects.all()}
    assert set(pairs) == {(a.pk, b.pk), (c.pk, d.pk)}
    assert pairs[(a.pk, b.pk)].evidence == [
        ["same_name", "(北京)华信科技有限公司 / 华信科技"],
        ["city", "北京"],
    ]
    assert pairs[(a.pk, b.pk)].evidence_lines() == [
        "same name: (北京)华信科技有限公司 / 华信科技",
        "same city: 北京",
    ]
    assert ["phone", "13800138000"] in pairs[(c.pk, d.pk)].evidence
    assert pairs[(c.pk, d.pk)].evidence_lines()[1] == "same phone: 13800138000"


def test_a_merge_moves_every_row_and_undo_puts_everything_back(admin_user):
    survivor = CustomerFactory(code="S1", name="华信科技有限公司", industry="", city="北京")
    loser = CustomerFactory(
        code="L1", name="华信科技", industry="IT服务", city="北京", notes="旧记录"
    )
    ContactFactory(customer=survivor, name="甲", is_primary=True)
    loser_contact = ContactFactory(customer=loser, name="乙", is_primary=True)
    loser_order = OrderFactory(customer=loser, number="SO-L")
    OrderFactory(customer=survivor, number="SO-S")
    interaction = FollowUp.objects.create(
        customer=loser, kind="call", occurred_at=NOW, content="电话", logged_at=NOW
    )
    from retain.tags.models import Tag, TagGroup

    group = TagGroup.objects.create(name="行业", kind="industry")
    shared, own = (
        Tag.objects.create(group=group, name="IT"),
        Tag.objects.create(group=group, name="零售"),
    )
    CustomerTag.objects.create(customer=survivor, tag=shared, tagged_at=NOW)
    CustomerTag.objects.create(customer=loser, tag=shared, tagged_at=NOW)
    CustomerTag.objects.create(customer=loser, tag=own, tagged_at=NOW)
    duplicates_refresh(now=NOW)

    record = customer_merge(
        survivor=survivor, loser=loser, actor=admin_user, take_from_loser={"industry"}, now=NOW
    )

    survivor.refresh_from_db()
    assert (survivor.name, survivor.industry, survivor.notes) == ("华信科技有限公司", "IT服务", "")
    assert not Customer.objects.filter(code="L1").exists()
    assert set(Order.objects.values_list("number", "customer__code")) == {
        ("SO-L", "S1"),
        ("SO-S", "S1"),
    }
    assert list(survivor.contacts.order_by("-is_primary").values_list("name", "is_primary")) == [
        ("甲", True),
        ("乙", False),
    ]
    assert FollowUp.objects.get().customer == survivor
    assert sorted(survivor.customer_tags.values_list("tag__name", flat=True)) == ["IT", "零售"]
    assert DuplicatePair.objects.count() == 0
    merge_event = AuditEvent.objects.get(action="merge")
    assert (merge_event.actor, merge_event.customer) == (admin_user, survivor)
    assert merge_event.after["moved"] == {
        "customers.contact": 1,
        "orders.order": 1,
        "interactions.followup": 1,
        "tags.customertag": 1,
    }

    restored = customer_merge_undo(record=record, actor=admin_user, now=NOW + dt.timedelta(days=29))

    survivor.refresh_from_db()
    assert (restored.pk, restored.code, restored.name, restored.industry, restored.notes) == (
        loser.pk,
        "L1",
        "华信科技",
        "IT服务",
        "旧记录",
    )
    assert survivor.industry == ""
    assert Order.objects.get(number="SO-L").customer_id == loser.pk
    assert Order.objects.get(number="SO-S").customer_id == survivor.pk
    assert Contact.objects.filter(pk=loser_contact.pk, customer=loser, is_primary=True).exists()
    assert FollowUp.objects.get(pk=interaction.pk).customer_id == loser.pk
    assert sorted(restored.customer_tags.values_list("tag__name", flat=True)) == ["IT", "零售"]
    assert sorted(survivor.customer_tags.values_list("tag__name", flat=True)) == ["IT"]
    assert loser_order.pk == Order.objects.get(number="SO-L").pk
    assert MergeRecord.objects.get().undone_by == admin_user
    assert AuditEvent.objects.filter(action="merge").count() == 2
    assert duplicates_refresh(now=NOW) == 1


def test_a_merge_cannot_be_undone_after_30_days_or_twice(admin_user):
    survivor, loser = CustomerFactory(code="S1"), CustomerFactory(code="L1")
    record = customer_merge(survivor=survivor, loser=loser, actor=admin_user, now=NOW)

    with pytest.raises(ValidationError, match="can be undone for 30 days"):
        customer_merge_undo(record=record, actor=admin_user, now=NOW + dt.timedelta(days=31))
    assert not Customer.objects.filter(code="L1").exists()

    customer_merge_undo(record=record, actor=admin_user, now=NOW + dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="undone already"):
        customer_merge_undo(record=record, actor=admin_user, now=NOW + dt.timedelta(days=2))
    assert Customer.objects.filter(code="L1").count() == 1


def test_the_demo_duplicates_are_merged_and_the_merge_undone(demo_company, admin_user):
    planted = _planted()
    duplicates_refresh(now=NOW)
    dup, original = next(iter(planted.items()))
    orders_before = Order.objects.filter(customer_id__in=[dup, original]).count()
    total = Customer.objects.count()

    record = customer_merge(
        survivor=Customer.objects.get(pk=original),
        loser=Customer.objects.get(pk=dup),
        actor=admin_user,
        now=NOW,
    )

    assert Customer.objects.count() == total - 1
    assert Order.objects.filter(customer_id=original).count() == orders_before
    customer_merge_undo(record=record, actor=admin_user, now=NOW + dt.timedelta(hours=1))
    assert Customer.objects.count() == total
    assert Customer.objects.get(pk=dup).notes.startswith("demo: planted duplicate of")
