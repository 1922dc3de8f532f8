"""Step timer shared by the two sides of the analytics benchmark (each runs in its own venv).

Both import it from this folder (a script's folder is on ``sys.path``); standard library only.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STEPS = ("summary", "fit", "scoring", "ltv")


class StepTimer:
    """Wall and CPU seconds of named steps, each step timed once per run of the pipeline."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start, cpu_start = time.perf_counter(), time.process_time()
        yield
        self.wall.setdefault(name, []).append(time.perf_counter() - start)
        self.cpu.setdefault(name, []).append(time.process_time() - cpu_start)

    def medians(self) -> tuple[dict[str, float], dict[str, float]]:
        """Median wall and CPU seconds of every timed step, plus ``end_to_end``: the sum over
        :data:`STEPS` (other steps, such as a reference query, are reported but not added)."""
        wall = {name: statistics.median(times) for name, times in self.wall.items()}
        cpu = {name: statistics.median(times) for name, times in self.cpu.items()}
        wall["end_to_end"] = sum(wall[name] for name in STEPS)
        cpu["end_to_end"] = sum(cpu[name] for name in STEPS)
        return wall, cpu


def peak_rss_mb() -> float:
    """VmHWM (peak resident set) of this process, in MiB (NaN where /proc has no such line)."""
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
