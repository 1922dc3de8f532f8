"""The import wizard in a real Chromium: upload the seed sheet (GBK CSV), check the
detected mapping and preview, import, watch the job finish."""

from __future__ import annotations

import pytest

from retain.customers.models import Customer
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.imports.conftest import SEED_HEADER, SEED_ROWS, write_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def huey_immediate(settings, tmp_path):
    from huey.contrib.djhuey import HUEY

    settings.MEDIA_ROOT = tmp_path / "media"
    HUEY.immediate = True
    yield
    HUEY.immediate = False


def test_upload_map_preview_and_import_the_seed_sheet(
    page, live_server, admin_user, huey_immediate, tmp_path
):
    path = write_csv(tmp_path / "客户信息表.csv", SEED_HEADER, SEED_ROWS, "gbk")
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.click("nav >> text=导入")
    page.set_input_files("#file", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#mapping")
    shot(page, "import-mapping")

    assert page.locator("#kind").input_value() == "customers"
    assert page.locator("select[name=col-0]").input_value() == "code"
    assert page.locator("select[name=col-5]").input_value() == "first_contact_date"
    assert (
        page.locator("#preview-summary").inner_text() == "前 2 行:新建 2,更新 0,未变 0,有错误 0。"
    )
    assert page.locator("#preview tbody tr").count() == 2
    assert Customer.objects.count() == 0

    page.click("#commit")
    page.wait_for_selector("#job-status[data-status=done]")
    shot(page, "import-done")

    assert page.locator("#job-result").inner_text().split() == [
        "读取行数",
        "2",
        "新建",
        "2",
        "更新",
        "0",
        "未变",
        "0",
        "退回",
        "0",
    ]
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["C2024001", "C2024002"]
    assert Customer.objects.get(code="C2024001").contacts.get().name == "张*"
