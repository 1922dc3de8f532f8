from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retain.playbooks.models import Playbook, PlaybookAction, PlaybookVariant, Segment

#: Cadences offered in the editor (days): every two weeks, every month, every quarter.
CADENCES = {
    14: gettext_lazy("every two weeks"),
    30: gettext_lazy("every month"),
    91: gettext_lazy("every quarter"),
}

#: The fields of an action, as ``playbook_update`` takes them in each ``actions`` item.
ACTION_FIELDS = (
    "name",
    "every_days",
    "channel",
    "template",
    "owner_rule",
    "team",
    "fixed_user",
    "active",
    "variant",
)


@transaction.atomic
def playbook_update(
    *,
    playbook: Playbook | None,
    name: str,
    description: str = "",
    segment: Segment,
    owner: Any = None,
    active: bool = True,
    holdout_percent: int | None = None,
    min_effect_points: int | None = None,
    actions: Sequence[dict[str, Any]],
    goals: Sequence[Any] | None = None,
    actor: Any,
    request: Any = None,
) -> Playbook:
    """Create or change a playbook and all its actions in one save. Audited.

    ``actions`` lists the actions to keep, each a dict of ``ACTION_FIELDS`` plus ``id`` for
    an existing one (team and fixed_user as objects or None); existing actions left out
    are deleted (their past tasks keep their history). ``holdout_percent`` (the control
    group's share of new entrants) and ``min_effect_points`` are kept when None; so are the
    board ``goals`` the plan serves (their cards show its measured effect)."""
    from retain.accounts.access import require
    from retain.audit.services import audit_event, snapshot

    require(actor, "playbooks.change_playbook" if playbook else "playbooks.add_playbook")
    before = snapshot(playbook) if playbook is not None else None
    playbook = playbook or Playbook()
    playbook.name = name.strip()
    playbook.description = description.strip()
    playbook.segment = segment
    playbook.owner = owner
    playbook.active = active
    if holdout_percent is not None:
        plan_arms_validate(holdout_percent=holdout_percent, variants=[])
        playbook.holdout_percent = holdout_percent
    if min_effect_points is not None:
        playbook.min_effect_points = min_effect_points
    playbook.full_clean()
    playbook.save()
    old_goals = sorted(playbook.goals.values_list("pk", flat=True)) if before else []
    if goals is not None:
        playbook.goals.set(goals)
    new_goals = sorted(playbook.goals.values_list("pk", flat=True))
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=playbook,
        before={**before, "goals": old_goals} if before else None,
        after={**snapshot(playbook), "goals": new_goals},
        request=request,
    )
    existing = {a.pk: a for a in PlaybookAction.objects.filter(playbook=playbook)}
    kept: set[int] = set()
    for i, spec in enumerate(actions):
        action = existing.get(spec["id"]) if spec.get("id") else None
        if spec.get("id") and action is None:
            raise ValidationError(
                _("actions[%(i)s]: action %(id)s is not one of this playbook's")
                % {"i": i, "id": spec["id"]}
            )
        old = snapshot(action) if action is not None else None
        action = action or PlaybookAction(playbook=playbook)
        for field in ACTION_FIELDS:
            if field in spec:
                setattr(action, field, spec[field])
        if action.variant is not None and action.variant.playbook_id != playbook.pk:
            raise ValidationError(
                _("actions[%(i)s]: the variant is not one of this playbook's") % {"i": i}
            )
        try:
            action.full_clean()
        except ValidationError as exc:
            raise ValidationError(
                _("actions[%(i)s]: %(errors)s") % {"i": i, "errors": "; ".join(exc.messages)}
            ) from exc
        action.save()
        kept.add(action.pk)
        audit_event(
            actor=actor,
            action="update" if old else "create",
            obj=action,
            before=old,
            after=snapshot(action),
            request=request,
        )
    for pk, action in existing.items():
        if pk not in kept:
            audit_event(
                actor=actor, action="delete", obj=action, before=snapshot(action), request=request
            )
            action.delete()
    return playbook


