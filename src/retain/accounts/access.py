"""Who may see and do what: the one place that answers it.

Web views, the admin, the REST API, the CLI and exports all ask this module, so a rule
behaves the same from every door. Role permissions live on the Django groups of the same
name (made by migrations ``accounts.0002`` and ``accounts.0003``); row-level visibility of
customers (a sales user sees the accounts they own, a team lead those of the team) is
decided here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from retain.customers.models import Customer

# Capabilities beyond the model permissions Django makes (view/add/change/delete_<model>).
VIEW_ALL_CUSTOMERS = "customers.view_all_customers"
VIEW_PERSONAL_DATA = "customers.view_personal_data"
UNMASK_PERSONAL_DATA = "customers.unmask_personal_data"
EXPORT_CUSTOMERS = "customers.export_customers"
IMPORT_CUSTOMERS = "customers.import_customers"
HANDLE_PRIVACY_REQUESTS = "customers.handle_privacy_requests"
MERGE_CUSTOMERS = "customers.merge_customers"
VIEW_AUDIT = "audit.view_auditevent"

CUSTOM_PERMISSIONS: dict[str, str] = {
    "view_all_customers": "Can see every customer, not only owned ones",
    "view_personal_data": "Can see full phone numbers and email addresses",
    "unmask_personal_data": "Can reveal a masked phone or email (audited)",
    "export_customers": "Can export customer data",
    "import_customers": "Can import customer data",
    "handle_privacy_requests": "Can export and erase one person's data",
    "merge_customers": "Can merge duplicate customers",
}


def role_is_staff(role: str) -> bool:
    """Whether users of ``role`` may open the Django admin (back office)."""
    return role in {"admin", "manager"}


def role_is_superuser(role: str) -> bool:
    """Whether users of ``role`` are Django superusers (every permission)."""
    return role == "admin"


def may_view_churn_reasons(user: Any) -> bool:
    """The churn-reasons report (lost customers by reason): managers, marketing, analysts."""
    return bool(
        user is not None
        and user.is_active
        and user.role in {"admin", "manager", "marketing", "analyst"}
    )


def may_revoke_token(user: Any, token: Any) -> bool:
    """A token is revoked by its owner or an administrator."""
    return bool(user is not None and (user.pk == token.user_id or user.is_superuser))


def can(user: Any, permission: str) -> bool:
    """Whether ``user`` holds ``permission`` ("app_label.codename") through role or superuser."""
    return bool(user is not None and user.is_active and user.has_perm(permission))


def require(user: Any, permission: str) -> None:
    if not can(user, permission):
        raise PermissionDenied(permission)


def customers_visible_to(
    user: Any, queryset: QuerySet[Customer] | None = None
) -> QuerySet[Customer]:
    """The customers ``user`` may see: all, the team's (team lead), the own ones, or none."""
    qs = Customer.objects.all() if queryset is None else queryset
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    if can(user, VIEW_ALL_CUSTOMERS):
        return qs
    if not can(user, "customers.view_customer"):
        return qs.none()
    # A team lead also sees the accounts of the teams they lead.
    return qs.filter(Q(owner=user) | Q(owner__team__lead=user))


def customer_is_visible(user: Any, customer: Customer) -> bool:
    return customers_visible_to(user).filter(pk=customer.pk).exists()


def customer_can_edit(user: Any, customer: Customer) -> bool:
    return can(user, "customers.change_customer") and customer_is_visible(user, customer)


def task_may_work_on(user: Any, task: Any) -> bool:
    """Whether ``user`` may complete or edit ``task``: its owner, or an admin or manager."""
    if user is None or not user.is_active:
        return False
    return bool(task.owner_id == user.pk or user.role in {"admin", "manager"})


def followup_may_log(user: Any, customer: Customer, *, task: Any = None) -> bool:
    """Whether ``user`` may log a follow-up of ``customer``.

    Who may add follow-ups may log them on the customers they see; whoever may work on a
    task may log the follow-up that completes it, on the task's own customer.
    """
    if task is not None and task.customer_id == customer.pk and task_may_work_on(user, task):
        return True
    return can(user, "interactions.add_followup") and customer_is_visible(user, customer)


