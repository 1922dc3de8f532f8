"""The audit trail (who changed what): list."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from retain.accounts.access import VIEW_AUDIT, require
from retain.api import schemas as s
from retain.api.v1.common import Paging, SearchText, user_of
from retain.audit.selectors import audit_report

router = Router(tags=["audit"])


@router.get("", response={200: list[s.AuditEventOut], **s.ERRORS})
@paginate(Paging)
def audit_list(
    request: HttpRequest,
    action: SearchText = "",
    actor: SearchText = "",
    customer: SearchText = "",
    since: s.Day | None = None,
    until: s.Day | None = None,
) -> Any:
    require(user_of(request), VIEW_AUDIT)
    return audit_report(
        action=action, actor=actor, customer_code=customer, since=since, until=until
    )
