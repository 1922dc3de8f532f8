"""REST API endpoints beyond customers: orders (one and bulk), follow-ups, complaints,
survey answers, tags, KPIs; paging and consistent error bodies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retain.audit.models import AuditEvent
from retain.orders.models import Order
from retain.tags.models import Tag
from tests.access.conftest import bearer
from tests.factories import AT, ComplaintFactory, OrderFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db


def _order(code, number, amount="99.50"):
    return {
        "customer": code,
        "number": number,
        "ordered_at": "2026-10-01T10:00:00+08:00",
        "amount": amount,
        "channel": "online",
        "payment_method": "alipay",
    }


def test_bulk_orders_are_created_and_audited_one_event_each(client, company):
    code = company.code("east")
    rows = [_order(code, f"SO-B{i}") for i in range(3)]

    response = client.post(
        "/api/v1/orders/bulk",
        {"orders": rows},
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 3, "numbers": ["SO-B0", "SO-B1", "SO-B2"]}
    assert Order.objects.filter(customer__code=code).count() == 3
    events = AuditEvent.objects.filter(action="create", object_type="orders.order")
    assert sorted(e.object_repr for e in events) == ["SO-B0", "SO-B1", "SO-B2"]
    assert {e.customer.code for e in events} == {code}


def test_bulk_orders_are_all_or_nothing_and_name_the_row_and_field(client, company):
    code = company.code("east")
    OrderFactory(customer=company.customers["east"], number="SO-TAKEN")
    rows = [_order(code, "SO-NEW"), _order(code, "SO-NEW"), _order(code, "SO-TAKEN")]

    response = client.post(
        "/api/v1/orders/bulk",
        {"orders": rows},
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    assert response.status_code == 422
    locs = sorted(tuple(e["loc"]) for e in response.json()["detail"])
    assert locs == [("body", "1", "number"), ("body", "2", "number")]
    assert Order.objects.filter(number="SO-NEW").exists() is False


def test_bulk_orders_for_a_customer_you_cannot_see_are_refused(client, company):
    rows = [_order(company.code("east"), "SO-1"), _order(company.code("west"), "SO-2")]

    response = client.post(
        "/api/v1/orders/bulk",
        {"orders": rows},
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == f"unknown customer: {company.code('west')}"
    assert Order.objects.count() == 0


def test_marketing_cannot_add_orders(client, company):
    response = client.post(
        "/api/v1/orders",
        _order(company.code("east"), "SO-M"),
        content_type="application/json",
        headers=bearer(company, "marketing"),
    )

    assert response.status_code == 403
    assert Order.objects.count() == 0


def test_orders_filter_by_day_and_page(client, company):
    customer = company.customers["east"]
    for day in range(1, 6):
        OrderFactory(customer=customer, number=f"SO-{day}", ordered_at=AT.replace(day=day))

    response = client.get(
        "/api/v1/orders",
        {"since": "2026-03-02", "until": "2026-03-04", "limit": 2, "offset": 0},
        headers=bearer(company, "manager"),
    )

    assert response.json()["count"] == 3
    assert [o["number"] for o in response.json()["items"]] == ["SO-4", "SO-3"]


def test_follow_up_logged_through_the_api_belongs_to_the_caller(client, company):
    response = client.post(
        "/api/v1/interactions",
        {
            "customer": company.code("east"),
            "kind": "call",
            "occurred_at": "2026-10-01T09:00:00Z",
            "content": "回访",
        },
        content_type="application/json",
        headers=bearer(company, "east"),
    )

    assert response.status_code == 201, response.content
    assert response.json()["owner"] == "east"
    listed = client.get("/api/v1/interactions", headers=bearer(company, "west"))
    assert listed.json()["count"] == 0


def test_service_opens_a_complaint_and_lists_them(client, company):
    ComplaintFactory(customer=company.customers["west"])

    created = client.post(
        "/api/v1/complaints",
        {
            "customer": company.code("east"),
            "opened_at": "2026-10-01T09:00:00Z",
            "channel": "phone",
            "category": "物流",
            "description": "晚到",
            "severity": "high",
        },
        content_type="application/json",
        headers=bearer(company, "service"),
    )
    listed = client.get(
        "/api/v1/complaints", {"severity": "high"}, headers=bearer(company, "service")
    )

    assert created.status_code == 201, created.content
    assert [c["customer"] for c in listed.json()["items"]] == [company.code("east")]


def test_survey_answers_and_tags_are_listed(client, company):
    SurveyResponseFactory(customer=company.customers["east"], nps=9, answered_at=AT)
    SurveyResponseFactory(customer=company.customers["west"], nps=3, answered_at=AT)

    mine = client.get("/api/v1/survey-answers", headers=bearer(company, "east"))
    tags = client.get("/api/v1/tags", headers=bearer(company, "marketing"))

    assert [a["nps"] for a in mine.json()["items"]] == [9]
    assert tags.json()["count"] == Tag.objects.count() > 0
    first = Tag.objects.select_related("group").order_by("group__name", "name").first()
    assert tags.json()["items"][0] == {
        "id": first.pk,
        "name": first.name,
        "group": first.group.name,
        "kind": first.group.kind,
        "automatic": first.automatic,
    }


@pytest.mark.django_db(transaction=True)  # PostgreSQL: the engine reads committed rows
def test_kpis_cover_only_the_customers_you_see(client, company):
    east, west = company.customers["east"], company.customers["west"]
    when = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    OrderFactory(customer=east, ordered_at=when, amount=Decimal("100"))
    OrderFactory(customer=east, ordered_at=when, amount=Decimal("50"))  # the same day
    OrderFactory(customer=east, ordered_at=when + dt.timedelta(days=9), amount=Decimal("30"))
    OrderFactory(customer=west, ordered_at=when, amount=Decimal("70"))
    SurveyResponseFactory(customer=east, nps=10, satisfaction=5, answered_at=when)
    SurveyResponseFactory(customer=west, nps=2, satisfaction=2, answered_at=when)

    mine = client.get(
        "/api/v1/kpis", {"as_of": "2026-11-01"}, headers=bearer(company, "east")
    ).json()
    everyone = client.get(
        "/api/v1/kpis", {"as_of": "2026-11-01"}, headers=bearer(company, "manager")
    ).json()

    assert (mine["scope"], mine["customers"], mine["orders_12m"], mine["revenue_12m"]) == (
        "own",
        1,
        3,
        "180.00",
    )
    # purchases on two days (three orders), the engine's definition
    assert (mine["repurchase_rate"], mine["nps"], mine["positive_review_rate"]) == (1.0, 100.0, 1.0)
    assert (everyone["scope"], everyone["customers"], everyone["buyers_12m"]) == ("all", 4, 2)
    assert everyone["revenue_12m"] == "250.00"
    assert (everyone["repurchase_rate"], everyone["nps"], everyone["positive_review_rate"]) == (
        0.5,
        0.0,
        0.5,
    )


def test_errors_share_one_body_shape(client, company):
    missing = client.get("/api/v1/customers/NOPE", headers=bearer(company, "manager"))
    invalid = client.post(
        "/api/v1/customers",
        {"name": ""},
        content_type="application/json",
        headers=bearer(company, "manager"),
    )
    nul = client.get("/api/v1/customers", {"q": "a\x00b"}, headers=bearer(company, "manager"))

    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == [
        "body",
        "payload",
        "name",
    ]
    assert nul.status_code == 422
