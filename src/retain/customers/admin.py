from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from retain.accounts.access import MASKED_FIELDS, may_give_customers_to, shows_personal_data
from retain.audit.admin_mixins import CustomerDataAdmin
from retain.customers.models import Consent, Contact, Customer, CustomerSource
from retain.interactions.models import FollowUp
from retain.orders.models import Order
from retain.tags.models import CustomerTag


class _NoSearchByHiddenFields:
    """A staff user who sees phones and emails masked may not search by them."""

    def get_search_fields(self, request: HttpRequest) -> Any:
        fields = super().get_search_fields(request)  # type: ignore[misc]
        if shows_personal_data(request.user):
            return fields
        return tuple(f for f in fields if f.split("__")[-1] not in MASKED_FIELDS)


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("name", "title", "phone", "email", "wechat_id", "birthday", "is_primary", "left_on")


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0


class OrderInline(admin.TabularInline):
    model = Order
    extra = 0
    fields = ("number", "ordered_at", "amount", "currency", "channel", "payment_method", "status")
    show_change_link = True
    ordering = ("-ordered_at",)


class FollowUpInline(admin.StackedInline):
    model = FollowUp
    extra = 0
    fields = (
        ("kind", "occurred_at", "logged_at"),
        "contact",
        "content",
        "feedback",
        ("outcome", "next_step", "next_step_on"),
        "owner",
    )
    autocomplete_fields = ("contact", "owner")
    ordering = ("-occurred_at",)

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        # New follow-ups are logged through the follow-up admin (``followup_log``), which
        # validates them and turns their next step into a task.
        return False


class CustomerTagInline(admin.TabularInline):
    model = CustomerTag
    extra = 0
    autocomplete_fields = ("tag",)
    readonly_fields = ("tagged_by", "automatic")


@admin.register(Customer)
class CustomerAdmin(_NoSearchByHiddenFields, CustomerDataAdmin):
    customer_field = ""
    list_display = (
        "code",
        "name",
        "kind",
        "industry",
        "status",
        "owner",
        "city",
        "first_contact_date",
    )
    list_filter = ("kind", "status", "source", "industry", "region", "owner")
    search_fields = ("code", "name", "phone", "email", "contacts__name", "contacts__phone")
    autocomplete_fields = ("owner",)
    list_select_related = ("owner",)
    show_full_result_count = False  # no COUNT(*) over every customer on each page
    inlines = [ContactInline, ConsentInline, CustomerTagInline, OrderInline, FollowUpInline]
    readonly_fields = ("created_at", "updated_at")

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        # Whom a customer may be given to: the one rule of the services and bulk assign.
        if "owner" in form.changed_data and not may_give_customers_to(request.user, obj.owner):
            raise PermissionDenied("owner")
        super().save_model(request, obj, form, change)


@admin.register(Contact)
class ContactAdmin(_NoSearchByHiddenFields, CustomerDataAdmin):
    list_display = ("name", "customer", "title", "phone", "email", "is_primary", "left_on")
    list_filter = ("is_primary",)
    search_fields = ("name", "phone", "email", "customer__name", "customer__code")
    raw_id_fields = ("customer",)


@admin.register(CustomerSource)
class CustomerSourceAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_zh", "active")
    list_editable = ("active",)
    search_fields = ("code", "name", "name_zh")


@admin.register(Consent)
class ConsentAdmin(CustomerDataAdmin):
    list_display = ("customer", "channel", "status", "recorded_at", "source")
    list_filter = ("channel", "status")
    search_fields = ("customer__code", "customer__name")
    raw_id_fields = ("customer",)
