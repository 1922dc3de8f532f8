"""Loading a scores file of `retain analyze` from the Imports page in a real Chromium, in
both languages: the upload is queued, the page polls, the worker loads it (or names the bad
row), and the page shows the outcome without a reload."""

from __future__ import annotations

import pandas as pd
import pytest

from retain.accounts.services import user_create
from retain.scoring.models import CustomerScore, ScoresUpload
from tests.browser.conftest import shot, sign_in
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "zh-hans": {
        "nav": "数据导入",
        "done": "已载入 3 位客户截至 2026-11-01 的评分。",
        "bad": "scores-bad.csv 第 2 行，字段 churn_probability：'high-ish' 不是数字（共 1 行如此）",
    },
    "en": {
        "nav": "Imports",
        "done": "Loaded the scores of 3 customers as of 2026-11-01.",
        "bad": (
            "scores-bad.csv row 2, field churn_probability: 'high-ish' is not a number "
            "(1 such row(s))"
        ),
    },
}


@pytest.fixture
def worker_later(settings, tmp_path, monkeypatch):
    """Queued loads wait until the test plays the worker (``run_queued``)."""
    import retain.scoring.tasks

    settings.MEDIA_ROOT = tmp_path / "media"
    queued: list[int] = []
    monkeypatch.setattr(retain.scoring.tasks, "scores_upload_task", queued.append)
    return queued


def run_queued(queued: list[int]) -> None:
    from retain.scoring.uploads import scores_upload_run

    while queued:
        scores_upload_run(job=ScoresUpload.objects.get(pk=queued.pop(0)))


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_an_analyst_loads_scores_and_sees_a_bad_file_named(
    page, live_server, worker_later, tmp_path, lang
):
    user_create(username="ana", password=PASSWORD, role="analyst")
    customers = [CustomerFactory(code=f"C{i:03d}") for i in range(3)]
    scores = pd.DataFrame(
        {
            "customer_id": [c.pk for c in customers],
            "rfm_segment": ["champions", "at_risk", "hibernating"],
            "lifecycle_stage": ["returning", "returning", "churned"],
            "churn_risk": ["low", "high", "medium"],
            "churn_probability": ["0.1", "0.8", "0.5"],
        }
    )
    good = tmp_path / "scores.parquet"
    scores.astype({"churn_probability": float}).to_parquet(good, index=False)
    bad = tmp_path / "scores-bad.csv"
    scores.assign(churn_probability=["0.1", "high-ish", "0.5"]).to_csv(bad, index=False)
    text = TEXT[lang]
    sign_in(page, live_server, "ana", lang)

    page.click(f"nav >> text={text['nav']}")
    shot(page, f"scores-upload-form-{lang}")
    page.set_input_files("#scores-file", str(good))
    page.fill("#scores-as-of", "2026-11-01")
    page.click("#scores-form button[type=submit]")
    page.wait_for_selector("#job-status[data-status=queued]")
    shot(page, f"scores-upload-queued-{lang}")
    run_queued(worker_later)  # the worker loads it; the page polls
    page.wait_for_selector("#job-status[data-status=done]")
    shot(page, f"scores-upload-done-{lang}")

    assert page.locator("#job-result").inner_text().startswith(text["done"])
    assert CustomerScore.objects.count() == 3

    page.goto(f"{live_server.url}/imports/scores/")
    page.set_input_files("#scores-file", str(bad))
    page.fill("#scores-as-of", "2026-11-01")
    page.click("#scores-form button[type=submit]")
    page.wait_for_selector("#job-status[data-status=queued]")
    run_queued(worker_later)
    page.wait_for_selector("#job-status[data-status=failed]")
    shot(page, f"scores-upload-bad-{lang}")

    assert page.locator("#job-error").inner_text() == text["bad"]
    assert dict(CustomerScore.objects.values_list("customer__code", "churn_risk")) == {
        "C000": "low",
        "C001": "high",
        "C002": "medium",
    }  # the bad file changed nothing
    page.goto(f"{live_server.url}/imports/scores/")
    assert page.locator("#scores-uploads tbody tr").count() == 2
