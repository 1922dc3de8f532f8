"""Managing tag groups and tags: create, rename, merge, retire, and automatic tag rules.

Each write checks the actor's permission through ``accounts.access`` and is audited.
Putting tags on customers is ``retain.customers.bulk.customers_tag`` (list) and the
customer services (customer page)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from retain.accounts.access import require
from retain.audit.services import audit_event, snapshot
from retain.tags.models import CustomerTag, Tag, TagGroup


@transaction.atomic
def tag_group_create(*, name: str, kind: str, actor: Any, request: Any = None) -> TagGroup:
    require(actor, "tags.add_taggroup")
    group = TagGroup(name=name.strip(), kind=kind)
    group.full_clean()
    group.save()
    audit_event(actor=actor, action="create", obj=group, after=snapshot(group), request=request)
    return group


@transaction.atomic
def tag_create(
    *, group: TagGroup, name: str, description: str = "", actor: Any, request: Any = None
) -> Tag:
    require(actor, "tags.add_tag")
    tag = Tag(group=group, name=name.strip(), description=description.strip())
    tag.full_clean()
    tag.save()
    audit_event(actor=actor, action="create", obj=tag, after=snapshot(tag), request=request)
    return tag


def _update(tag: Tag, actor: Any, request: Any, **changes: Any) -> Tag:
    require(actor, "tags.change_tag")
    tag = Tag.objects.select_for_update().get(pk=tag.pk)
    before = snapshot(tag)
    for name, value in changes.items():
        setattr(tag, name, value)
    tag.full_clean()
    tag.save()
    audit_event(
        actor=actor, action="update", obj=tag, before=before, after=snapshot(tag), request=request
    )
    return tag


@transaction.atomic
def tag_rename(*, tag: Tag, name: str, actor: Any, request: Any = None) -> Tag:
    """Rename a tag. Saved segments naming the tag follow the new name."""
    old = tag.name
    tag = _update(tag, actor, request, name=name.strip())
    tag_rename_references(old=old, new=tag.name, actor=actor, request=request)
    return tag


def _rename_in(spec: Any, old: str, new: str) -> Any:
    """A condition group with every tag clause naming ``old`` naming ``new`` instead."""
    if isinstance(spec, dict) and ("all" in spec or "any" in spec):
        ((mode, items),) = spec.items()
        return {mode: [_rename_in(item, old, new) for item in items]}
    if isinstance(spec, dict) and spec.get("field") == "tag":
        value = spec.get("value")
        if isinstance(value, list):
            value = [new if v == old else v for v in value]
        elif value == old:
            value = new
        return {**spec, "value": value}
    return spec


@transaction.atomic
def tag_merge(*, source: Tag, target: Tag, actor: Any, request: Any = None) -> int:
    """Move every customer of ``source`` to ``target`` and delete ``source``; returns how many
    customers newly got ``target``. Segments naming ``source`` then name ``target``."""
    require(actor, "tags.delete_tag")
    require(actor, "tags.change_tag")
    if source.pk == target.pk:
        raise ValidationError(_("A tag cannot be merged into itself."))
    if source.automatic or target.automatic:
        raise ValidationError(_("Automatic tags follow their rules and are not merged."))
    have = set(CustomerTag.objects.filter(tag=target).values_list("customer_id", flat=True))
    moving = CustomerTag.objects.filter(tag=source).exclude(customer_id__in=have)
    moved = moving.update(tag=target)
    name = source.name
    audit_event(actor=actor, action="delete", obj=source, before=snapshot(source), request=request)
    source.delete()  # the customers it still has also carry the target
    tag_rename_references(old=name, new=target.name, actor=actor, request=request)
    return moved


def tag_rename_references(*, old: str, new: str, actor: Any, request: Any = None) -> None:
    """Saved segments naming tag ``old`` name ``new`` (segments are few: read them all)."""
    from retain.playbooks.models import Segment

    for segment in Segment.objects.select_for_update():
        renamed = _rename_in(segment.conditions, old, new)
        if renamed != segment.conditions:
            before = snapshot(segment)
            segment.conditions = renamed
            segment.save(update_fields=["conditions"])
            audit_event(
                actor=actor,
                action="update",
                obj=segment,
                before=before,
                after=snapshot(segment),
                request=request,
            )


@transaction.atomic
def tag_retire(*, tag: Tag, retired: bool = True, actor: Any, request: Any = None) -> Tag:
    """Stop giving a tag (its rule is switched off); customers keep it as history."""
    from retain.scoring.models import TagRule

    tag = _update(tag, actor, request, retired=retired)
    if retired:
        TagRule.objects.filter(tag=tag).update(active=False)
    return tag


@transaction.atomic
def tag_rule_save(
    *, tag: Tag, conditions: dict[str, Any], active: bool, actor: Any, request: Any = None
) -> Any:
    """Create or change the automatic rule of ``tag`` (which becomes automatic)."""
    from retain.scoring.models import TagRule

    require(actor, "scoring.change_tagrule")
    if tag.retired and active:
        raise ValidationError(_("A retired tag has no active rule."))
    if not tag.automatic and CustomerTag.objects.filter(tag=tag, automatic=False).exists():
        raise ValidationError(
            _("%(tag)s is given by hand; create a new tag for the rule.") % {"tag": tag.name}
        )
    rule = TagRule.objects.filter(tag=tag).first()
    before = snapshot(rule) if rule is not None else None
    rule = rule or TagRule(tag=tag)
    rule.conditions = conditions
    rule.active = active
    rule.full_clean()
    rule.save()
    if not tag.automatic:
        Tag.objects.filter(pk=tag.pk).update(automatic=True)
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=rule,
        before=before,
        after=snapshot(rule),
        request=request,
    )
    return rule
