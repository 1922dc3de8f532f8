"""The quarterly duplicate search (PRODUCT.md section 2: quarterly cleaning)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(month="1,4,7,10", day="1", hour="2", minute="30"))
def duplicates_quarterly() -> int:
    from retain.dedup.services import duplicates_refresh

    return duplicates_refresh()
