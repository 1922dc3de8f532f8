"""Fixtures of the retention-operations tests: a real SMTP server, Huey in immediate mode,
and scoring over the test database (rows read through the ORM: the test transaction is not
visible to another connection)."""

from __future__ import annotations

import datetime as dt

import pytest
from aiosmtpd.controller import Controller

from tests.fixtures.messaging import Mailbox, free_port

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)  # 18:00 in Shanghai: outside quiet hours


@pytest.fixture
def smtp_server(settings):
    """A real aiosmtpd SMTP server on 127.0.0.1; Django sends to it."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_TIMEOUT = 5
    yield mailbox
    controller.stop()


@pytest.fixture(autouse=True)
def huey_immediate():
    """Huey runs tasks in-process in the unit tests (the worker test uses a real one)."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = before


@pytest.fixture
def score(db):
    """Run the scoring service over the test database as of a date."""
    from retain.scoring.services import scoring_run
    from retain.scoring.tables import TableSource

    def run(as_of: dt.date, now: dt.datetime = NOW):
        return scoring_run(as_of=as_of, source=TableSource.MEMORY, now=now)

    return run


@pytest.fixture(autouse=True)
def english():
    """Texts written by the jobs (task reasons, notifications) are asserted in English."""
    from django.utils import translation

    with translation.override("en"):
        yield
