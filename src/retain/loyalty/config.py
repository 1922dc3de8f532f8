"""The programme's configuration: settings, tiers, points rules (category and campaign),
coupons and playbook coupon steps. One service saves them all, for every door (the loyalty
pages, the back office): the role check, validation and the audit live here.

Settings, tiers and points rules are the programme's rules: managers and administrators.
Coupons and playbook coupon steps are offers: managers, administrators and marketing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from retain.accounts.access import loyalty_may_configure, loyalty_may_manage
from retain.audit.models import AuditAction
from retain.audit.services import audit_event, snapshot
from retain.loyalty.models import (
    ActionCoupon,
    CampaignRule,
    CategoryRule,
    Coupon,
    CouponKind,
    LoyaltySettings,
    RuleMode,
    Tier,
)

M = TypeVar("M", bound=models.Model)

#: Models of the programme's rules (admins and managers) and of the offers (also marketing).
RULE_MODELS: tuple[type[models.Model], ...] = (LoyaltySettings, Tier, CategoryRule, CampaignRule)
OFFER_MODELS: tuple[type[models.Model], ...] = (Coupon, ActionCoupon)


def may_edit(user: Any, model: type[models.Model]) -> bool:
    """Whether ``user`` may create, change or delete rows of ``model``."""
    if model in OFFER_MODELS:
        return loyalty_may_manage(user)
    return loyalty_may_configure(user)


def _check(obj: models.Model) -> None:
    if isinstance(obj, Coupon):
        if obj.valid_from and obj.valid_until and obj.valid_until < obj.valid_from:
            raise ValidationError({"valid_until": _("The coupon ends before it starts.")})
        if obj.kind != CouponKind.AMOUNT and obj.value is not None and obj.value > 100:
            raise ValidationError({"value": _("A percentage cannot exceed 100.")})
    fixed = isinstance(obj, (CategoryRule, CampaignRule)) and obj.mode == RuleMode.FIXED
    if fixed and not getattr(obj, "points", 0):
        raise ValidationError({"points": _("A fixed rule gives at least one point.")})
    if isinstance(obj, Tier) and obj.multiplier is not None and obj.multiplier < 0:
        raise ValidationError({"multiplier": _("The multiplier cannot be negative.")})


@transaction.atomic
def loyalty_config_save(obj: M, *, actor: Any, request: Any = None) -> M:
    """Create or change one configuration row after the role check and validation; audited
    with what it was and what it became. ``actor`` None: the system (migrations, demo)."""
    model = type(obj)
    if model not in RULE_MODELS + OFFER_MODELS:
        raise TypeError(f"{model.__name__} is not loyalty configuration")
    if actor is not None and not may_edit(actor, model):
        raise PermissionDenied("loyalty.configure")
    before = None
    if obj.pk is not None:
        old = model._default_manager.filter(pk=obj.pk).first()
        before = snapshot(old) if old is not None else None
    obj.full_clean()
    _check(obj)
    obj.save()
    after = snapshot(model._default_manager.get(pk=obj.pk))  # as stored (2 → "2.00")
    if before is not None:
        changed = [k for k in after if before.get(k) != after[k]]
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    audit_event(
        actor=actor,
        action=AuditAction.CREATE if before is None else AuditAction.UPDATE,
        obj=obj,
        before=before,
        after=after,
        request=request,
    )
    return obj


@transaction.atomic
def loyalty_config_delete(obj: models.Model, *, actor: Any, request: Any = None) -> None:
    """Delete one configuration row (never the settings); audited. A tier members hold, or a
    coupon already issued, cannot be deleted (the database protects their history)."""
    model = type(obj)
    if model not in RULE_MODELS + OFFER_MODELS or model is LoyaltySettings:
        raise TypeError(f"{model.__name__} cannot be deleted here")
    if actor is not None and not may_edit(actor, model):
        raise PermissionDenied("loyalty.configure")
    if isinstance(obj, Coupon) and obj.issues.exists():
        raise ValidationError(_("The coupon has been issued; let it run out instead."))
    before = snapshot(obj)
    audit_event(actor=actor, action=AuditAction.DELETE, obj=obj, before=before, request=request)
    obj.delete()
