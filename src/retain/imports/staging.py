"""Parsed rows held between reading a file and applying it (SQLite's two-step import)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

from retain.imports.rows import Row

#: Parsed rows kept in memory before the rest go to a temporary file (about 1.5 KB each).
STAGE_IN_MEMORY = 20_000


class Staged:
    """Parsed batches of rows, read back for the apply step: the first ``in_memory``
    rows in memory, the rest pickled to a temporary file, so a million-row file is never
    held in memory. Rows are kept as plain tuples and rebuilt for each attempt, so a retried
    apply starts from the rows as parsed."""

    def __init__(self, in_memory: int = STAGE_IN_MEMORY) -> None:
        self.in_memory = in_memory

    def __enter__(self) -> Staged:
        self._memory: list[list[tuple[Any, ...]]] = []
        self._kept = 0
        self._fh: Any = None
        self._sizes: list[int] = []
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()

    def add(self, batch: list[Row]) -> None:
        import pickle

        items = [(r.number, r.cells, r.values, r.errors) for r in batch]
        if self._fh is None and self._kept + len(items) <= self.in_memory:
            self._memory.append(items)
            self._kept += len(items)
            return
        if self._fh is None:
            import tempfile

            self._fh = tempfile.TemporaryFile(prefix="retain-import-")  # noqa: SIM115 - closed on exit
        data = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
        self._fh.write(data)
        self._sizes.append(len(data))

    def __iter__(self) -> Iterator[list[Row]]:
        import pickle

        for items in self._memory:
            yield [Row(n, c, dict(v), list(e)) for n, c, v, e in items]
        if self._fh is not None:
            self._fh.seek(0)
            for size in self._sizes:
                # Unpickling makes many objects at once: without this the cyclic garbage
                # collector runs over and over and doubles the time.
                gc.disable()
                try:
                    items = pickle.loads(self._fh.read(size))
                finally:
                    gc.enable()
                yield [Row(n, c, v, e) for n, c, v, e in items]
            self._fh.seek(0, 2)