def visible_to(
    user: Any, queryset: QuerySet[Any], customer_field: str = "customer"
) -> QuerySet[Any]:
    """Rows of a model tied to a customer (orders, contacts, ...) whose customer is visible."""
    if user is not None and user.is_authenticated and can(user, VIEW_ALL_CUSTOMERS):
        return queryset
    return queryset.filter(**{f"{customer_field}__in": customers_visible_to(user).values("pk")})


def shows_personal_data(user: Any) -> bool:
    """Whether full phone numbers and email addresses are shown to ``user``."""
    return can(user, VIEW_PERSONAL_DATA)


def mask_phone(value: str) -> str:
    """138****1234: keep the first three and the last four digits."""
    value = value or ""
    if not value:
        return ""
    if len(value) <= 7:
        return value[:1] + "*" * (len(value) - 1)
    return value[:3] + "****" + value[-4:]


def mask_email(value: str) -> str:
    """z***@example.com: keep the first letter and the domain."""
    value = value or ""
    if not value:
        return ""
    local, at, domain = value.partition("@")
    if not at:
        return mask_phone(value)
    return f"{local[:1]}***@{domain}"


def mask_value(field: str, value: str) -> str:
    if field == "email":
        return mask_email(value)
    if field in ("phone", "wechat_id"):
        return mask_phone(value)
    return "***" if value else ""


#: Fields holding personal data that are masked for roles without VIEW_PERSONAL_DATA.
MASKED_FIELDS = ("phone", "email", "wechat_id")


def personal(user: Any, field: str, value: str) -> str:
    """``value`` as ``user`` may see it: in full, or masked."""
    return value if shows_personal_data(user) else mask_value(field, value)


# --- Searching by personal data ----------------------------------------------------------
# A role that sees phones masked may not find a customer by the hidden digits (searching
# for full numbers one after the other would reveal them): it searches by the masked form
# it sees (138****1234) only. Searches by a phone number or email are audited and limited
# per user, for every role (RETAIN_SEARCH_LIMIT per SEARCH_WINDOW).

#: The window over which personal-data searches are counted for RETAIN_SEARCH_LIMIT.
SEARCH_WINDOW = dt.timedelta(minutes=10)
_MASKED_PHONE = re.compile(r"^(\d{3})\*{4}(\d{4})$")


