"""Fixtures of the retention-operations tests: a real SMTP server, Huey in immediate mode,
and scoring over the test database (rows read through the ORM: the test transaction is not
visible to another connection)."""

from __future__ import annotations

import datetime as dt
import email
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

NOW = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)  # 18:00 in Shanghai: outside quiet hours


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        message["X-Rcpt-To"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        return list(self.messages)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["X-Rcpt-To"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
