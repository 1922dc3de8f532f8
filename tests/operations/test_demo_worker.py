"""`retain demo` runs the job worker too: a child process it owns and stops."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.fixtures.messaging import free_port

pytestmark = pytest.mark.slow


def test_retain_demo_runs_the_worker_and_stops_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    env["RETAIN_HOME"] = str(tmp_path)
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "retain.cli",
            "demo",
            "--customers",
            "60",
            "--port",
            str(free_port()),
        ],
        env=env,
        stdout=(tmp_path / "demo.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    beats: list = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not beats:
            time.sleep(1)
            if (tmp_path / "retain.sqlite3").exists():
                try:
                    with sqlite3.connect(tmp_path / "retain.sqlite3", timeout=5) as con:
                        beats = con.execute("select name from pipeline_workerbeat").fetchall()
                except sqlite3.OperationalError:  # not migrated yet
                    beats = []
        assert beats, (tmp_path / "demo.log").read_text()[-2000:]
        worker_pid = int(beats[0][0].rsplit(":", 1)[1])
        assert worker_pid != demo.pid
    finally:
        demo.send_signal(signal.SIGINT)  # Ctrl+C
        demo.wait(timeout=60)
    # the worker stopped with the demo
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the demo's worker outlived the demo")
