"""Loyalty imports: opening points balances, points adjustments (with a reason) and coupon
redemptions against orders.

Every row is written by the loyalty service every other door calls (``points_opening_balance``,
``points_adjust``, ``coupon_redeem``): the same role check per customer, the same balance
rule (never negative, under the account's row lock), the same audit. Each row has a key, so
importing the same file again writes nothing the second time:

- an opening balance: one per customer (``opening:<customer>``); the same figure again is
  unchanged, another figure is refused (adjust instead);
- an adjustment: its customer, date, points, reason and reference (``import:adjust:…``);
- a coupon redemption: one per coupon and order (the database's own constraint).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from retain.customers.models import Customer
from retain.imports.kinds.base import Handler, register
from retain.imports.rows import ImportResult, Row
from retain.imports.schema import ImportKind
from retain.loyalty.coupons import coupon_redeem
from retain.loyalty.ledger import points_adjust, points_opening_balance
from retain.loyalty.models import CouponRedemption, EntryKind, PointsEntry
from retain.orders.models import Order


class LoyaltyHandler(Handler):
    """Rows written one by one through a loyalty service, each in its own savepoint: a row
    the service refuses (its reason names the field) leaves the others as they are."""

    model: type[models.Model] = PointsEntry

    def today(self) -> dt.date:
        return self.now.astimezone(self.tz).date()

    def resolve(self, rows: list[Row]) -> None:
        self.resolve_customers(rows)
        today = self.today()
        for row in rows:
            on = row.values.get("on")
            if on and on > today:
                row.fail(self.label("on"), _("the date is in the future"))

    def refused(self, row: Row, exc: ValidationError | PermissionDenied, field: str) -> None:
        if isinstance(exc, PermissionDenied):
            row.fail("", _("your role may not change this customer's points"))
            return
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                row.fail(self.label(name if name in self.headers else field), " ".join(messages))
        else:
            row.fail(self.label(field), " ".join(exc.messages))

    def customers(self, rows: list[Row]) -> dict[int, Customer]:
        ids = {self.customer_ids[r.values["customer_code"]] for r in rows}
        return Customer.objects.in_bulk(ids)


@register(ImportKind.POINTS_OPENING)
class OpeningHandler(LoyaltyHandler):
    file_key_fields = ("customer_code",)

    def write(self, rows: list[Row], result: ImportResult) -> None:
        customers = self.customers(rows)
        ids = [c.pk for c in customers.values()]
        have = dict(
            PointsEntry.objects.filter(
                key__in=[f"opening:{pk}" for pk in ids], kind=EntryKind.OPENING
            ).values_list("customer_id", "points")
        )
        for row in rows:
            customer = customers[self.customer_ids[row.values["customer_code"]]]
            points = row.values["points"]
            if customer.pk in have:
                if have[customer.pk] == points:
                    result.unchanged += 1
                else:
                    row.fail(
                        self.label("points"),
                        _(
                            "the customer has an opening balance of %(n)s points already; "
                            "adjust the points instead"
                        )
                        % {"n": have[customer.pk]},
                    )
                continue
            if points <= 0:
                row.fail(self.label("points"), _("an opening balance is more than zero"))
                continue
            try:
                with transaction.atomic():
                    entry = points_opening_balance(
                        customer=customer,
                        points=points,
                        on=row.values.get("on") or self.today(),
                        actor=self.actor,
                    )
            except (ValidationError, PermissionDenied) as exc:
                self.refused(row, exc, "points")
                continue
            if entry is None:
                result.unchanged += 1
            else:
                have[customer.pk] = points
                result.created += 1


def adjustment_key(customer_id: int, values: dict[str, Any], on: dt.date) -> str:
    """The key of an imported adjustment: what the row says, so the same row twice is once."""
    said = "\x1f".join(
        [on.isoformat(), str(values["points"]), values["reason"], values.get("reference") or ""]
    )
    return f"import:adjust:{customer_id}:{hashlib.sha256(said.encode()).hexdigest()[:24]}"


@register(ImportKind.POINTS_ADJUSTMENTS)
class AdjustmentHandler(LoyaltyHandler):
    file_key_fields = ("customer_code", "points", "reason", "on", "reference")

    def file_key(self, row: Row) -> tuple[Any, ...] | None:
        if not row.values.get("customer_code"):
            return None
        return tuple(row.values.get(f) or "" for f in self.file_key_fields)

    def write(self, rows: list[Row], result: ImportResult) -> None:
        customers = self.customers(rows)
        for row in rows:
            customer = customers[self.customer_ids[row.values["customer_code"]]]
            on = row.values.get("on") or self.today()
            if row.values["points"] == 0:
                row.fail(self.label("points"), _("points must not be zero"))
                continue
            key = adjustment_key(customer.pk, row.values, on)
            if PointsEntry.objects.filter(key=key).exists():
                result.unchanged += 1
                continue
            try:
                with transaction.atomic():
                    points_adjust(
                        customer=customer,
                        points=row.values["points"],
                        reason=row.values["reason"],
                        on=on,
                        actor=self.actor,
                        key=key,
                    )
            except (ValidationError, PermissionDenied) as exc:
                self.refused(row, exc, "points")
                continue
            result.created += 1


@register(ImportKind.COUPON_REDEMPTIONS)
class CouponRedemptionHandler(LoyaltyHandler):
    model = CouponRedemption
    file_key_fields = ("coupon", "number")

    def resolve(self, rows: list[Row]) -> None:
        super().resolve(rows)
        numbers = {r.values["number"] for r in rows if not r.errors}
        self.orders = {
            o.number: o for o in Order.objects.filter(number__in=numbers).select_related("customer")
        }
        for row in rows:
            if row.errors:
                continue
            order = self.orders.get(row.values["number"])
            if order is None or order.customer_id != self.customer_ids[row.values["customer_code"]]:
                row.fail(
                    self.label("number"),
                    _("order %(number)s: not found for customer %(code)s")
                    % {"number": row.values["number"], "code": row.values["customer_code"]},
                )

    def write(self, rows: list[Row], result: ImportResult) -> None:
        customers = self.customers(rows)
        for row in rows:
            customer = customers[self.customer_ids[row.values["customer_code"]]]
            order = self.orders[row.values["number"]]
            code = row.values["coupon"]
            if CouponRedemption.objects.filter(
                issue__customer=customer, issue__coupon__code=code, order=order
            ).exists():
                result.unchanged += 1
                continue
            on = row.values.get("on") or order.ordered_at.astimezone(self.tz).date()
            try:
                with transaction.atomic():
                    coupon_redeem(
                        customer=customer, code=code, order=order, on=on, actor=self.actor
                    )
            except (ValidationError, PermissionDenied) as exc:
                if isinstance(exc, PermissionDenied):
                    row.fail("", _("your role may not redeem this customer's coupons"))
                else:
                    self.refused(row, exc, "coupon")
                continue
            result.created += 1
