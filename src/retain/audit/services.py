"""Write the audit trail. Other services call ``audit_event`` inside their transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from retain.audit.models import UNCHANGING_ACTIONS, AuditAction, AuditEvent
from retain.core.cache import invalidate_on_commit, topics_read


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The concrete field values of ``obj`` as JSON-safe data (foreign keys as their id)."""
    wanted = set(fields) if fields is not None else None
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if wanted is not None and field.name not in wanted:
            continue
        data[field.name] = getattr(obj, field.attname)
    return _jsonable(data)


def _jsonable(data: Any) -> Any:
    if data is None:
        return None
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _client_ip(request: Any) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: from a trusted proxy (RETAIN_TRUSTED_PROXIES) retain.core.proxy has
    # put the client's address there; X-Forwarded-For from anyone else is ignored.
    return request.META.get("REMOTE_ADDR") or None


def audit_event(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    customer: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request: Any = None,
    object_repr: str = "",
) -> AuditEvent:
    """Record one audited action and return the saved event.

    ``actor`` is the user who acted (``None`` for the system). ``obj`` is the object acted on;
    ``customer`` defaults to ``obj`` when it is a customer, or to ``obj.customer`` when it has
    one. ``before``/``after`` are dicts of field values (see ``snapshot``); ``request`` gives the
    client IP address; ``object_repr`` names
    the object when there is no ``obj`` (e.g. the username of a failed login). Call it inside the service's transaction so that the trail and the
    change are saved together or not at all.
    """
    from retain.customers.models import Customer

    action = AuditAction(action)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # AnonymousUser
    customer_id = None
    if customer is not None:
        customer_id = customer.pk
    elif obj is not None:
        customer_id = _customer_id(obj, Customer)
    object_type = object_id = ""
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = "" if obj.pk is None else str(obj.pk)
        object_repr = str(obj)[:200]
    if action not in UNCHANGING_ACTIONS and (topics := topics_read(object_type)):
        invalidate_on_commit(*topics)
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        customer_id=customer_id,
        before=_jsonable(before),
        after=_jsonable(after),
        ip=_client_ip(request),
    )


def audit_events_bulk(
    *,
    actor: Any,
    action: str,
    objs: Iterable[models.Model],
    request: Any = None,
    batch_size: int = 1000,
) -> int:
    """Audit many created objects at once (bulk imports, bulk API): one row each, in bulk.

    Each event records the object's values as ``after`` and links the object's customer.
    Returns the number of events written.
    """
    from retain.customers.models import Customer

    action = AuditAction(action)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    ip = _client_ip(request)
    events = []
    for obj in objs:
        events.append(
            AuditEvent(
                actor=actor,
                actor_name=actor.get_username() if actor is not None else "",
                action=action,
                object_type=obj._meta.label_lower,
                object_id="" if obj.pk is None else str(obj.pk),
                object_repr=str(obj)[:200],
                customer_id=_customer_id(obj, Customer),
                after=snapshot(obj),
                ip=ip,
            )
        )
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    changed = action not in UNCHANGING_ACTIONS
    if changed and (topics := tuple({t for e in events for t in topics_read(e.object_type)})):
        invalidate_on_commit(*topics)
    return len(events)


def _customer_id(obj: models.Model, customer_model: type[models.Model]) -> int | None:
    """The id of ``obj``'s customer: read from its ``customer`` foreign key's column, so that
    auditing thousands of rows written with only ``customer_id`` loads no customer."""
    if isinstance(obj, customer_model):
        return obj.pk
    try:
        field = obj._meta.get_field("customer")
    except FieldDoesNotExist:
        field = None
    if field is not None and field.concrete and field.related_model is customer_model:
        return getattr(obj, field.attname)  # type: ignore[no-any-return]
    customer = getattr(obj, "customer", None)  # a property, or a relation through another row
    return customer.pk if isinstance(customer, customer_model) else None


#: One changed record for ``audit_changes_bulk``: the object, its customer's id (or None) and
#: ``{field: (old, new)}``.
Change = tuple[models.Model, int | None, dict[str, tuple[Any, Any]]]


def audit_changes_bulk(
    *,
    actor: Any,
    changes: Iterable[Change],
    action: str = AuditAction.UPDATE,
    note: dict[str, Any] | None = None,
    batch_size: int = 1000,
) -> int:
    """Audit many changed records at once (imports, bulk services): one row per record, as
    ``audit_event`` would write it (``before``/``after`` hold the changed fields), but
    inserted with ``bulk_create``: one INSERT per ``batch_size`` records instead of one per
    record. ``note`` is added to both sides (e.g. ``{"via": "import"}``). Call it inside the
    writer's transaction. Returns the number of events written."""
    action = AuditAction(action)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    actor_name = actor.get_username() if actor is not None else ""
    extra = note or {}
    events = [
        AuditEvent(
            actor=actor,
            actor_name=actor_name,
            action=action,
            object_type=obj._meta.label_lower,
            object_id="" if obj.pk is None else str(obj.pk),
            object_repr=str(obj)[:200],
            customer_id=customer_id,
            before=None
            if action == AuditAction.CREATE
            else _jsonable({k: old for k, (old, _new) in changed.items()} | extra),
            after=_jsonable({k: new for k, (_old, new) in changed.items()} | extra),
        )
        for obj, customer_id, changed in changes
    ]
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    return len(events)
