"""The quarterly duplicate search (PRODUCT.md section 2: quarterly cleaning)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_periodic_task(crontab(month="1,4,7,10", day="1", hour="2", minute="30"))
def duplicates_quarterly() -> int:
    from retain.dedup.services import duplicates_refresh

    return duplicates_refresh()


@db_periodic_task(crontab(hour="2", minute="45"))
def duplicates_nightly() -> int:
    """Finish a full scan that was stopped, then search the customers changed since they
    were last searched (edits in the web app, the API, the admin)."""
    from retain.dedup.models import DuplicateScan
    from retain.dedup.services import duplicates_refresh

    if DuplicateScan.objects.filter(finished_at__isnull=True).exists():
        duplicates_refresh()
    return duplicates_refresh(changed_only=True)


@db_task()
def duplicates_scan_task() -> int:
    """The full scan queued from the duplicates page (resumes the unfinished scan)."""
    from retain.dedup.services import duplicates_refresh

    return duplicates_refresh()
