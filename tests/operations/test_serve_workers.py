"""`retain serve --workers 2`: gunicorn's worker processes answer, each request carries a
request id, logged as one JSON line with the worker's pid; SIGHUP restarts the workers
gracefully."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("gunicorn")

RETAIN = [sys.executable, "-c", "from retain.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, request_id: str | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(
        url, headers={"X-Request-ID": request_id} if request_id else {}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read()), response.headers["X-Request-ID"]


def _log_lines(path) -> list[dict]:
    lines = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "retain.request":
                lines.append(record)
    return lines


def _worker_pids(master: int) -> set[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True, check=False
    )
    return {int(p) for p in out.stdout.split()}


def test_serve_with_two_workers_answers_from_two_processes(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "DJANGO_"))}
    env["RETAIN_HOME"] = str(tmp_path / "home")
    subprocess.run([*RETAIN, "migrate"], env=env, check=True, capture_output=True, timeout=600)
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [*RETAIN, "serve", "--port", str(port), "--workers", "2", "--threads", "2"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text()) from None
                time.sleep(0.3)
        assert "with 2 worker processes" in log.read_text()
        workers = _worker_pids(server.pid)
        assert len(workers) == 2

        status, body, request_id = _get(f"{base}/readyz", request_id="probe-1")
        assert (status, body["status"], request_id) == (200, "ok", "probe-1")

        seen: set[int] = set()
        for _ in range(20):  # the kernel hands connections to whichever worker accepts first
            with ThreadPoolExecutor(8) as pool:
                results = list(pool.map(lambda _: _get(f"{base}/readyz"), range(16)))
            assert all(r[0] == 200 and len(r[2]) == 32 for r in results)
            time.sleep(0.2)
            seen = {r["worker_pid"] for r in _log_lines(log)}
            if len(seen) >= 2:
                break
        assert seen == workers
        probe = [r for r in _log_lines(log) if r["request_id"] == "probe-1"]
        assert len(probe) == 1
        assert (probe[0]["method"], probe[0]["path"], probe[0]["status"]) == ("GET", "/readyz", 200)

        # SIGHUP: new workers, the master stays, requests go on being answered.
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while _worker_pids(server.pid) & workers or len(_worker_pids(server.pid)) != 2:
            assert time.monotonic() < deadline, "workers were not replaced after SIGHUP"
            time.sleep(0.3)
        assert server.poll() is None
        assert _get(f"{base}/healthz")[:2] == (200, {"status": "ok"})
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert server.returncode == 0


def test_one_worker_is_waitress(tmp_path, monkeypatch):
    from retain.web import server

    assert server.default_workers() == 2 * (os.cpu_count() or 1) + 1
    monkeypatch.setattr(server, "gunicorn_available", lambda: False)
    assert server.default_workers() == 1
