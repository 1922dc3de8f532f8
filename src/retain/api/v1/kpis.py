"""KPIs as of a day."""

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from retain.accounts.access import require
from retain.api import schemas as s
from retain.api.v1.common import user_of
from retain.kpis.figures import kpi_figures, kpi_values

router = Router(tags=["kpis"])


@router.get("", response={200: s.KpisOut, **s.ERRORS})
def kpis_get(request: HttpRequest, as_of: s.Day | None = None) -> Any:
    """The board's KPIs over the customers you may see, as of ``as_of`` (today)."""
    user = user_of(request)
    require(user, "customers.view_customer")
    figures = kpi_figures(as_of=as_of or timezone.localdate(), user=user)
    return {
        "as_of": figures.as_of,
        "scope": figures.scope,
        **asdict(figures.overview),
        **kpi_values(figures.engine),
    }
