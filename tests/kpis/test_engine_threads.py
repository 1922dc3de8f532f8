"""Two threads of one process computing the engine's KPIs at once (two people opening the
board after a write, in one gunicorn worker): both get their figures. The app's tables run on
the process's default DuckDB connection, which refuses a second call while one runs."""

from __future__ import annotations

import threading

from retain.kpis.figures import kpi_snapshot
from retain.scoring.tables import TableSource, app_tables
from tests.conftest import AS_OF


def test_two_threads_compute_the_kpis_at_once(demo_company):
    tables = app_tables(source=TableSource.MEMORY)
    expected = kpi_snapshot(as_of=AS_OF, tables=tables)
    results: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def compute() -> None:
        start.wait()
        try:
            for _ in range(3):
                results.append(kpi_snapshot(as_of=AS_OF, tables=tables))
        except BaseException as exc:  # the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=compute) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [expected] * 12
