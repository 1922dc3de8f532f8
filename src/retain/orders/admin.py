from django.contrib import admin

from retain.audit.admin_mixins import CustomerDataAdmin
from retain.orders.models import Order, OrderLine, ProductCategory, Return


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0


class ReturnInline(admin.TabularInline):
    model = Return
    extra = 0


@admin.register(Order)
class OrderAdmin(CustomerDataAdmin):
    list_display = ("number", "customer", "ordered_at", "amount", "currency", "channel", "status")
    list_filter = ("status", "channel", "payment_method", "currency")
    search_fields = ("number", "customer__code", "customer__name")
    date_hierarchy = "ordered_at"
    raw_id_fields = ("customer",)
    list_select_related = ("customer",)
    show_full_result_count = False
    inlines = [OrderLineInline, ReturnInline]


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "parent")
    search_fields = ("name",)


@admin.register(Return)
class ReturnAdmin(CustomerDataAdmin):
    customer_field = "order__customer"
    list_display = ("order", "returned_on", "amount", "reason")
    search_fields = ("order__number", "reason")
    raw_id_fields = ("order",)
