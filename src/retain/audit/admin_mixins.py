"""Admin classes for customer data: rows scoped by ``customers_visible_to`` and every
save, inline change and delete written to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.db.models import QuerySet

from retain.accounts.access import customers_visible_to, visible_to
from retain.audit.services import audit_event, snapshot


class CustomerDataAdmin(admin.ModelAdmin):
    #: Path from the model to its customer; "" when the model is the customer itself.
    customer_field = "customer"

    def get_queryset(self, request: Any) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if not self.customer_field:
            return customers_visible_to(request.user, qs)
        return visible_to(request.user, qs, self.customer_field)

    @transaction.atomic
    def save_model(self, request: Any, obj: models.Model, form: Any, change: bool) -> None:
        fields = [f for f in form.changed_data if f in _concrete(obj)]
        before = None
        if change and obj.pk is not None:
            old = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = snapshot(old, fields) if old is not None else None
        super().save_model(request, obj, form, change)
        audit_event(
            actor=request.user,
            action="update" if change else "create",
            obj=obj,
            customer=_customer_of(obj),
            before=before,
            after=snapshot(obj, fields if change else None),
            request=request,
        )

    @transaction.atomic
    def delete_model(self, request: Any, obj: models.Model) -> None:
        _audit_delete(request, obj)
        super().delete_model(request, obj)

    @transaction.atomic
    def delete_queryset(self, request: Any, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            _audit_delete(request, obj)
        super().delete_queryset(request, queryset)

    @transaction.atomic
    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        changed = [
            (
                f.instance,
                {k: f.initial.get(k) for k in f.changed_data if k in _concrete(f.instance)},
            )
            for f in formset.initial_forms
            if f.has_changed() and f.instance.pk is not None
        ]
        for f in formset.deleted_forms:
            if f.instance.pk is not None:  # audited before the delete clears the pk
                _audit_delete(request, f.instance)
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            audit_event(
                actor=request.user,
                action="create",
                obj=obj,
                customer=_customer_of(obj),
                after=snapshot(obj),
                request=request,
            )
        deleted = {id(o) for o in formset.deleted_objects}
        for obj, before in changed:
            if id(obj) in deleted or not before:
                continue
            audit_event(
                actor=request.user,
                action="update",
                obj=obj,
                customer=_customer_of(obj),
                before=before,
                after=snapshot(obj, before),
                request=request,
            )


def _concrete(obj: models.Model) -> set[str]:
    return {f.name for f in obj._meta.concrete_fields}


def _customer_of(obj: models.Model) -> Any:
    from retain.customers.models import Customer

    if isinstance(obj, Customer):
        return obj
    for path in ("customer", "order"):
        target = getattr(obj, path, None)
        if isinstance(target, Customer):
            return target
        if target is not None and isinstance(getattr(target, "customer", None), Customer):
            return target.customer
    return None


def _audit_delete(request: Any, obj: models.Model) -> None:
    audit_event(
        actor=request.user,
        action="delete",
        obj=obj,
        customer=_customer_of(obj),
        before=snapshot(obj),
        request=request,
    )