#: The largest control group a plan may keep (percent of its eligible entrants).
HOLDOUT_MAX = 50
#: The largest share weight of one variant.
SHARE_MAX = 100


def plan_arms_validate(*, holdout_percent: int, variants: Sequence[dict[str, Any]]) -> None:
    """The one check of a plan's arms, for every door: a control group of 0-50% of the
    entrants, and variants with distinct non-empty names and share weights of 1-100 each
    (so the shares sum to more than zero and every variant gets customers)."""
    errors: list[str] = []
    if not isinstance(holdout_percent, int) or not 0 <= holdout_percent <= HOLDOUT_MAX:
        errors.append(
            _("The control group must be between 0%% and %(max)s%% of the entrants.")
            % {"max": HOLDOUT_MAX}
        )
    seen: set[str] = set()
    for i, v in enumerate(variants):
        name = (v.get("name") or "").strip()
        share = v.get("share")
        if not name:
            errors.append(_("variants[%(i)s]: a variant needs a name.") % {"i": i})
        elif name in seen:
            errors.append(
                _("variants[%(i)s]: two variants are named %(name)s.") % {"i": i, "name": name}
            )
        seen.add(name)
        if not isinstance(share, int) or not 1 <= share <= SHARE_MAX:
            errors.append(
                _("variants[%(i)s]: the share must be a whole number from 1 to %(max)s.")
                % {"i": i, "max": SHARE_MAX}
            )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def plan_arms_update(
    *,
    playbook: Playbook,
    holdout_percent: int,
    variants: Sequence[dict[str, Any]],
    actor: Any,
    request: Any = None,
) -> Playbook:
    """Set a plan's control group and its variants (A / B / n) with their shares, in one
    save: ``variants`` lists those to keep, each ``{"id": …, "name": …, "share": …}`` (no
    id: a new one); existing variants left out are deleted. Validated by
    ``plan_arms_validate``; audited. A variant with customers already assigned is never
    deleted (its measured history would be lost): switch its actions off instead. New shares
    apply to new entrants only; the assignment log keeps everyone's arm."""
    from retain.accounts.access import require
    from retain.audit.services import audit_event, snapshot

    require(actor, "playbooks.change_playbook")
    plan_arms_validate(holdout_percent=holdout_percent, variants=variants)
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    if playbook.holdout_percent != holdout_percent:
        before = snapshot(playbook, ["holdout_percent"])
        playbook.holdout_percent = holdout_percent
        playbook.full_clean()
        playbook.save(update_fields=["holdout_percent"])
        audit_event(
            actor=actor,
            action="update",
            obj=playbook,
            before=before,
            after=snapshot(playbook, ["holdout_percent"]),
            request=request,
        )
    existing = {v.pk: v for v in PlaybookVariant.objects.filter(playbook=playbook)}
    kept: set[int] = set()
    ids = {v.get("id") for v in variants if v.get("id")}
    leaving = [v for pk, v in existing.items() if pk not in ids]
    used = set(
        PlaybookVariant.objects.filter(pk__in=[v.pk for v in leaving], assignments__isnull=False)
        .values_list("name", flat=True)
        .distinct()
    )
    if used:
        raise ValidationError(
            _(
                "Variant %(names)s has customers assigned: it cannot be deleted; switch its actions off instead."
            )
            % {"names": ", ".join(sorted(used))}
        )
    for v in leaving:
        audit_event(actor=actor, action="delete", obj=v, before=snapshot(v), request=request)
        v.delete()
    for i, spec in enumerate(variants):
        variant = existing.get(spec["id"]) if spec.get("id") else None
        if spec.get("id") and variant is None:
            raise ValidationError(
                _("variants[%(i)s]: variant %(id)s is not one of this playbook's")
                % {"i": i, "id": spec["id"]}
            )
        old = snapshot(variant) if variant is not None else None
        variant = variant or PlaybookVariant(playbook=playbook)
        variant.name = spec["name"].strip()
        variant.share = spec["share"]
        variant.full_clean(validate_unique=False)
        variant.save()
        kept.add(variant.pk)
        new = snapshot(variant)
        if old != new:
            audit_event(
                actor=actor,
                action="update" if old else "create",
                obj=variant,
                before=old,
                after=new,
                request=request,
            )
    return playbook


