"""/healthz and /readyz: JSON for load balancers, no login, no personal data."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_healthz_answers_without_login_or_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/healthz").status_code == 405


def _run(status: str, started: dt.datetime, finished: dt.datetime | None):
    from retain.scoring.models import ScoringRun

    return ScoringRun.objects.create(
        as_of=dt.date(2026, 10, 31), status=status, started_at=started, finished_at=finished
    )


@pytest.mark.django_db
def test_readyz_reports_database_queue_and_a_never_run_scoring(client):
    with time_machine.travel(NOW, tick=False):
        response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"] == {"ok": True, "backend": "sqlite", "pending": 0}
    assert body["checks"]["scoring"] == {"state": "never"}


@pytest.mark.django_db
def test_readyz_gives_the_last_scoring_runs_state_and_age(client, demo_company):
    _run("done", NOW - dt.timedelta(days=3), NOW - dt.timedelta(days=3) + dt.timedelta(minutes=1))
    _run("failed", NOW - dt.timedelta(hours=2, minutes=5), NOW - dt.timedelta(hours=2))
    with time_machine.travel(NOW, tick=False):
        response = client.get("/readyz")
    assert response.status_code == 200
    scoring = response.json()["checks"]["scoring"]
    assert scoring == {
        "state": "failed",
        "as_of": "2026-10-31",
        "started_at": "2026-11-01T07:55:00+00:00",
        "finished_at": "2026-11-01T08:00:00+00:00",
        "age_seconds": 7200,
        "stale": False,
    }
    # Nothing about a customer, a user or an error text reaches an anonymous caller.
    text = response.content.decode()
    names = list(demo_company_names())
    assert names and not any(name in text for name in names)


def demo_company_names():
    from retain.accounts.models import User
    from retain.customers.models import Customer

    yield from Customer.objects.values_list("name", flat=True)[:50]
    yield from User.objects.values_list("username", flat=True)


@pytest.mark.django_db
def test_readyz_marks_an_old_run_stale(client):
    _run("done", NOW - dt.timedelta(days=2), NOW - dt.timedelta(hours=37))
    with time_machine.travel(NOW, tick=False):
        scoring = client.get("/readyz").json()["checks"]["scoring"]
    assert (scoring["state"], scoring["age_seconds"], scoring["stale"]) == ("done", 37 * 3600, True)


@pytest.mark.django_db
def test_readyz_is_unavailable_when_the_job_queue_does_not_answer(client, monkeypatch):
    """A real Redis client against a port nothing listens on."""
    import huey.contrib.djhuey as djhuey
    from huey import RedisHuey

    monkeypatch.setattr(djhuey, "HUEY", RedisHuey("retain", url="redis://127.0.0.1:1/0"))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"] == {"ok": False, "backend": "redis", "error": "ConnectionError"}


@pytest.mark.django_db
def test_request_ids_are_kept_when_plain_and_replaced_otherwise(client, caplog):
    with caplog.at_level("INFO", logger="retain.request"):
        kept = client.get("/healthz?q=张三", headers={"X-Request-ID": "lb-42.a_b"})
        replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\n"})
    assert kept["X-Request-ID"] == "lb-42.a_b"
    assert len(replaced["X-Request-ID"]) == 32 and replaced["X-Request-ID"].isalnum()
    records = [r for r in caplog.records if r.name == "retain.request"]
    assert [(r.request_id, r.fields["path"], r.fields["status"]) for r in records] == [
        ("lb-42.a_b", "/healthz", 200),
        (replaced["X-Request-ID"], "/healthz", 200),
    ]
