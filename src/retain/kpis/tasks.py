"""Huey job of the board: its trend and cohorts after the nightly scoring run."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="45"))
def board_figures_nightly() -> None:
    """Every hour: compute the board of the newest scoring run once (the nightly run is at
    01:30 and may take a while; a run started by hand is picked up too)."""
    from retain.kpis.models import BoardFigures
    from retain.kpis.selectors import latest_run
    from retain.kpis.services import board_figures_refresh

    run = latest_run()
    if run is not None and not BoardFigures.objects.filter(run=run).exists():
        board_figures_refresh(run=run)
