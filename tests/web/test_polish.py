"""403, 404 and 500 pages in the user's language, with the navigation; the navigation shows
only what the role may open; a favicon, so browsers ask for no /favicon.ico."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from retain.accounts.services import user_create
from retain.web.views import server_error
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketing():
    return user_create(username="mk", password=PASSWORD, role="marketing")


def test_403_and_404_in_the_users_language_with_navigation(client, marketing):
    client.force_login(marketing)
    refused = client.get(reverse("customer-create"), headers={"accept-language": "zh-hans"})
    missing = client.get("/customers/NOPE/", headers={"accept-language": "en"})

    assert refused.status_code == 403
    html = refused.content.decode()
    assert "你无权打开此页面" in html and 'id="global-q"' in html and "看板" in html
    assert missing.status_code == 404
    assert "Page not found" in missing.content.decode() and "Dashboard" in missing.content.decode()


def test_500_page_has_the_navigation(marketing):
    request = RequestFactory().get("/", headers={"accept-language": "zh-hans"})
    request.user = marketing
    with translation.override("zh-hans"):  # what LocaleMiddleware does for the request
        response = server_error(request)
    assert response.status_code == 500
    assert "出错了" in response.content.decode() and 'id="global-q"' in response.content.decode()


def test_navigation_shows_only_what_the_role_may_open(client, marketing):
    sales = user_create(username="s", password=PASSWORD, role="sales")
    client.force_login(marketing)
    marketing_nav = client.get(reverse("tasks")).content.decode()
    client.force_login(sales)
    sales_nav = client.get(reverse("tasks")).content.decode()

    assert 'id="nav-imports"' not in marketing_nav and 'id="nav-imports"' in sales_nav
    assert 'rel="icon"' in sales_nav
    assert client.get(reverse("imports")).status_code == 200
    client.force_login(marketing)
    assert client.get(reverse("imports")).status_code == 403


def test_date_inputs_carry_iso_values_in_chinese():
    """A type=date input only takes YYYY-MM-DD; the Chinese format (2026/11/01) left it empty
    and the browser refused to save the goal form."""
    import datetime as dt

    from retain.tasks.forms import TaskCompleteForm
    from retain.web.board_views import GoalForm

    with translation.override("zh-hans"):
        goal = str(GoalForm(initial={"start_on": dt.date(2026, 11, 1)})["start_on"])
        step = str(TaskCompleteForm(initial={"next_step_on": dt.date(2026, 11, 8)})["next_step_on"])
    assert 'value="2026-11-01"' in goal and 'value="2026-11-08"' in step


def test_the_audit_trail_names_objects_in_words(client):
    from retain.audit.models import AuditEvent
    from retain.customers.services import contact_create, customer_create

    boss = user_create(username="boss", password=PASSWORD, role="manager")
    customer = customer_create(name="星河科技", actor=boss)
    contact_create(customer=customer, name="张伟", actor=boss)
    client.force_login(boss)

    html = client.get(reverse("audit-report"), headers={"accept-language": "zh-hans"}).content
    text = html.decode()
    contact = AuditEvent.objects.get(object_type="customers.contact")
    assert f"联系人 #{contact.object_id} · 张伟 · 星河科技" in text
    assert "customers.contact" not in text
