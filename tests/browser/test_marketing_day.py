"""Marketing's day in a real Chromium, in both languages: the segment 制造业 AND 品质优先
built from labelled choices, its live count, and saved (the Save button used to do nothing
because the form's htmx parameters dropped the name)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from retain.accounts.services import user_create
from retain.playbooks.models import Segment
from retain.tags.models import CustomerTag, Tag, TagGroup
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOW = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def _login(page, live_server, username: str, path: str) -> None:
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")


@pytest.mark.parametrize(
    ("locale", "saved_text"), [("zh-CN", "分群已保存"), ("en", "Segment saved")]
)
def test_marketing_saves_a_tag_segment_from_labelled_choices(
    browser, live_server, locale, saved_text
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        with time_machine.travel(NOW, tick=True):
            user_create(username="mk", password=PASSWORD, role="marketing")
            maker = Tag.objects.create(
                group=TagGroup.objects.create(name="行业", kind="industry"), name="制造业"
            )
            quality = Tag.objects.create(
                group=TagGroup.objects.create(name="需求", kind="need"), name="品质优先"
            )
            customers = [CustomerFactory(code=f"M{i}") for i in range(3)]
            for customer, tags in zip(
                customers, ([maker, quality], [maker], [quality]), strict=True
            ):
                for tag in tags:
                    CustomerTag.objects.create(customer=customer, tag=tag, tagged_at=NOW)

            _login(page, live_server, "mk", "/segments/")
            rows = page.locator("#segment-form .row")
            for i, name in enumerate(("制造业", "品质优先")):
                rows.nth(i).locator("select[name=f]").select_option("tag")
                assert rows.nth(i).locator("input[name=v]").get_attribute("list") == "values-tag"
                rows.nth(i).locator("input[name=v]").fill(name)
            page.wait_for_selector("#segment-size >> text=1")
            assert page.locator("#segment-members a").all_inner_texts() == ["M0"]
            page.fill("#segment-name", "制造业+品质优先")
            page.click("#segment-save")
            page.wait_for_selector(f".message >> text={saved_text}")
            segment = Segment.objects.get(name="制造业+品质优先")
            assert segment.conditions == {
                "all": [
                    {"field": "tag", "op": "eq", "value": "制造业"},
                    {"field": "tag", "op": "eq", "value": "品质优先"},
                ]
            }
            assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
            shot(page, f"segment-saved-{locale}")
    finally:
        context.close()