@transaction.atomic
def playbook_goal_link(
    *, playbook: Playbook, goal: Any, actor: Any, linked: bool = True, request: Any = None
) -> None:
    """Make a board goal point at a plan (its card shows the plan's measured effect), or
    stop it. Who may change playbooks. Audited on the playbook."""
    from retain.accounts.access import require
    from retain.audit.services import audit_event

    require(actor, "playbooks.change_playbook")
    before = sorted(playbook.goals.values_list("pk", flat=True))
    if linked:
        playbook.goals.add(goal)
    else:
        playbook.goals.remove(goal)
    after = sorted(playbook.goals.values_list("pk", flat=True))
    if after != before:
        audit_event(
            actor=actor,
            action="update",
            obj=playbook,
            before={"goals": before},
            after={"goals": after},
            request=request,
        )


@transaction.atomic
def segment_save(
    *,
    segment: Segment | None,
    name: str,
    description: str,
    conditions: dict[str, Any],
    actor: Any,
    request: Any = None,
) -> Segment:
    """Create or change a saved segment (from the segment explorer). Audited."""
    from retain.accounts.access import require
    from retain.audit.services import audit_event, snapshot

    require(actor, "playbooks.add_playbook")
    before = snapshot(segment) if segment is not None else None
    segment = segment or Segment()
    segment.name = name
    segment.description = description
    segment.conditions = conditions
    segment.full_clean()
    segment.save()
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=segment,
        before=before,
        after=snapshot(segment),
        request=request,
    )
    return segment


#: The tag group holding each playbook's hand-picked customers.
PICKED_GROUP = "维系计划"


def playbook_pick_tag_name(playbook: Playbook) -> str:
    return f"{PICKED_GROUP}:{playbook.name}"[:100]


@transaction.atomic
def playbook_customers_add(
    *, playbook: Playbook, customer_ids: Sequence[int], actor: Any, request: Any = None
) -> int:
    """Add hand-picked customers to a playbook; returns how many were newly added.

    The customers get the playbook's own manual tag (group 维系计划), and the playbook's
    segment becomes "its conditions OR that tag". A segment that other playbooks share is
    copied first, so their targets do not change. Everything is audited; the daily job then
    treats the customers like any other member (and withdraws their tasks if untagged).
    """
    from retain.accounts.access import require
    from retain.customers.bulk import customers_tag
    from retain.tags.models import Tag, TagGroup, TagGroupKind

    require(actor, "playbooks.change_playbook")
    group, _ = TagGroup.objects.get_or_create(
        name=PICKED_GROUP, defaults={"kind": TagGroupKind.CUSTOM}
    )
    tag, _ = Tag.objects.get_or_create(
        group=group,
        name=playbook_pick_tag_name(playbook),
        defaults={"description": f"hand-picked for playbook {playbook.pk}"},
    )
    added = customers_tag(customer_ids=customer_ids, tag=tag, actor=actor, request=request)
    clause = {"field": "tag", "op": "eq", "value": tag.name}
    segment = playbook.segment
    conditions = segment.conditions
    if clause not in conditions.get("any", []):
        widened = (
            {"any": [*conditions["any"], clause]}
            if "any" in conditions
            else {"any": [conditions, clause]}
        )
        shared = segment.playbooks.exclude(pk=playbook.pk).exists()
        new_segment = segment_save(
            segment=None if shared else segment,
            name=(f"{segment.name} + {playbook.name}"[:100] if shared else segment.name),
            description=segment.description,
            conditions=widened,
            actor=actor,
            request=request,
        )
        if new_segment.pk != segment.pk:
            playbook.segment = new_segment
            playbook.save(update_fields=["segment"])
    return added
