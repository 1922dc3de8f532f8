"""The contact policy's clock: quiet hours (setting RETAIN_QUIET_HOURS, local time), when no
care message goes out and no task made by the night's run is due to be worked on."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone


def quiet_hours() -> tuple[dt.time, dt.time]:
    start, end = settings.RETAIN_QUIET_HOURS
    return start, end


def quiet_until(now: dt.datetime) -> dt.datetime | None:
    """The end of the quiet hours ``now`` falls in (local time), or None outside them."""
    start, end = quiet_hours()
    local = timezone.localtime(now)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=local.tzinfo)
