"""Load test of the public survey page: answers at a fixed rate against ``retain serve``
(gunicorn) on loopback, driven by locust and bounded in time, then a check in the database
that no answer was lost or doubled.

    .venv/bin/python benchmarks/survey_load.py --rate 200 --duration 60 --workers 5

The script makes a fresh RETAIN_HOME (or uses ``--home``), migrates, writes one survey (an
NPS and a "why?" question) and enough single-use links for the run (bulk, tokens hashed as
``retain.surveys.sending`` does), starts ``retain serve`` with the survey rate limit off
(``RETAIN_SURVEY_RATE_LIMIT=0``: every request comes from 127.0.0.1, see docs/surveys.md),
and runs locust on this same file: ``--rate`` users, each answering once a second
(``constant_throughput(1)``): it opens its link (GET: the form and its CSRF cookie), posts
the answer, and for one answer in 20 posts it a second time (a replay, which must get 410).
Set RETAIN_DATABASE_URL to run against PostgreSQL.

Afterwards it compares the answers the server acknowledged (200 with the thank-you page)
with the database: answers of the survey, invitations with an answer, and answers without
an invitation. Prints requests, failures, p50/p95/p99 per request type, answers per second,
and the load average before and after. Exit status 1 on a lost or doubled answer.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# ------------------------------------------------------------------ the locust side

if os.environ.get("SURVEY_LOAD_TOKENS"):
    from locust import HttpUser, constant_throughput, events, task

    TOKENS = Path(os.environ["SURVEY_LOAD_TOKENS"]).read_text().split()
    QUESTIONS = json.loads(os.environ["SURVEY_LOAD_QUESTIONS"])
    _next = itertools.count()
    ACKED = {"answers": 0, "replays_refused": 0, "replays_accepted": 0}

    class Respondent(HttpUser):
        wait_time = constant_throughput(1)

        @task
        def answer(self) -> None:
            n = next(_next)
            if n >= len(TOKENS):
                return
            path = f"/s/{TOKENS[n]}/"
            form = self.client.get(path, name="GET /s/<token>/")
            found = CSRF.search(form.text or "")
            if form.status_code != 200 or not found:
                return
            data = {
                "csrfmiddlewaretoken": found.group(1),
                f"q{QUESTIONS['nps']}": str(n % 11),
                f"q{QUESTIONS['why']}": f"load {n}",
            }
            headers = {"Referer": self.host + path, "Origin": self.host}
            with self.client.post(
                path, data=data, headers=headers, name="POST /s/<token>/", catch_response=True
            ) as done:
                if done.status_code == 200 and 'id="survey-thanks"' in done.text:
                    ACKED["answers"] += 1
                    done.success()
                else:
                    done.failure(f"HTTP {done.status_code}")
                    return
            if n % 20 == 0:  # a replay of the same form must change nothing
                with self.client.post(
                    path, data=data, headers=headers, name="POST replay", catch_response=True
                ) as again:
                    if again.status_code == 410:
                        ACKED["replays_refused"] += 1
                        again.success()
                    else:
                        ACKED["replays_accepted"] += 1
                        again.failure(f"replay got HTTP {again.status_code}")

    @events.test_stop.add_listener
    def _write_acked(**_kwargs) -> None:  # type: ignore[no-untyped-def]
        Path(os.environ["SURVEY_LOAD_ACKED"]).write_text(json.dumps(ACKED))


# ------------------------------------------------------------------ the driver


def _django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.settings")
    import django

    django.setup()


def _prepare(count: int) -> tuple[list[str], dict[str, int], int]:
    """One survey and ``count`` single-use links (bulk); returns tokens, question ids, survey."""
    import datetime as dt

    from django.utils import timezone

    from retain.customers.models import Customer
    from retain.surveys.models import (
        InvitationChannel,
        QuestionKind,
        Survey,
        SurveyInvitation,
        SurveyQuestion,
    )

    now = timezone.now()
    survey = Survey.objects.create(name=f"load {now:%H%M%S}", title_en="Load", title_zh="压测")
    nps = SurveyQuestion.objects.create(
        survey=survey, position=0, kind=QuestionKind.NPS, text_zh="推荐吗？", text_en="Recommend?"
    )
    why = SurveyQuestion.objects.create(
        survey=survey,
        position=1,
        kind=QuestionKind.TEXT,
        text_zh="为什么？",
        text_en="Why?",
        required=False,
    )
    start = Customer.objects.count()
    Customer.objects.bulk_create(
        [Customer(code=f"LOAD{start + i:07d}", name=f"压测客户{i}") for i in range(count)],
        batch_size=2000,
    )
    customers = list(Customer.objects.filter(code__startswith="LOAD").order_by("-pk")[:count])
    tokens = [secrets.token_urlsafe(24) for _ in customers]
    SurveyInvitation.objects.bulk_create(
        [
            SurveyInvitation(
                survey=survey,
                customer=c,
                token_hash=hashlib.sha256(t.encode()).hexdigest(),
                channel=InvitationChannel.LINK,
                greeting_name=c.name,
                language="en",
                created_at=now,
                send_after=now,
                sent_at=now,
                expires_at=now + dt.timedelta(days=1),
            )
            for c, t in zip(customers, tokens, strict=True)
        ],
        batch_size=2000,
    )
    return tokens, {"nps": nps.pk, "why": why.pk}, survey.pk


def _check(survey_id: int) -> dict[str, int]:
    from django.db import connections

    from retain.surveys.models import SurveyInvitation, SurveyResponse

    connections.close_all()
    answers = SurveyResponse.objects.filter(survey_id=survey_id)
    return {
        "answers": answers.count(),
        "invitations_answered": SurveyInvitation.objects.filter(
            survey_id=survey_id, response__isnull=False
        ).count(),
        "answers_without_invitation": answers.filter(invitation__isnull=True).count(),
    }


def _wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server at {url} did not answer")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=200, help="answers a second (users)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--home", help="RETAIN_HOME to use (default: a fresh temporary one)")
    args = parser.parse_args()

    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="survey-load-"))
    env = {
        "RETAIN_HOME": str(home),
        "RETAIN_SURVEY_RATE_LIMIT": "0",
        "RETAIN_BASE_URL": f"http://127.0.0.1:{args.port}",
    }
    full_env = {**os.environ, **env}
    retain = str(VENV_BIN / "retain")
    subprocess.run([retain, "migrate"], env=full_env, check=True, capture_output=True)
    _django(env)
    links = args.rate * args.duration + args.rate * 5  # headroom for the ramp
    started = time.perf_counter()
    tokens, questions, survey_id = _prepare(links)
    print(f"prepared {len(tokens):,} links in {time.perf_counter() - started:.1f} s")
    token_file = home / "tokens.txt"
    token_file.write_text("\n".join(tokens))
    acked_file = home / "acked.json"
    server = subprocess.Popen(
        [retain, "serve", "--workers", str(args.workers), "--port", str(args.port)],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    host = f"http://127.0.0.1:{args.port}"
    try:
        _wait_up(host)
        print(f"load average before (1/5/15 min): {_load()}")
        locust = subprocess.run(
            [
                str(VENV_BIN / "locust"),
                "-f",
                __file__,
                "--headless",
                "--only-summary",
                "--host",
                host,
                "--users",
                str(args.rate),
                "--spawn-rate",
                str(max(args.rate // 5, 1)),
                "--run-time",
                f"{args.duration}s",
                "--stop-timeout",
                "10",
            ],
            env={
                **full_env,
                "SURVEY_LOAD_TOKENS": str(token_file),
                "SURVEY_LOAD_QUESTIONS": json.dumps(questions),
                "SURVEY_LOAD_ACKED": str(acked_file),
            },
            timeout=args.duration + 120,
            check=False,
        )
        print(f"load average after (1/5/15 min): {_load()}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    acked = json.loads(acked_file.read_text()) if acked_file.exists() else {}
    found = _check(survey_id)
    print(
        f"answers acknowledged by the server: {acked.get('answers', 0):,} "
        f"({acked.get('answers', 0) / args.duration:.1f} a second over {args.duration} s)"
    )
    print(
        f"replays refused (410): {acked.get('replays_refused', 0):,}; "
        f"replays accepted: {acked.get('replays_accepted', 0):,}"
    )
    print(f"in the database: {found}")
    ok = (
        locust.returncode in (0, 1)
        and found["answers"] == acked.get("answers", -1)
        and found["invitations_answered"] == found["answers"]
        and found["answers_without_invitation"] == 0
        and acked.get("replays_accepted", 0) == 0
    )
    print("no lost or doubled answers" if ok else "LOST OR DOUBLED ANSWERS")
    if not args.home:
        shutil.rmtree(home, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
