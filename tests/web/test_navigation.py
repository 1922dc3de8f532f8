"""Each role sees only the navigation it may use (service and marketing above all)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ALL = {"tasks", "service", "segments", "tags", "playbooks", "care", "imports", "surveys", "loyalty"}


def _nav(html: str) -> set[str]:
    nav = html.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    return set(re.findall(r'id="nav-([a-z]+)"', nav))


@pytest.mark.parametrize(
    ("username", "shown"),
    [
        ("service", {"tasks", "service", "surveys"}),
        ("marketing", {"segments", "tags", "playbooks", "care", "surveys", "loyalty"}),
        ("sales1", {"tasks", "segments", "playbooks", "imports", "team", "surveys"}),  # a lead
        ("manager", ALL | {"team"}),
        ("analyst", {"segments", "playbooks", "surveys", "imports"}),  # imports: scores only
    ],
)
def test_each_role_sees_its_navigation(small_run, staff, login, username, shown):
    html = login(username).get(reverse("customer-list")).content.decode()

    assert _nav(html) == shown


def test_service_is_refused_the_pages_it_does_not_see(small_run, staff, login):
    client = login("service")

    assert client.get(reverse("segments")).status_code == 403
    assert client.get(reverse("playbooks")).status_code == 403
    assert client.get(reverse("imports")).status_code == 403
    assert client.get(reverse("service-inbox")).status_code == 200


@pytest.mark.parametrize("username", ["service", "marketing", "sales1", "manager", "analyst"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_in_a_roles_navigation_opens(small_run, staff, login, username, language):
    client = login(username)
    client.cookies["django_language"] = language
    html = client.get(reverse("customer-list")).content.decode()
    nav = re.search(r"<nav aria-label=[^>]*>(.*?)</nav>", html, re.S).group(1)
    links = re.findall(r'<a [^>]*href="(/[^"#?]*)"', nav)

    assert len(links) >= 3
    assert {link: client.get(link).status_code for link in links} == dict.fromkeys(links, 200)
