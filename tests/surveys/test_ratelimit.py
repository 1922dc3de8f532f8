"""The public survey page's rate limit is one count for every server process: two cache
clients on the project's file cache, and two processes, fill the same window."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from django.core.cache.backends.filebased import FileBasedCache

from retain.surveys.ratelimit import survey_rate_limited

MINUTE = 1_800_000_000.0  # a fixed instant at the start of a one-minute window


def _file_cache(folder) -> FileBasedCache:
    """A client of the file cache as ``retain.settings`` configures it (files in a folder)."""
    return FileBasedCache(str(folder), {"OPTIONS": {"MAX_ENTRIES": 5000}})


def test_two_cache_clients_share_the_count(tmp_path):
    first, second = _file_cache(tmp_path), _file_cache(tmp_path)

    verdicts = [
        survey_rate_limited("10.0.0.1", limit=5, store=store, now=MINUTE + i)
        for i, store in enumerate([first, second] * 3)
    ]

    # 6 requests, alternately through the two clients: the 6th is the one over 5
    assert verdicts == [False] * 5 + [True]
    # another address and the next window have their own counts
    assert survey_rate_limited("10.0.0.2", limit=5, store=second, now=MINUTE) is False
    assert survey_rate_limited("10.0.0.1", limit=5, store=first, now=MINUTE + 60) is False


def test_two_processes_share_the_count(tmp_path):
    script = textwrap.dedent(
        f"""
        import django
        from django.conf import settings
        settings.configure(CACHES={{"default": {{
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": {str(tmp_path)!r}}}}})
        django.setup()
        from retain.surveys.ratelimit import survey_rate_limited
        print(",".join(
            str(survey_rate_limited("10.0.0.9", limit=7, now={MINUTE} + i)) for i in range(4)
        ))
        """
    )

    def other_process() -> str:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    # another process counts 4, this one (its own client) 3, the other one 4 more
    assert other_process() == "False,False,False,False"
    mine = [
        survey_rate_limited("10.0.0.9", limit=7, store=_file_cache(tmp_path), now=MINUTE + 5)
        for _ in range(3)
    ]
    assert mine == [False, False, False]
    assert other_process() == "True,True,True,True"


@pytest.mark.parametrize("limit", [0, -1])
def test_no_limit(tmp_path, limit):
    store = _file_cache(tmp_path)
    assert not any(
        survey_rate_limited("10.0.0.1", limit=limit, store=store, now=MINUTE) for _ in range(100)
    )
    assert store.get("survey-rate:10.0.0.1:30000000") is None
