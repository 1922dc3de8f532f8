"""Global search in the top bar: name, code, contact name, phone, email; visibility and
masking of the customer search selector apply."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def found(client, company, who, q, quick=True):
    client.force_login(company.users[who])
    headers = {"HX-Request": "true"} if quick else {}
    html = client.get(reverse("search"), {"q": q}, headers=headers).content.decode()
    return sorted(
        code
        for code in ("C2026000", "C2026001", "C2026002", "C2026003")
        if f"/customers/{code}/" in html
    )


def test_search_by_every_key_within_what_the_user_sees(client, company):
    assert found(client, company, "east", "east客户") == ["C2026001"]
    assert found(client, company, "east", "C2026001") == ["C2026001"]
    assert found(client, company, "east", "east联系人") == ["C2026001"]  # contact name
    assert found(client, company, "east", "13999990001") == ["C2026001"]  # contact phone
    assert found(client, company, "east", "zhang1@example.com") == ["C2026001"]
    assert found(client, company, "east", "west客户") == []  # not theirs: not found
    assert found(client, company, "lead", "客户") == ["C2026000", "C2026001"]  # the team's
    assert found(client, company, "manager", "13812340002", quick=False) == ["C2026002"]


def test_a_contact_name_matches_by_part_as_a_customer_name_does(client, company):
    assert found(client, company, "east", "east联") == ["C2026001"]  # start of the name
    assert found(client, company, "east", "联系") == ["C2026001"]  # middle, within what east sees
    assert found(client, company, "lead", "联系人") == ["C2026000", "C2026001"]
    assert found(client, company, "admin", "EAST联系") == ["C2026001"]  # any case
    assert found(client, company, "east", "west联") == []  # not theirs: not found


def test_a_role_that_does_not_see_phones_cannot_search_by_them(client, company):
    assert found(client, company, "marketing", "13812340002") == []
    assert found(client, company, "marketing", "138****0002") == ["C2026002"]
    assert found(client, company, "marketing", "zhang2@example.com") == []


def test_the_search_box_is_on_every_page(client, company):
    client.force_login(company.users["east"])
    for name in ("dashboard", "customer-list", "tasks"):
        assert 'id="global-q"' in client.get(reverse(name)).content.decode()
