"""Step timer shared by the two sides of the analytics benchmark (each runs in its own venv).

Both import it from this folder (a script's folder is on ``sys.path``); standard library only.
"""

from __future__ import annotations

import ctypes
import os
import resource
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
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


@dataclass
class TreeRun:
    """A command run by :func:`run_tree`: its whole process tree measured (seconds, MiB)."""

    returncode: int | None  # None: killed at the timeout
    wall: float  # start to the exit of the last process of the tree
    cpu: float  # user + system seconds of every process of the tree (getrusage, exact)
    peak_rss_mb: float  # sum of the peak RSS (VmHWM) of every process of the tree
    peak_rss_sampled_mb: float  # the largest sum of the current RSS seen at one sample
    largest_process_mb: float  # the peak RSS (VmHWM) of the largest single process
    stdout: str = ""
    stderr: str = ""
    processes: list[str] = field(default_factory=list)  # names of the processes seen


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def run_tree(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
    on_stderr: Callable[[float, bytes], None] | None = None,
    interval: float = 0.2,
) -> TreeRun:
    """Run ``cmd`` and measure it with every process it starts (a JVM, Python workers).

    This process becomes a child subreaper (Linux ``prctl``), so descendants that outlive
    their parent (PySpark's JVM exits a moment after the Python driver) are re-parented here
    and waited for: the wall time ends with the last of them and ``getrusage`` counts the CPU
    of all. Memory is sampled from /proc every ``interval`` seconds: the VmHWM of each process
    (its own peak, so a short peak between samples is still seen while it lives) summed over the
    tree (pages shared between processes, as after a fork, count in each). ``on_stderr(seconds
    since start, chunk)`` sees the standard error as it comes.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out: list[bytes] = []
    err: list[bytes] = []

    def pump(
        stream: object, sink: list[bytes], callback: Callable[[float, bytes], None] | None
    ) -> None:
        fd = stream.fileno()  # type: ignore[attr-defined]
        while chunk := os.read(fd, 65536):
            sink.append(chunk)
            if callback is not None:
                callback(time.perf_counter() - start, chunk)

    readers = [
        threading.Thread(target=pump, args=(proc.stdout, out, None), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, err, on_stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    hwm: dict[int, int] = {}  # pid -> VmHWM kB, last seen
    names: dict[int, str] = {}
    sampled = 0
    returncode: int | None = None
    pending: set[int] = set()
    while True:
        rss = 0
        for pid in sorted(set(process_tree(proc.pid)) | pending):  # each process once
            status = _status(pid)
            if "VmHWM" in status:
                hwm[pid] = max(hwm.get(pid, 0), int(status["VmHWM"].split()[0]))
                rss += int(status["VmRSS"].split()[0])
                names[pid] = status.get("Name", "?")
                if pid != proc.pid:
                    pending.add(pid)
        sampled = max(sampled, rss)
        if returncode is None:
            returncode = proc.poll()
            if returncode is None and time.perf_counter() - start > timeout:
                for pid in [proc.pid, *pending]:
                    with suppress(ProcessLookupError):
                        os.kill(pid, 9)
                proc.wait()
                returncode = None
                break
        if returncode is not None:
            # the orphans re-parented here: reap them as they end
            while True:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    pid = -1
                if pid <= 0:
                    break
            pending = {p for p in pending if Path(f"/proc/{p}").exists()}
            if not pending:
                break
        time.sleep(interval)
    wall = time.perf_counter() - start
    for reader in readers:
        reader.join(timeout=5)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return TreeRun(
        returncode=returncode,
        wall=wall,
        cpu=cpu,
        peak_rss_mb=sum(hwm.values()) / 1024,
        peak_rss_sampled_mb=sampled / 1024,
        largest_process_mb=max(hwm.values(), default=0) / 1024,
        stdout=b"".join(out).decode(errors="replace"),
        stderr=b"".join(err).decode(errors="replace"),
        processes=sorted(set(names.values())),
    )
