"""Create and edit customers and contacts from retain's own pages (客户信息表 and archive):
quick create with a live duplicate check, full edit, status change with its reason,
contacts (with 离职), tags. Every write goes through ``retain.customers.services``."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.accounts.access import (
    can,
    customer_can_edit,
    customers_visible_to,
    users_overseen_by,
)
from retain.customers.models import (
    Contact,
    Customer,
    CustomerKind,
    CustomerSource,
    CustomerStatus,
)
from retain.customers.selectors import customer_possible_duplicates
from retain.customers.services import (
    contact_create,
    contact_update,
    customer_create,
    customer_status_change,
    customer_tag_add,
    customer_tag_remove,
    customer_update,
)
from retain.imports.values import normalise_phone
from retain.tags.models import Tag

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
"""A date input the browser accepts in every locale (ISO, never the locale's 2024/1/15)."""


def _phone(value: str) -> str:
    """Digits as the importer and the duplicate finder store them ("+86 138-0013-8000")."""
    return normalise_phone(value) if value and any(c.isdigit() for c in value) else value


class _OwnerMixin:
    """An owner field limited to the people the user may hand customers to."""

    def set_owners(self, user: Any) -> None:
        field = self.fields["owner"]  # type: ignore[attr-defined]
        field.queryset = users_overseen_by(user)
        field.label_from_instance = lambda u: (
            f"{u} ({u.username})" if str(u) != u.username else u.username
        )

    def clean_phone(self) -> str:
        return _phone(self.cleaned_data.get("phone", ""))  # type: ignore[attr-defined]


class CustomerQuickForm(_OwnerMixin, forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["name", "kind", "phone", "email", "industry", "source", "status", "owner"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_owners(user)
        cast(
            forms.ModelChoiceField, self.fields["source"]
        ).queryset = CustomerSource.objects.filter(active=True)
        self.fields["owner"].required = False
        # the live duplicate check: each key field asks as the user types (htmx)
        live = {
            "hx-get": reverse("customer-duplicates"),
            "hx-target": "#duplicates",
            "hx-swap": "outerHTML",
            "hx-include": "#id_name, #id_phone, #id_email, #id_kind",
        }
        for name in ("name", "phone", "email", "kind"):
            trigger = "change" if name == "kind" else "input changed delay:400ms"
            self.fields[name].widget.attrs.update({**live, "hx-trigger": trigger})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("phone") and not data.get("email"):
            raise ValidationError(_("Give a phone number or an email address."))
        return data


class CustomerForm(_OwnerMixin, forms.ModelForm):
    """Every field of the customer information sheet (客户信息表) and the archive; the status
    changes through its own form, with a reason."""

    class Meta:
        model = Customer
        fields = [
            "name",
            "kind",
            "industry",
            "source",
            "first_contact_date",
            "key_needs",
            "notes",
            "owner",
            "region",
            "city",
            "phone",
            "email",
            "gender",
            "age_band",
            "occupation",
            "birthday",
        ]
        widgets = {
            "first_contact_date": DATE,
            "birthday": DATE,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_owners(user)
        owner = self.instance.owner
        field = cast(forms.ModelChoiceField, self.fields["owner"])
        if owner is not None:
            # keep today's owner selectable even when the editor could not assign them
            field.queryset = (
                type(owner)
                .objects.filter(Q(pk__in=users_overseen_by(user).values("pk")) | Q(pk=owner.pk))
                .order_by("username")
            )


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = [
            "name",
            "title",
            "phone",
            "email",
            "wechat_id",
            "birthday",
            "is_primary",
            "left_on",
        ]
        widgets = {"birthday": DATE, "left_on": DATE}

    def clean_phone(self) -> str:
        return _phone(self.cleaned_data.get("phone", ""))


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("New status"), choices=CustomerStatus.choices)
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=300)


def _changes(form: forms.ModelForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.changed_data}


def _errors_to(form: forms.BaseForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _editable(request: HttpRequest, code: str) -> Customer:
    customer = get_object_or_404(customers_visible_to(request.user), code=code)
    if not customer_can_edit(request.user, customer):
        raise PermissionDenied
    return customer


def _duplicates(request: HttpRequest, data: Any) -> list[Any]:
    """Possible duplicates of the typed customer; ones the user may not open show no link."""
    found = customer_possible_duplicates(
        name=data.get("name", ""),
        phone=data.get("phone", ""),
        email=data.get("email", ""),
        kind=data.get("kind", ""),
    )
    visible = set(
        customers_visible_to(request.user)
        .filter(pk__in=[d.customer.pk for d in found])
        .values_list("pk", flat=True)
    )
    return [{"d": d, "visible": d.customer.pk in visible} for d in found]


@login_required
@require_http_methods(["GET", "POST"])
def customer_create_view(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "customers.add_customer"):
        raise PermissionDenied
    duplicates: list[Any] = []
    if request.method == "POST":
        form = CustomerQuickForm(request.POST, user=request.user)
        if form.is_valid():
            duplicates = _duplicates(request, form.cleaned_data)
            if duplicates and not request.POST.get("confirm"):
                form.add_error(
                    None,
                    _(
                        "This customer may already exist. Check the matches below, then tick "
                        "“Create anyway” if it is a different one."
                    ),
                )
            else:
                data = dict(form.cleaned_data)
                try:
                    customer = customer_create(actor=request.user, request=request, **data)
                except ValidationError as exc:
                    _errors_to(form, exc)
                else:
                    messages.success(
                        request, _("Customer %(code)s created.") % {"code": customer.code}
                    )
                    return redirect("customer-detail", code=customer.code)
    else:
        form = CustomerQuickForm(
            user=request.user,
            initial={
                "owner": request.user,
                "status": CustomerStatus.PROSPECT,
                "kind": CustomerKind.COMPANY,
            },
        )
    return render(
        request,
        "web/customer_new.html",
        {
            "form": form,
            "duplicates": duplicates,
            "confirming": bool(duplicates),
            "nav": "customers",
        },
    )


@login_required
@require_GET
def customer_duplicates_view(request: HttpRequest) -> HttpResponse:
    """The live (htmx) duplicate check of the quick-create form."""
    if not can(request.user, "customers.add_customer"):
        raise PermissionDenied
    phone = _phone(request.GET.get("phone", ""))
    data = {**request.GET.dict(), "phone": phone}
    return render(request, "web/_duplicates.html", {"duplicates": _duplicates(request, data)})


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = _editable(request, code)
    if request.method == "POST":
        form = CustomerForm(
            request.POST, instance=Customer.objects.get(pk=customer.pk), user=request.user
        )
        if form.is_valid():
            try:
                customer_update(
                    customer=customer, actor=request.user, request=request, **_changes(form)
                )
            except ValidationError as exc:
                _errors_to(form, exc)
            else:
                messages.success(request, _("Customer saved."))
                return redirect("customer-detail", code=customer.code)
    else:
        form = CustomerForm(instance=customer, user=request.user)
    return render(
        request, "web/customer_edit.html", {"form": form, "customer": customer, "nav": "customers"}
    )


@login_required
@require_POST
def customer_status_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = _editable(request, code)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            customer_status_change(
                customer=customer,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("Status changed."))
    else:
        messages.error(request, _("Say why the status changes."))
    return redirect(f"{customer_url(customer)}#status")


def customer_url(customer: Customer) -> str:
    return reverse("customer-detail", args=[customer.code])


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit_view(request: HttpRequest, code: str, pk: int | None = None) -> HttpResponse:
    """Add a contact (``pk`` None) or edit one, including marking them as left (离职)."""
    customer = _editable(request, code)
    contact = get_object_or_404(Contact, pk=pk, customer=customer) if pk is not None else None
    if request.method == "POST":
        form = ContactForm(request.POST, instance=Contact.objects.get(pk=pk) if pk else None)
        if form.is_valid():
            try:
                if contact is None:
                    data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
                    contact_create(customer=customer, actor=request.user, request=request, **data)
                else:
                    contact_update(
                        contact=contact, actor=request.user, request=request, **_changes(form)
                    )
            except ValidationError as exc:
                _errors_to(form, exc)
            else:
                messages.success(request, _("Contact saved."))
                return redirect(f"{customer_url(customer)}#contacts")
    else:
        form = ContactForm(instance=contact)
    return render(
        request,
        "web/contact_edit.html",
        {"form": form, "customer": customer, "contact": contact, "nav": "customers"},
    )


@login_required
@require_POST
def customer_tags_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = get_object_or_404(customers_visible_to(request.user), code=code)
    tag = get_object_or_404(Tag, pk=request.POST.get("tag") or 0)
    try:
        if request.POST.get("remove"):
            customer_tag_remove(customer=customer, tag=tag, actor=request.user, request=request)
            messages.success(request, _("Tag %(tag)s removed.") % {"tag": tag.name})
        else:
            customer_tag_add(customer=customer, tag=tag, actor=request.user, request=request)
            messages.success(request, _("Tag %(tag)s added.") % {"tag": tag.name})
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect(f"{customer_url(customer)}#tags")


def customer_edit_context(user: Any, customer: Customer) -> dict[str, Any]:
    """What the customer page needs for its edit controls."""
    editable = customer_can_edit(user, customer)
    return {
        "can_edit": editable,
        "status_form": StatusForm(initial={"status": customer.status}) if editable else None,
        "status_changes": customer.status_changes.select_related("changed_by")[:20],
        "can_tag_add": can(user, "tags.add_customertag"),
        "can_tag_remove": can(user, "tags.delete_customertag"),
        "manual_tags": Tag.objects.filter(automatic=False, retired=False).select_related("group")
        if can(user, "tags.add_customertag")
        else [],
        "contact_form": ContactForm() if editable else None,
    }