class SearchLimited(Exception):
    """Too many searches by phone or email in SEARCH_WINDOW; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many searches by phone or email; retry in {retry_after} s")
        self.retry_after = retry_after


def personal_search_kind(term: str) -> str:
    """ "phone" or "email" when ``term`` looks like one (counted and audited), else ""."""
    term = term.strip()
    if "@" in term:
        return "email"
    if sum(c.isdigit() for c in term) >= 7 or _MASKED_PHONE.match(term):
        return "phone"
    return ""


def phone_search(user: Any, term: str, field: str = "phone") -> Q | None:
    """The condition on ``field`` (a phone) that ``term`` may match for ``user``, or None.

    ``user`` None is the system (no masking). A role that sees phones matches the whole
    number; a masked role matches only the masked form it is shown, never the hidden digits.
    """
    term = term.strip()
    if user is None or shows_personal_data(user):
        return Q(**{field: term})
    masked = _MASKED_PHONE.match(term)
    if masked is None:
        return None
    first, last = masked.groups()
    # mask_phone shows the first three and last four digits of numbers longer than seven.
    return Q(**{f"{field}__startswith": first, f"{field}__endswith": last}) & Q(
        **{f"{field}__regex": r"^.{8,}$"}
    )


def personal_search_check(user: Any, term: str, *, request: Any = None) -> None:
    """Count and audit a search by phone or email; raise SearchLimited over the limit.

    Counted from the audit trail, like failed logins, so every process agrees.
    """
    kind = personal_search_kind(term)
    if not kind or user is None:
        return
    from django.utils import timezone

    from retain.audit.models import AuditAction, AuditEvent
    from retain.audit.services import audit_event

    now = timezone.now()
    recent = list(
        AuditEvent.objects.filter(
            action=AuditAction.SEARCH, actor=user, at__gte=now - SEARCH_WINDOW
        )
        .order_by("at")
        .values_list("at", flat=True)[: settings.RETAIN_SEARCH_LIMIT]
    )
    if len(recent) >= settings.RETAIN_SEARCH_LIMIT:
        retry = int((recent[0] + SEARCH_WINDOW - now).total_seconds()) + 1
        raise SearchLimited(max(retry, 1))
    audit_event(
        actor=user,
        action=AuditAction.SEARCH,
        object_repr=f"customers: {kind}",
        after={"search": mask_value(kind, term.strip())[:100], "kind": kind},
        request=request,
    )


# --- The permission matrix --------------------------------------------------------------
# Role -> permissions of its group. docs/access.md shows the same matrix as a table.
# Permissions of models that do not exist yet (playbooks, targets, ...) are skipped when the
# groups are synced, and picked up by the migration that syncs again after they exist.

_CRUD = ("view", "add", "change", "delete")


def _perms(app_model: str, actions: tuple[str, ...] = _CRUD) -> list[str]:
    app, model = app_model.split(".")
    return [f"{app}.{action}_{model}" for action in actions]


_CUSTOMER_DATA = [
    "customers.customer",
    "customers.contact",
    "customers.consent",
    "orders.order",
    "orders.orderline",
    "orders.return",
    "interactions.followup",
    "complaints.complaint",
    "surveys.surveyresponse",
    "surveys.surveyinvitation",
    "tags.customertag",
]
_REFERENCE = [
    "customers.customersource",
    "orders.productcategory",
    "tags.taggroup",
    "tags.tag",
    "surveys.survey",
    "surveys.surveyquestion",
    "campaigns.campaign",
    "campaigns.campaignparticipation",
]
_PLANNING = [  # scoring, playbooks, tasks, care, imports: synced once their models exist
    "playbooks.segment",
    "playbooks.playbook",
    "playbooks.playbookaction",
    "playbooks.playbookvariant",
    "playbooks.plancase",
    "kpis.kpitarget",
    "kpis.goal",
    "kpis.boardfigures",
    "scoring.scoringrun",
    "scoring.customerscore",
    "scoring.segmentchange",
    "scoring.kpisnapshot",
    "scoring.tagrule",
    "scoring.scoringsettings",
    "tasks.task",
    "complaints.complaintescalation",
    "care.caretemplate",
    "care.delivery",
    "imports.importjob",
]
# The status of the nightly run and of the worker (Admin → Nightly run).
_OPERATIONS = ["pipeline.pipelinestep", "pipeline.workerbeat"]
_MARKETING_OWNS = [
    "playbooks.segment",
    "playbooks.playbook",
    "playbooks.playbookaction",
    "playbooks.playbookvariant",
    "scoring.tagrule",
    "care.caretemplate",
]
_ANALYST_OWNS = [
    "scoring.scoringrun",
    "scoring.scoringsettings",
    "scoring.tagrule",
    "playbooks.plancase",  # the monthly review's cases of success and failure
]
_ALL_CUSTOM = [f"customers.{c}" for c in CUSTOM_PERMISSIONS]


def _view(models: list[str]) -> list[str]:
    return [p for m in models for p in _perms(m, ("view",))]


def _all(models: list[str]) -> list[str]:
    return [p for m in models for p in _perms(m)]


ROLE_PERMISSIONS: dict[str, list[str]] = {
    "admin": [
        *_all(_CUSTOMER_DATA),
        *_all(_REFERENCE),
        *_all(_PLANNING),
        *_view(_OPERATIONS),
        *_ALL_CUSTOM,
        VIEW_AUDIT,
    ],
    "manager": [
        *_all(_CUSTOMER_DATA),
        *_all(_REFERENCE),
        *_all(_PLANNING),
        *_view(_OPERATIONS),
        *_ALL_CUSTOM,
        VIEW_AUDIT,
    ],
    "sales": [
        *_view(_CUSTOMER_DATA),
        *_view(_REFERENCE),
        *_view(_PLANNING),
        *_perms("customers.customer", ("add", "change")),
        *_perms("customers.contact", ("add", "change")),
        *_perms("customers.consent", ("add", "change")),
        *_perms("orders.order", ("add", "change")),
        *_perms("orders.orderline", ("add", "change")),
        *_perms("orders.return", ("add", "change")),
        *_perms("interactions.followup", ("add", "change")),
        *_perms("complaints.complaint", ("add",)),
        *_perms("tags.customertag", ("add", "change", "delete")),
        *_perms("tasks.task", ("change",)),
        *_perms("imports.importjob", ("add",)),
        VIEW_PERSONAL_DATA,  # of the accounts they see, which are their own
        IMPORT_CUSTOMERS,
    ],
    "marketing": [
        *_view(_CUSTOMER_DATA),
        *_view(_REFERENCE),
        *_view(_PLANNING),
        *_all(["tags.taggroup", "tags.tag", "tags.customertag"]),
        *_all(["campaigns.campaign", "campaigns.campaignparticipation", "surveys.survey"]),
        *_all(["surveys.surveyquestion"]),
        *_perms("surveys.surveyinvitation", ("add",)),  # sending surveys
        *_perms("customers.consent", ("add", "change")),  # opt-outs arrive through campaigns
        *_all(_MARKETING_OWNS),
        VIEW_ALL_CUSTOMERS,
    ],
    "service": [
        *_view(_CUSTOMER_DATA),
        *_view(_REFERENCE),
        *_view(["tasks.task", "complaints.complaintescalation"]),
        *_perms("complaints.complaint", ("add", "change")),
        *_perms("interactions.followup", ("add", "change")),
        *_perms("surveys.surveyresponse", ("add", "change")),
        # service builds surveys too (after a complaint is closed, CSAT): no deleting them
        *_perms("surveys.survey", ("add", "change")),
        *_all(["surveys.surveyquestion"]),
        *_perms("surveys.surveyinvitation", ("add",)),  # a QR code at the counter
        *_perms("customers.consent", ("add", "change")),
        *_perms("tasks.task", ("change",)),
        VIEW_ALL_CUSTOMERS,
        UNMASK_PERSONAL_DATA,
    ],
    "analyst": [
        *_view(_CUSTOMER_DATA),
        *_view(_REFERENCE),
        *_view(_PLANNING),
        *_all(_ANALYST_OWNS),
        *_view(_OPERATIONS),
        VIEW_ALL_CUSTOMERS,
        EXPORT_CUSTOMERS,
    ],
}


def role_permissions_sync(apps: Any = None) -> None:
    """Give each role's group exactly the permissions of ROLE_PERMISSIONS that exist.

    Called by data migrations (with the historical ``apps``) and safe to call again.
    """
    if apps is None:
        from django.apps import apps as live_apps

        apps = live_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    customer_type, _ = ContentType.objects.get_or_create(app_label="customers", model="customer")
    for codename, name in CUSTOM_PERMISSIONS.items():
        Permission.objects.get_or_create(
            content_type=customer_type, codename=codename, defaults={"name": name}
        )
    known = {
        f"{app}.{codename}": pk
        for pk, app, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([known[p] for p in dict.fromkeys(wanted) if p in known])


# --- Whose work a user oversees, whom they may hand customers and tasks to -----------------


def users_overseen_by(user: Any) -> QuerySet[Any]:
    """The people whose customers and tasks ``user`` may hand out: every active sales user
    and manager for managers and admins (they may add tasks and see every customer), the
    members of the teams they lead for a team lead, only themselves otherwise."""
    from retain.accounts.models import Role, User

    if user is None or not user.is_authenticated or not user.is_active:
        return User.objects.none()
    people = User.objects.filter(is_active=True)
    if can(user, VIEW_ALL_CUSTOMERS) and can(user, "tasks.add_task"):
        return people.filter(role__in=[Role.SALES, Role.MANAGER]).order_by("username")
    return people.filter(Q(pk=user.pk) | Q(team__lead=user)).order_by("username")


def may_oversee(user: Any) -> bool:
    """Whether ``user`` has a team page: managers, admins and team leads."""
    if user is None or not user.is_authenticated:
        return False
    return (can(user, VIEW_ALL_CUSTOMERS) and can(user, "tasks.add_task")) or (
        can(user, "customers.change_customer") and user.teams_led.exists()
    )


def may_assign_to(user: Any, owner: Any) -> bool:
    """Whether ``user`` may make ``owner`` the owner of a customer or task."""
    return owner is not None and users_overseen_by(user).filter(pk=owner.pk).exists()


def may_give_customers_to(user: Any, owner: Any) -> bool:
    """Whether ``user`` may make ``owner`` the account owner of customers (one at a time, in
    bulk, from a page, the API or the admin): someone whose work they oversee
    (``users_overseen_by``: themselves, their team's members, sales and managers for managers
    and admins). ``None`` — nobody — only for roles that see every customer, so no one hands
    an account out of their own sight."""
    if owner is None:
        return can(user, VIEW_ALL_CUSTOMERS) and can(user, "customers.change_customer")
    return may_assign_to(user, owner)


# --- Imports ------------------------------------------------------------------------------
# An import runs as the uploading user: the same rules as the pages, asked per file (which
# kind and columns) and per row (which customers and orders). ``None`` as the user is a
# system import (``retain import`` without ``--as``): no rule applies, the audit says so.

#: What a role must hold to import a kind at all (new rows are added, known ones changed).
IMPORT_KIND_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "customers": ("customers.add_customer", "customers.change_customer"),
    "contacts": ("customers.add_contact", "customers.change_contact"),
    "orders": ("orders.add_order", "orders.change_order"),
    "followups": ("interactions.add_followup",),
    "complaints": ("complaints.add_complaint",),
    "surveys": ("surveys.add_surveyresponse",),
}
#: Loyalty imports: decided by ``loyalty_may_import`` (the loyalty services check each row).
LOYALTY_IMPORTS = frozenset({"points_opening", "points_adjustments", "coupon_redemptions"})
#: Columns that write more than the kind itself: {kind: {field: permissions}}.
IMPORT_FIELD_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "contact": ("customers.add_contact", "customers.change_contact"),
        "phone": ("customers.add_contact", "customers.change_contact"),
        "email": ("customers.add_contact", "customers.change_contact"),
    },
    # Handling a complaint (its status and resolution) is the service desk's job.
    "complaints": {
        "status": ("complaints.change_complaint",),
        "resolution": ("complaints.change_complaint",),
    },
}
#: What changing an existing row of a kind takes, beyond the kind's permissions.
IMPORT_CHANGE_PERMISSIONS: dict[str, str] = {
    "followups": "interactions.change_followup",
    "complaints": "complaints.change_complaint",
    "surveys": "surveys.change_surveyresponse",
}
#: Reference rows an import creates when a cell names one that does not exist yet.
IMPORT_CREATES: dict[str, str] = {
    "source": "customers.add_customersource",
    "survey": "surveys.add_survey",
}


def import_refused(user: Any, kind: str, fields: set[str] | frozenset[str]) -> list[str]:
    """What ``user`` may not write in an import of ``kind`` with these columns: ``["*"]``
    when the kind itself is refused, else the refused fields (empty: allowed)."""
    if user is None:
        return []
    if kind in LOYALTY_IMPORTS:
        return [] if loyalty_may_import(user, kind) else ["*"]
    if not can(user, IMPORT_CUSTOMERS) or not all(
        can(user, p) for p in IMPORT_KIND_PERMISSIONS.get(kind, ("-",))
    ):
        return ["*"]
    rules = IMPORT_FIELD_PERMISSIONS.get(kind, {})
    return sorted(f for f in fields if f in rules and not all(can(user, p) for p in rules[f]))


def import_may_change(user: Any, kind: str) -> bool:
    """Whether an import by ``user`` may change rows of ``kind`` that exist already."""
    needed = IMPORT_CHANGE_PERMISSIONS.get(kind)
    return user is None or needed is None or can(user, needed)


def import_may_create(user: Any, reference: str) -> bool:
    """Whether an import by ``user`` may add a missing source or survey it names."""
    return user is None or can(user, IMPORT_CREATES[reference])


def import_customer_ids(user: Any, ids: Any) -> set[int]:
    """Of the customer ids given, those ``user``'s import may write to (all for the system)."""
    wanted = set(ids)
    if user is None or not wanted:
        return wanted
    qs = customers_visible_to(user, Customer.objects.filter(pk__in=wanted))
    return set(qs.values_list("pk", flat=True))


