"""Two writers at once, on PostgreSQL (SQLite runs one writer at a time): a service task is
opened once, round-robin turns are never handed out twice, an import job starts once, a
plan's entrants are assigned once."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from pathlib import Path

import pytest
from django.core.files import File
from django.db import connection

from retain.accounts.models import Role, Team
from retain.playbooks.models import OwnerRule, Playbook, PlaybookAction, Segment
from retain.tasks.models import Task
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("a race needs two real writers: PostgreSQL only")


def together(*calls):
    """Run the calls in two threads at once; return their results (or exceptions)."""
    out: list[object] = [None] * len(calls)

    def run(i, call):
        try:
            out[i] = call()
        except Exception as exc:  # the test asserts on it
            out[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def test_a_service_task_is_opened_once_by_two_writers(monkeypatch):
    import retain.tasks.services as services

    customer = CustomerFactory()
    UserFactory(username="desk", role=Role.SERVICE)
    meet = threading.Barrier(2)
    real = services.service_owner

    def owner():
        # both writers get this far before either saves (unless one is made to wait)
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=2)
        return real()

    monkeypatch.setattr(services, "service_owner", owner)

    def open_task():
        return services.service_task_open(
            customer=customer,
            key="survey:1",
            title="Call back",
            reason="NPS 2",
            due_on=NOW.date(),
            now=NOW,
        )

    results = together(open_task, open_task)

    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(isinstance(r, Task) for r in results) == 1
    assert Task.objects.filter(customer=customer, key="survey:1").count() == 1


def test_round_robin_turns_are_never_handed_out_twice():
    from retain.tasks.services import _owners_for

    team = Team.objects.create(name="race team")
    members = [UserFactory(username=f"rr{n}", team=team) for n in range(3)]
    segment = Segment.objects.create(name="race", conditions={"all": []})
    playbook = Playbook.objects.create(name="race", segment=segment)
    action = PlaybookAction.objects.create(
        playbook=playbook,
        name="call",
        every_days=30,
        channel="phone",
        owner_rule=OwnerRule.TEAM_ROUND_ROBIN,
        team=team,
    )
    # two runs that each read the action before either wrote its turn
    first = PlaybookAction.objects.select_related("playbook").get(pk=action.pk)
    second = PlaybookAction.objects.select_related("playbook").get(pk=action.pk)
    a, b = CustomerFactory(), CustomerFactory()

    results = together(
        lambda: _owners_for(first, [a.pk], {}), lambda: _owners_for(second, [b.pk], {})
    )

    owners = {results[0][a.pk], results[1][b.pk]}
    assert owners == {members[0].pk, members[1].pk}
    assert PlaybookAction.objects.get(pk=action.pk).round_robin_next == 2


def test_an_import_job_starts_once_when_two_workers_get_it(tmp_path, monkeypatch, settings):
    import retain.imports.services as services
    from retain.imports.models import ImportJob, ImportStatus

    settings.MEDIA_ROOT = str(tmp_path / "media")
    user = UserFactory(username="importer", role=Role.ADMIN, is_superuser=True)
    path = Path(tmp_path / "c.csv")
    path.write_text("客户编号,客户名称,客户类型\nR1,赛跑公司,企业\n", encoding="utf-8")
    with path.open("rb") as fh:
        job = ImportJob(kind="customers", original_name="c.csv", created_by=user)
        job.file.save("c.csv", File(fh), save=True)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    started = []
    real = services.import_file

    def counted(**kw):
        started.append(threading.get_ident())
        return real(**kw)

    monkeypatch.setattr(services, "import_file", counted)

    results = together(
        lambda: services.import_job_run(job=ImportJob.objects.get(pk=job.pk)),
        lambda: services.import_job_run(job=ImportJob.objects.get(pk=job.pk)),
    )

    assert not any(isinstance(r, Exception) for r in results), results
    assert len(started) == 1
    done = ImportJob.objects.get(pk=job.pk)
    assert (done.status, done.created_count) == (ImportStatus.DONE, 1), done.error_summary


def test_two_runs_at_once_assign_a_plans_entrants_once():
    from retain.playbooks.assignment import plan_assignments_update
    from retain.playbooks.models import PlanAssignment

    segment = Segment.objects.create(name="race plan", conditions={"all": []})
    playbook = Playbook.objects.create(name="race plan", segment=segment, holdout_percent=50)
    customers = [CustomerFactory(code=f"RP{n:02d}") for n in range(20)]
    members = {c.pk: c.code for c in customers}
    meet = threading.Barrier(2)

    def run():
        # both runs have read the plan and its members before either writes
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=2)
        return plan_assignments_update(
            playbook=Playbook.objects.get(pk=playbook.pk),
            members=members,
            eligible=set(members),
            now=NOW,
        )

    results = together(run, run)

    assert not any(isinstance(r, Exception) for r in results), results
    assert results[0] == results[1]
    assert len(results[0]) == 20
    rows = PlanAssignment.objects.filter(playbook=playbook, left_at__isnull=True)
    assert rows.count() == 20
    assert {r.customer_id: r.holdout for r in rows} == {
        cid: arm.holdout for cid, arm in results[0].items()
    }
