"""A send to a segment whose worker dies: the job queued again resumes after the last batch
done (nobody invited twice, the counts add up), and a job lost too often leaves the send
"failed" with the reason, never "Sending" for ever."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from retain.accounts.services import user_create
from retain.customers.services import consent_set
from retain.pipeline.models import JobStatus, WorkerJob
from retain.pipeline.queue import MAX_ATTEMPTS, _queue, lost_jobs_reap
from retain.playbooks.models import Segment
from retain.surveys import sending
from retain.surveys.models import SendStatus, SurveyInvitation, SurveySend
from retain.surveys.templates_library import survey_from_template
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(db):
    return user_create(username="mk", password=PASSWORD, role="marketing")


def _customers(n: int) -> list:
    out = []
    for i in range(n):
        customer = CustomerFactory(name=f"客户 {i}", code=f"C-{i}")
        ContactFactory(customer=customer, email=f"c{i}@example.com", is_primary=True)
        consent_set(customer=customer, channel="email", granted=True, source="form")
        out.append(customer)
    return out


def _send(survey, marketer, **fields) -> SurveySend:
    segment, _ = Segment.objects.get_or_create(name="all", defaults={"conditions": {"all": []}})
    return SurveySend.objects.create(
        survey=survey,
        segment=segment,
        segment_name=segment.name,
        channel="email",
        actor=marketer,
        created_at=timezone.now(),
        **fields,
    )


def test_a_send_whose_worker_died_resumes_after_the_last_batch_done(marketer, monkeypatch):
    monkeypatch.setattr(sending, "BATCH", 2)
    people = _customers(5)
    survey = survey_from_template(key="after_purchase", actor=marketer)
    # the first worker committed one batch of two, then died: the send says "Sending"
    send = _send(survey, marketer, status=SendStatus.RUNNING, total=5)
    sending.survey_send_run(send_id=send.pk)  # (a first run, to have real first invitations)
    SurveyInvitation.objects.filter(customer__in=people[2:]).delete()
    SurveySend.objects.filter(pk=send.pk).update(
        status=SendStatus.RUNNING, last_customer_id=people[1].pk, processed=2, invited=2
    )

    again = sending.survey_send_run(send_id=send.pk)  # the job queued again by the reaper

    assert (again.status, again.total, again.processed, again.invited) == (
        SendStatus.DONE,
        5,
        5,
        5,
    )
    assert again.capped == 0  # nobody counted "asked lately" because this send asked them
    per_customer = sorted(SurveyInvitation.objects.values_list("customer_id", flat=True))
    assert per_customer == sorted(c.pk for c in people)
    # a third run of a finished send does nothing
    assert sending.survey_send_run(send_id=send.pk).invited == 5
    assert SurveyInvitation.objects.count() == 5


def test_a_send_job_lost_too_often_fails_the_send_visibly(marketer):
    _customers(1)
    survey = survey_from_template(key="after_purchase", actor=marketer)
    send = _send(survey, marketer, status=SendStatus.RUNNING, total=1)
    other = _send(survey, marketer, status=SendStatus.RUNNING, total=1)
    from retain.surveys.tasks import survey_send_job

    job = survey_send_job.s(send_id=send.pk)
    WorkerJob.objects.create(
        task_id="lost-send",
        name=job.name,
        data=_queue().serialize_task(job),
        host="elsewhere.example",
        pid=4242,
        started_at=timezone.now() - dt.timedelta(days=1),
        attempts=MAX_ATTEMPTS,
    )

    assert lost_jobs_reap() == (0, 1)

    send.refresh_from_db()
    assert send.status == SendStatus.FAILED and send.finished_at is not None
    assert send.error == "worker elsewhere.example:4242 stopped while running attempt 2 of 2"
    assert WorkerJob.objects.get().status == JobStatus.FAILED
    other.refresh_from_db()
    assert other.status == SendStatus.RUNNING  # only the lost job's send
