from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from retain.audit.models import AuditEvent
from retain.customers.models import Customer


def customer_audit_trail(*, customer: Customer) -> QuerySet[AuditEvent]:
    """Everything audited about one customer, newest first."""
    return AuditEvent.objects.filter(customer=customer).select_related("actor")


def audit_report(
    *,
    action: str = "",
    actor: str = "",
    customer_code: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events filtered by action, actor username, customer code and date range."""
    qs = AuditEvent.objects.select_related("customer")
    if action:
        qs = qs.filter(action=action)
    if actor:
        qs = qs.filter(actor_name=actor)
    if customer_code:
        qs = qs.filter(customer__code=customer_code)
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs
