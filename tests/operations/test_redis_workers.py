"""Two real ``retain worker`` processes on Redis: a periodic job runs once per minute (not once
per worker), and a job whose worker is killed mid-job is queued again, then marked failed
when its second worker is killed too (never silently lost).

Redis db 5 of 127.0.0.1:6379 (flushed before and after), a file SQLite database in a fresh home.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

# the workers use a file SQLite database of their own whatever the pass: once is enough
pytestmark = [pytest.mark.slow, pytest.mark.one_pass]

SLOW_ROW = "select status, attempts from pipeline_workerjob where name like '%slow_job'"
SLOW_ROW_ERROR = (
    "select status, attempts, error from pipeline_workerjob where name like '%slow_job'"
)
REDIS_URL = "redis://127.0.0.1:6379/5"
ROOT = Path(__file__).resolve().parents[2]
# the real `retain worker`, with the jobs of tests/operations/worker_jobs.py registered
WORKER = (
    "import sys\n"
    "import tests.operations.worker_jobs\n"
    "from retain.cli import main\n"
    "sys.argv = ['retain', *sys.argv[1:]]\n"
    "main()\n"
)


@pytest.fixture
def redis_db():
    import redis

    con = redis.Redis.from_url(REDIS_URL)
    try:
        con.ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    con.flushdb()
    yield con
    con.flushdb()
    con.close()


class Workers:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.logs = home / "jobs"
        self.logs.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
        self.env.update(
            RETAIN_HOME=str(home),
            RETAIN_REDIS_URL=REDIS_URL,
            WORKER_JOB_LOG=str(self.logs),
            PYTHONPATH=str(ROOT),
        )
        self.procs: list[subprocess.Popen] = []

    def run(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "retain.cli", *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            timeout=300,
        )

    def start(self) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, "worker", "--workers", "2"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(self.logs / f"worker-{len(self.procs)}.err").open("w"),
        )
        self.procs.append(proc)
        return proc

    def python(self, code: str) -> None:
        subprocess.run(
            [sys.executable, "-c", code], env=self.env, cwd=ROOT, check=True, timeout=120
        )

    def lines(self, name: str) -> list[str]:
        path = self.logs / name
        return path.read_text().splitlines() if path.exists() else []

    def wait_lines(self, name: str, want, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines(name)
            if want(lines):
                return lines
            time.sleep(0.5)
        return self.lines(name)

    def row(self, sql: str):
        with sqlite3.connect(self.home / "retain.sqlite3", timeout=30) as con:
            return con.execute(sql).fetchone()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_two_workers_on_redis_run_a_periodic_job_once_and_lose_no_job(tmp_path, redis_db):
    # given a site on Redis with two worker processes
    site = Workers(tmp_path)
    site.run("migrate")
    try:
        first, second = site.start(), site.start()

        # when they run for two minute boundaries
        lines = site.wait_lines(
            "periodic.log", lambda ls: len({line.split()[0] for line in ls}) >= 2, timeout=240
        )
        # then the every-minute job ran once a minute, not once per worker
        per_minute = Counter(line.split()[0] for line in lines)
        assert len(per_minute) >= 2, lines
        assert set(per_minute.values()) == {1}, lines
        # and both schedulers were live: each minute was claimed in Redis by one of them
        claims = redis_db.keys("huey.retain.periodic.*every_minute*")
        assert len(claims) >= len(per_minute)

        # when a slow job starts on one worker and that worker is killed
        site.python("from tests.operations.worker_jobs import slow_job; slow_job(600)")
        started = site.wait_lines("slow.log", lambda ls: len(ls) >= 1, timeout=60)
        victim = int(started[0].split()[1])
        assert victim in {first.pid, second.pid}
        os.kill(victim, signal.SIGKILL)
        (first if victim == first.pid else second).wait(timeout=30)  # no zombie left
        survivor = second if victim == first.pid else first
        # then the surviving worker finds the job lost (within a minute) and runs it again
        again = site.wait_lines("slow.log", lambda ls: len(ls) >= 2, timeout=150)
        assert again == [f"start {victim}", f"start {survivor.pid}"]
        assert site.row(SLOW_ROW) == ("running", 2)

        # when its second worker is killed too and a new worker starts
        os.kill(survivor.pid, signal.SIGKILL)
        survivor.wait(timeout=30)
        site.start()
        # then the job is marked failed, with the worker that died, and not started a third time
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = site.row(SLOW_ROW_ERROR)
            if row[0] == "failed":
                break
            time.sleep(0.5)
        assert row[:2] == ("failed", 2)
        assert f":{survivor.pid} stopped while running attempt 2 of 2" in row[2]
        time.sleep(5)
        assert len(site.lines("slow.log")) == 2
        assert redis_db.llen("huey.redis.retain") == 0
    finally:
        site.stop()
