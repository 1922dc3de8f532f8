"""Huey job of the board: its trend and cohorts after the nightly scoring run."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(hour="2", minute="30"))
def board_figures_nightly() -> None:
    """The nightly scoring run is at 01:30; compute the board of the newest run once."""
    from retain.kpis.models import BoardFigures
    from retain.kpis.selectors import latest_run
    from retain.kpis.services import board_figures_refresh

    run = latest_run()
    if run is not None and not BoardFigures.objects.filter(run=run).exists():
        board_figures_refresh(run=run)
