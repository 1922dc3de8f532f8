"""Customer list extras: filter choices, saved views, bulk actions and exports."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from retain.accounts.access import (
    EXPORT_CUSTOMERS,
    can,
    may_give_customers_to,
    users_overseen_by,
)
from retain.accounts.models import User
from retain.analytics import (
    ActivityLevel,
    LifecycleStage,
    Quadrant,
    RfmSegment,
    RiskLevel,
    ValueTier,
)
from retain.core.exports import safe_row
from retain.customers.bulk import customers_assign_owner, customers_export_rows, customers_tag
from retain.loyalty.models import Tier
from retain.playbooks.models import Playbook
from retain.playbooks.services import playbook_customers_add
from retain.tags.models import Tag
from retain.web.customer_query import SORTS, CustomerQuery, customer_search
from retain.web.models import SavedView

CHOICE_LABELS = {
    "quadrant": (gettext_lazy("Quadrant"), [str(v) for v in Quadrant]),
    "lifecycle": (gettext_lazy("Lifecycle stage"), [str(v) for v in LifecycleStage]),
    "risk": (gettext_lazy("Churn risk"), [str(v) for v in RiskLevel]),
    "rfm": (gettext_lazy("RFM segment"), [str(v) for v in RfmSegment]),
    "value": (gettext_lazy("Value tier"), [str(v) for v in ValueTier]),
    "activity": (gettext_lazy("Activity"), [str(v) for v in ActivityLevel]),
}
NUMBER_LABELS = {
    "spend_min": gettext_lazy("Spend at least (CNY)"),
    "ltv_min": gettext_lazy("Predicted value at least"),
    "p_alive_max": gettext_lazy("P(alive) at most (0-1)"),
    "recency_min": gettext_lazy("Days since purchase at least"),
    "orders_min": gettext_lazy("Orders at least"),
    "points_min": gettext_lazy("Points balance at least"),
    "points_max": gettext_lazy("Points balance at most"),
}


def customer_list_context(user: Any, query: CustomerQuery) -> dict[str, Any]:
    return {
        "choice_filters": [
            (name, label, values, query.choices.get(name, []))
            for name, (label, values) in CHOICE_LABELS.items()
        ],
        "number_filters": [
            (name, label, query.numbers.get(name)) for name, label in NUMBER_LABELS.items()
        ],
        "member_tiers": Tier.objects.order_by("rank"),
        "sorts": [(key, label) for key, (label, _o) in SORTS.items()],
        "tags": Tag.objects.select_related("group").order_by("group__name", "name"),
        "owners": User.objects.filter(is_active=True).order_by("username"),
        "saved_views": SavedView.objects.filter(user=user) if user.is_authenticated else [],
        "can_tag": can(user, "tags.add_customertag"),
        "can_assign": can(user, "customers.change_customer"),
        # whom the bulk "assign owner" may give customers to (customers.bulk asks the same)
        "assignable_owners": users_overseen_by(user),
        "can_unassign": may_give_customers_to(user, None),
        "can_export": can(user, EXPORT_CUSTOMERS),
        "can_add_to_playbook": can(user, "playbooks.change_playbook")
        and can(user, "tags.add_customertag"),
        "playbooks": Playbook.objects.filter(active=True).order_by("name"),
    }


@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()[:100]
    query = request.POST.get("query", "")[:2000]
    if not name:
        messages.error(request, _("A saved view needs a name."))
        return redirect(f"{reverse('customer-list')}?{query}")
    SavedView.objects.update_or_create(
        user=cast(User, request.user),
        name=name,
        defaults={"query": query, "created_at": timezone.now()},
    )
    messages.success(request, _("View saved: %(name)s") % {"name": name})
    return redirect(f"{reverse('customer-list')}?{query}")


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(SavedView, pk=pk, user=request.user).delete()
    return redirect("customer-list")


@login_required
@require_POST
def customer_bulk_view(request: HttpRequest) -> HttpResponse:
    """Tag or assign the selected customers (checkboxes of the list)."""
    ids = [int(v) for v in request.POST.getlist("customer") if v.isdigit()]
    back = f"{reverse('customer-list')}?{request.POST.get('query', '')}"
    action = request.POST.get("action", "")
    if not ids:
        messages.error(request, _("Select at least one customer."))
        return redirect(back)
    try:
        if action == "tag":
            tag = get_object_or_404(Tag, pk=request.POST.get("tag") or 0)
            n = customers_tag(customer_ids=ids, tag=tag, actor=request.user, request=request)
            messages.success(
                request, _("%(n)s customers tagged %(tag)s.") % {"n": n, "tag": tag.name}
            )
        elif action == "assign":
            raw = request.POST.get("owner", "")
            owner = None if raw == "none" else get_object_or_404(User, username=raw)
            n = customers_assign_owner(
                customer_ids=ids, owner=owner, actor=request.user, request=request
            )
            messages.success(
                request,
                _("%(n)s customers now belong to %(owner)s.")
                % {"n": n, "owner": owner or _("nobody")},
            )
        elif action == "playbook":
            playbook = get_object_or_404(Playbook, pk=request.POST.get("playbook") or 0)
            n = playbook_customers_add(
                playbook=playbook, customer_ids=ids, actor=request.user, request=request
            )
            messages.success(
                request,
                _("%(n)s customers added to the playbook %(playbook)s.")
                % {"n": n, "playbook": playbook.name},
            )
        else:
            messages.error(request, _("Choose an action."))
    except PermissionDenied:
        raise
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect(back)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def customer_export_view(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """Every customer matching the list's filters, as CSV (streamed) or XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise Http404(fmt)
    if not can(request.user, EXPORT_CUSTOMERS):
        raise PermissionDenied
    query = CustomerQuery.from_params(request.GET)
    qs = customer_search(user=request.user, query=query, request=request)
    rows = customers_export_rows(
        queryset=qs,
        actor=request.user,
        description=query.querystring(),
        request=request,
        labels=True,
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        import csv

        writer = csv.writer(_Echo())

        def lines() -> Any:
            yield "\ufeff"
            for row in rows:
                yield writer.writerow(safe_row(row))

        stream = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        stream["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
        return stream
    from retain.core.exports import xlsx_bytes

    rows = iter(rows)
    header = next(rows)
    response = HttpResponse(
        xlsx_bytes(header, rows, title="customers"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.xlsx"'
    return response
