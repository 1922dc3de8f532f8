"""推荐有礼: referral codes, attribution and rewards.

A new customer is attributed to the owner of a referral code at sign-up or with their first
order. Both are rewarded (``LoyaltySettings.referrer_bonus`` / ``referee_bonus``) once the
new customer's first paid order has passed the return window without a return or refund.
An attribution is refused, and kept with the reason, when it is a self-referral or the two
customers share a phone number, an address or a device id.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.audit.services import audit_event, snapshot
from retain.customers.models import Contact, Customer
from retain.loyalty.ledger import account_ensure, loyalty_settings, points_bonus
from retain.loyalty.models import (
    EntryKind,
    LoyaltyAccount,
    Referral,
    ReferralStatus,
    ReferralVia,
)
from retain.orders.models import Order, OrderStatus


def _digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-11:]  # +86 138... and 138... are the same number


def _address(text: str) -> str:
    return re.sub(r"[\s,，.。-]", "", (text or "").lower())


def _phones(customer: Customer) -> set[str]:
    numbers = {
        customer.phone,
        *Contact.objects.filter(customer=customer).values_list("phone", flat=True),
    }
    return {_digits(n) for n in numbers if _digits(n)}


def referral_guard(
    *, referrer: Customer, referee: Customer, device_id: str = "", address: str = ""
) -> str:
    """Why this attribution is refused, or "" when it is allowed."""
    if referrer.pk == referee.pk:
        return _("self-referral")
    if _phones(referrer) & _phones(referee):
        return _("same phone number as the referrer")
    ref_account = account_ensure(referrer)
    mine = _address(address)
    if mine and mine == _address(ref_account.address):
        return _("same address as the referrer")
    if device_id:
        if device_id == ref_account.device_id:
            return _("same device as the referrer")
        if Referral.objects.filter(referrer=referrer, device_id=device_id).exists():
            return _("same device as another customer this referrer brought")
    return ""


@transaction.atomic
def referral_attribute(
    *,
    referee: Customer,
    code: str,
    via: str = ReferralVia.SIGNUP,
    on: dt.date,
    device_id: str = "",
    address: str = "",
    actor: Any = None,
    request: Any = None,
) -> Referral:
    """Attribute a new customer to the owner of ``code``; refused ones are kept, not rewarded."""
    referrer_account = (
        LoyaltyAccount.objects.filter(referral_code=code.strip().upper())
        .select_related("customer")
        .first()
    )
    if referrer_account is None:
        raise ValidationError({"code": _("No customer has this referral code.")})
    if Referral.objects.filter(referee=referee).exists():
        raise ValidationError({"referee": _("This customer was already referred.")})
    if via == ReferralVia.ORDER and Order.objects.filter(customer=referee).count() > 1:
        raise ValidationError({"via": _("Only a first order can carry a referral code.")})
    account = account_ensure(referee)
    fields = []
    if device_id and not account.device_id:
        account.device_id = device_id[:100]
        fields.append("device_id")
    if address and not account.address:
        account.address = address[:300]
        fields.append("address")
    if fields:
        account.save(update_fields=fields)
    referrer = referrer_account.customer
    refusal = referral_guard(
        referrer=referrer, referee=referee, device_id=device_id, address=address
    )
    referral = Referral(
        referrer=referrer,
        referee=referee,
        via=ReferralVia(via),
        on=on,
        device_id=device_id[:100],
        status=ReferralStatus.REFUSED if refusal else ReferralStatus.PENDING,
        refusal=refusal,
    )
    referral.full_clean()
    referral.save()
    audit_event(
        actor=actor, action="create", obj=referral, after=snapshot(referral), request=request
    )
    return referral


@dataclass
class ReferralRewardResult:
    rewarded: int = 0
    waiting: int = 0


def referrals_reward(*, as_of: dt.date) -> ReferralRewardResult:
    """Reward both sides of each pending referral whose first paid order has passed the
    return window (no refund, no return)."""
    conf = loyalty_settings()
    window = dt.timedelta(days=conf.return_window_days)
    out = ReferralRewardResult()
    pending = list(
        Referral.objects.filter(status=ReferralStatus.PENDING).select_related("referrer", "referee")
    )
    if not pending:
        return out
    first: dict[int, Order] = {}
    for order in (
        Order.objects.filter(
            customer_id__in=[r.referee_id for r in pending], status=OrderStatus.PAID
        )
        .exclude(returns__isnull=False)
        .order_by("customer_id", "ordered_at", "pk")
    ):
        first.setdefault(order.customer_id, order)
    for referral in pending:
        paid = first.get(referral.referee_id)
        if paid is None or timezone.localdate(paid.ordered_at) + window > as_of:
            out.waiting += 1
            continue
        _reward(referral, order=paid, as_of=as_of, conf=conf)
        out.rewarded += 1
    return out


@transaction.atomic
def _reward(referral: Referral, *, order: Order, as_of: dt.date, conf: Any) -> None:
    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    if locked.status != ReferralStatus.PENDING:
        return
    if conf.referrer_bonus:
        points_bonus(
            customer=referral.referrer,
            kind=EntryKind.REFERRAL,
            points=conf.referrer_bonus,
            on=as_of,
            reason=_("referred %(name)s") % {"name": referral.referee.name},
            key=f"referral:{referral.pk}:referrer",
        )
    if conf.referee_bonus:
        points_bonus(
            customer=referral.referee,
            kind=EntryKind.REFERRAL,
            points=conf.referee_bonus,
            on=as_of,
            reason=_("referred by %(name)s") % {"name": referral.referrer.name},
            key=f"referral:{referral.pk}:referee",
        )
    before = snapshot(locked)
    locked.status = ReferralStatus.REWARDED
    locked.rewarded_on = as_of
    locked.order = order
    locked.save(update_fields=["status", "rewarded_on", "order"])
    audit_event(actor=None, action="update", obj=locked, before=before, after=snapshot(locked))


@transaction.atomic
def referral_signup(
    *,
    code: str,
    name: str,
    phone: str,
    on: dt.date,
    address: str = "",
    device_id: str = "",
    request: Any = None,
) -> Referral:
    """The public sign-up door (``/r/<code>/``): a new customer (a prospect, owned by the
    referrer's account owner) attributed to the code's owner, through ``referral_attribute``
    and its guards (self-referral, same phone, address or device id: kept as refused)."""
    from retain.customers.models import CustomerKind, CustomerStatus
    from retain.customers.services import customer_create

    referrer = (
        LoyaltyAccount.objects.filter(referral_code=code.strip().upper())
        .select_related("customer")
        .first()
    )
    if referrer is None:
        raise ValidationError({"code": _("No customer has this referral code.")})
    errors = {}
    if not name.strip():
        errors["name"] = _("Enter your name.")
    if len(_digits(phone)) < 7:
        errors["phone"] = _("Enter a phone number.")
    if errors:
        raise ValidationError(errors)
    customer = customer_create(
        name=name.strip()[:200],
        kind=CustomerKind.PERSON,
        phone=phone.strip()[:40],
        status=CustomerStatus.PROSPECT,
        owner=referrer.customer.owner,
        notes=_("Signed up with referral code %(code)s") % {"code": referrer.referral_code},
        request=request,
    )
    return referral_attribute(
        referee=customer,
        code=referrer.referral_code,
        via=ReferralVia.SIGNUP,
        on=on,
        device_id=device_id.strip()[:100],
        address=address.strip()[:300],
        request=request,
    )