def import_customer_owner(user: Any) -> Any:
    """The owner of a customer an import by ``user`` creates: the user, when the role sees
    only its own customers (else the new customer would vanish from their view); nobody
    otherwise."""
    if user is None or can(user, VIEW_ALL_CUSTOMERS):
        return None
    return user


def followup_may_record_for(user: Any, owner_id: int | None) -> bool:
    """Whether ``user`` may log a follow-up whose author is the user ``owner_id``: their own
    always; someone else's only for roles that see every customer and log follow-ups
    (admin, manager, service)."""
    if user is None or owner_id is None or owner_id == user.pk:
        return True
    return can(user, VIEW_ALL_CUSTOMERS) and can(user, "interactions.add_followup")


# --- Measured plans: the monthly review ---------------------------------------------------


def plan_review_may_view(user: Any) -> bool:
    """The monthly review of the plans (and its cases): whoever may read the plans' results."""
    return can(user, "playbooks.view_playbook")


def plan_case_may_record(user: Any) -> bool:
    """Record a case of success or failure at the monthly review: managers and analysts
    (and administrators)."""
    return can(user, "playbooks.add_plancase")


# --- Loyalty: points, coupons --------------------------------------------------------------


def points_may_redeem(user: Any, customer: Customer) -> bool:
    """Spend a customer's points (on an order or a reward): who may add their orders, or service."""
    if user is None or not user.is_active:
        return False
    if not (can(user, "orders.add_order") or user.role == "service"):
        return False
    return customer_is_visible(user, customer)


