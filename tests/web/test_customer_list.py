"""The customer list: filters on scores and tags (AND / OR), owner, region, sort, capped
counts, saved views, bulk tag / assign and CSV / XLSX export, all permission-checked."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from retain.audit.models import AuditEvent
from retain.customers.models import Customer
from retain.scoring.models import CustomerScore
from retain.tags.models import CustomerTag, Tag, TagGroup
from retain.web.models import SavedView
from tests.conftest import AS_OF
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(small_run, staff):
    """Six customers with scores and tags:

    code     quadrant   risk   spend  owner   region  tags
    T1       core       low    900    sales1  华东     制造业, 品质优先
    T2       potential  high   800    sales1  华东     制造业
    T3       potential  medium 700    sales2  华南     品质优先
    T4       basic      low    100    sales2  华南     -
    T5       watch      high    50    -       华北     制造业, 品质优先
    T6       (prospect, no score)     -       华北     -
    """
    industry = TagGroup.objects.create(name="行业", kind="industry")
    need = TagGroup.objects.create(name="需求", kind="need")
    tags = {
        "制造业": Tag.objects.create(group=industry, name="制造业"),
        "品质优先": Tag.objects.create(group=need, name="品质优先"),
        "价格敏感": Tag.objects.create(group=need, name="价格敏感"),
    }
    rows = [
        ("T1", "core", "low", 900, "sales1", "华东", ["制造业", "品质优先"]),
        ("T2", "potential", "high", 800, "sales1", "华东", ["制造业"]),
        ("T3", "potential", "medium", 700, "sales2", "华南", ["品质优先"]),
        ("T4", "basic", "low", 100, "sales2", "华南", []),
        ("T5", "watch", "high", 50, None, "华北", ["制造业", "品质优先"]),
        ("T6", "", "", 0, None, "华北", []),
    ]
    now = timezone.now()
    for code, quadrant, risk, spend, owner, region, tag_names in rows:
        customer = CustomerFactory(
            code=code,
            name=f"客户{code}",
            owner=staff[owner] if owner else None,
            region=region,
            phone=f"1380000000{code[-1]}",
            email=f"{code.lower()}@example.com",
            kind="person",
        )
        if quadrant:
            CustomerScore.objects.create(
                customer=customer,
                run=small_run,
                as_of=AS_OF,
                quadrant=quadrant,
                lifecycle_stage="returning",
                churn_risk=risk,
                total_spend=spend,
                predicted_ltv=spend * 2,
                order_count=3,
            )
        for name in tag_names:
            CustomerTag.objects.create(customer=customer, tag=tags[name], tagged_at=now)
    return tags


def codes(response) -> list[str]:
    return re.findall(r"<td[^>]*><a href=\"/customers/(T\d)/\">T\d</a>", response.content.decode())


def test_quadrant_filter_is_what_the_matrix_cell_opens(book, login):
    response = login("manager").get(reverse("customer-list"), {"quadrant": "potential"})

    assert codes(response) == ["T2", "T3"]
    assert "2 customers" in response.content.decode()


def test_tags_and_means_every_tag_or_means_any(book, login):
    client = login("manager")
    ids = [book["制造业"].pk, book["品质优先"].pk]

    both = client.get(reverse("customer-list"), {"tag": ids})
    either = client.get(reverse("customer-list"), {"tag": ids, "tag_mode": "or"})

    assert codes(both) == ["T1", "T5"]
    assert codes(either) == ["T1", "T2", "T3", "T5"]


def test_filters_combine_with_owner_region_and_risk(book, login):
    client = login("manager")

    assert codes(client.get(reverse("customer-list"), {"owner": "sales2"})) == ["T3", "T4"]
    assert codes(client.get(reverse("customer-list"), {"owner": "none"})) == ["T5", "T6"]
    assert codes(client.get(reverse("customer-list"), {"region": "华北"})) == ["T5", "T6"]
    assert codes(client.get(reverse("customer-list"), {"risk": ["high", "medium"]})) == [
        "T2",
        "T3",
        "T5",
    ]
    assert codes(client.get(reverse("customer-list"), {"spend_min": "700"})) == ["T1", "T2", "T3"]


def test_search_by_code_or_name(book, login):
    client = login("manager")

    assert codes(client.get(reverse("customer-list"), {"q": "t2"})) == ["T2"]
    assert codes(client.get(reverse("customer-list"), {"q": "客户T"})) == [
        f"T{i}" for i in range(1, 7)
    ]


def test_sort_by_spend_puts_unscored_customers_last(book, login):
    response = login("manager").get(reverse("customer-list"), {"sort": "-spend"})

    assert codes(response) == ["T1", "T2", "T3", "T4", "T5", "T6"]


def test_a_bad_number_is_named_and_ignored(book, login):
    response = login("manager").get(reverse("customer-list"), {"spend_min": "lots"})

    assert "spend_min: &#x27;lots&#x27; is not a number" in response.content.decode()
    assert len(codes(response)) == 6


def test_sales_see_only_their_own_customers_whatever_the_filter(book, login):
    response = login("sales2").get(reverse("customer-list"), {"quadrant": "potential"})

    assert codes(response) == ["T3"]


def test_count_stops_at_the_cap(book, login, monkeypatch):
    from retain.web import customer_query

    monkeypatch.setattr(customer_query, "PAGE_SIZE", 2)
    monkeypatch.setattr(customer_query, "COUNT_CAP", 3)
    client = login("manager")

    first = client.get(reverse("customer-list"))
    last = client.get(reverse("customer-list"), {"page": 3})

    assert codes(first) == ["T1", "T2"]
    assert "more than 3 customers" in first.content.decode()
    assert 'rel="next"' in first.content.decode()
    assert codes(last) == ["T5", "T6"]
    assert 'rel="next"' not in last.content.decode()


def test_saved_view_keeps_the_query_per_user(book, login, staff):
    client = login("manager")

    client.post(reverse("saved-view-create"), {"name": "潜力客户", "query": "quadrant=potential"})

    view = SavedView.objects.get()
    assert (view.user.username, view.name, view.query) == (
        "manager",
        "潜力客户",
        "quadrant=potential",
    )
    html = client.get(reverse("customer-list")).content.decode()
    assert 'href="?quadrant=potential" class="tag">潜力客户</a>' in html
    other = login("marketing").get(reverse("customer-list")).content.decode()
    assert "潜力客户</a>" not in other


def test_bulk_tag_adds_the_tag_once_and_audits_it(book, login):
    client = login("marketing")
    ids = list(Customer.objects.filter(code__in=["T1", "T4"]).values_list("pk", flat=True))

    client.post(
        reverse("customer-bulk"),
        {"action": "tag", "tag": book["品质优先"].pk, "customer": ids},
    )

    tagged = CustomerTag.objects.filter(tag=book["品质优先"]).values_list(
        "customer__code", flat=True
    )
    assert sorted(tagged) == ["T1", "T3", "T4", "T5"]
    new = CustomerTag.objects.get(tag=book["品质优先"], customer__code="T4")
    assert (new.tagged_by.username, new.automatic) == ("marketing", False)
    events = AuditEvent.objects.filter(object_type="tags.customertag")
    assert [e.customer.code for e in events] == ["T4"]


def test_bulk_assign_owner_changes_and_audits_each_customer(book, login, staff):
    client = login("manager")
    ids = list(Customer.objects.filter(code__in=["T4", "T5"]).values_list("pk", flat=True))

    client.post(reverse("customer-bulk"), {"action": "assign", "owner": "sales1", "customer": ids})

    owners = dict(Customer.objects.values_list("code", "owner__username"))
    assert owners == {
        "T1": "sales1",
        "T2": "sales1",
        "T3": "sales2",
        "T4": "sales1",
        "T5": "sales1",
        "T6": None,
    }
    events = AuditEvent.objects.filter(object_type="customers.customer").order_by("object_repr")
    assert [(e.object_repr, e.before, e.after) for e in events] == [
        ("T4", {"owner": staff["sales2"].pk}, {"owner": staff["sales1"].pk}),
        ("T5", {"owner": None}, {"owner": staff["sales1"].pk}),
    ]


def test_marketing_may_not_assign_owners(book, login):
    ids = list(Customer.objects.filter(code="T4").values_list("pk", flat=True))

    response = login("marketing").post(
        reverse("customer-bulk"), {"action": "assign", "owner": "sales1", "customer": ids}
    )

    assert response.status_code == 403
    assert Customer.objects.get(code="T4").owner.username == "sales2"
    assert not AuditEvent.objects.filter(object_type="customers.customer").exists()


def test_sales_may_not_touch_customers_they_do_not_see(book, login):
    ids = list(Customer.objects.filter(code__in=["T3", "T1"]).values_list("pk", flat=True))

    response = login("sales2").post(
        reverse("customer-bulk"), {"action": "tag", "tag": book["价格敏感"].pk, "customer": ids}
    )

    assert response.status_code == 403
    assert not CustomerTag.objects.filter(tag=book["价格敏感"]).exists()


def test_csv_export_follows_the_filters_masks_and_neutralises(book, login):
    Customer.objects.filter(code="T2").update(name="=HYPERLINK(1)")
    response = login("analyst").get(
        reverse("customer-export", args=["csv"]), {"quadrant": "potential"}
    )

    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Code", "Name", "Kind"]  # the user's language (English here)
    assert [r[0] for r in rows[1:]] == ["T2", "T3"]
    assert rows[1][1] == "'=HYPERLINK(1)"
    assert rows[1][8] == "138****0002"  # analysts do not see personal data
    assert rows[1][10] == "Potential"
    event = AuditEvent.objects.get(action="export")
    assert event.object_repr == "customer list: quadrant=potential"


def test_xlsx_export_for_a_manager_has_full_phones(book, login):
    response = login("manager").get(reverse("customer-export", args=["xlsx"]), {"region": "华东"})

    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert [v[0] for v in values[1:]] == ["T1", "T2"]
    assert values[1][8] == "13800000001"


@pytest.mark.parametrize("username", ["sales1", "marketing", "service"])
def test_roles_without_export_permission_get_nothing(book, login, username):
    response = login(username).get(reverse("customer-export", args=["csv"]))

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="export").exists()