def points_may_adjust(user: Any, customer: Customer) -> bool:
    """Add or take away points by hand, with a reason: managers and administrators."""
    return bool(
        user is not None
        and user.is_active
        and user.role in {"admin", "manager"}
        and customer_is_visible(user, customer)
    )


def loyalty_may_manage(user: Any) -> bool:
    """Create coupons, issue them to segments, edit tiers and rules: admin, manager, marketing."""
    return bool(
        user is not None and user.is_active and user.role in {"admin", "manager", "marketing"}
    )


def loyalty_may_import(user: Any, kind: str) -> bool:
    """Import a loyalty file: opening balances and points adjustments are adjustments
    (managers and administrators); coupon redemptions, who may import orders."""
    if user is None:
        return True
    if not (user.is_active and can(user, IMPORT_CUSTOMERS)):
        return False
    if kind == "coupon_redemptions":
        return can(user, "orders.add_order")
    return user.role in {"admin", "manager"}


def loyalty_may_configure(user: Any) -> bool:
    """Edit the programme's settings, tiers and points rules: managers and administrators."""
    return bool(user is not None and user.is_active and user.role in {"admin", "manager"})


def loyalty_may_view(user: Any, customer: Customer) -> bool:
    """A customer's balance, tier, history and coupons: whoever sees the customer."""
    return bool(user is not None and user.is_active and customer_is_visible(user, customer))


# --- Surveys ---------------------------------------------------------------------------------


def survey_may_build(user: Any) -> bool:
    """Build and edit surveys and when they go out by themselves (marketing, service, managers)."""
    return can(user, "surveys.add_survey") and can(user, "surveys.change_survey")


def survey_may_send(user: Any) -> bool:
    """Send a survey to a saved segment (needs to see segments too)."""
    return can(user, "surveys.add_surveyinvitation") and can(user, "playbooks.view_segment")


def survey_may_make_link(user: Any) -> bool:
    """Make one customer's link and QR code (print, the counter)."""
    return can(user, "surveys.add_surveyinvitation")


def survey_may_view_results(user: Any) -> bool:
    """See a survey's results (over the customers the user sees)."""
    return can(user, "surveys.view_surveyresponse")
