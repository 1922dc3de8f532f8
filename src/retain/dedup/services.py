"""Duplicate candidates and customer merges (with undo for 30 days)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.audit.services import audit_event, snapshot
from retain.customers.models import Customer
from retain.dedup.matching import THRESHOLD
from retain.dedup.models import DuplicatePair, DuplicateScan, MergeRecord, PairStatus

UNDO_WINDOW = dt.timedelta(days=30)
#: Key in MergeRecord.moved of the loser's primary contacts demoted by the merge.
DEMOTED = "customers.contact:demoted"
#: Key in MergeRecord.dropped of the "not a duplicate" decisions involving the loser.
DECISIONS = "dedup.duplicatepair"
#: Key in MergeRecord.dropped of the survivor's consents replaced by the loser's newer ones.
CONSENTS_REPLACED = "customers.consent:replaced"
#: Key in MergeRecord.dropped of the survivor's consents right after the merge.
CONSENTS_AT_MERGE = "customers.consent:at_merge"
#: Customer fields a merge may take from either side.
MERGE_FIELDS = (
    "name",
    "kind",
    "industry",
    "source",
    "first_contact_date",
    "status",
    "key_needs",
    "notes",
    "owner",
    "region",
    "city",
    "birthday",
    "gender",
    "age_band",
    "occupation",
    "phone",
    "email",
)


def duplicates_refresh(
    *,
    customer_ids: set[int] | None = None,
    changed_only: bool = False,
    threshold: float = THRESHOLD,
    now: dt.datetime | None = None,
) -> int:
    """Search for duplicates and store the candidate pairs found (open pairs of the
    searched customers are replaced; pairs dismissed as not duplicates stay dismissed).

    - ``changed_only``: the customers new or changed since they were last searched,
      against all others (after an import; see ``retain.dedup.search``);
    - ``customer_ids``: those customers against all others;
    - neither: the full scan, in batches, resumed if an earlier one was stopped.

    Returns the number of open candidate pairs stored (for the full scan: open after it)."""
    from retain.dedup import search

    if changed_only:
        return search.search_changed(threshold=threshold, now=now)
    if customer_ids is not None:
        return search.search_ids(customer_ids, threshold=threshold, now=now)
    return search.scan(threshold=threshold, now=now)


def duplicates_scan_queue(
    *, actor: Any = None, request: Any = None, now: dt.datetime | None = None
) -> tuple[DuplicateScan, bool]:
    """Queue the full scan on the job worker, unless one is already queued or running.

    The queued scan is an unfinished ``DuplicateScan`` marked ``queued_at``; the worker's
    job (``duplicates_scan_task``) resumes it. A stopped unfinished scan is queued again.
    Returns the scan and whether a job was queued by this call. Audited."""
    from retain.dedup.tasks import duplicates_scan_task

    now = now or timezone.now()
    with transaction.atomic():
        current = (
            DuplicateScan.objects.select_for_update()
            .filter(finished_at__isnull=True)
            .order_by("-id")
            .first()
        )
        if current is not None and current.queued_at is not None:
            return current, False
        before = snapshot(current) if current is not None else None
        if current is None:
            current = DuplicateScan(started_at=now)
        current.queued_at = now
        current.full_clean()
        current.save()
        audit_event(
            actor=actor,
            action="update" if before else "create",
            obj=current,
            before=before,
            after=snapshot(current),
            request=request,
        )
        transaction.on_commit(lambda: duplicates_scan_task())
    return current, True


@transaction.atomic
def duplicate_dismiss(*, pair: DuplicatePair, actor: Any) -> DuplicatePair:
    pair.status = PairStatus.DISMISSED
    pair.save(update_fields=["status"])
    return pair


def _customer_relations() -> list[models.ForeignKey]:
    """Every foreign key to Customer from another model (orders, contacts, tags, ...),
    found at run time so models added later are moved too."""
    fields = []
    for rel in Customer._meta.related_objects:
        field = rel.field
        if rel.related_model in (DuplicatePair, MergeRecord) or not isinstance(
            field, models.ForeignKey
        ):
            continue
        fields.append(field)
    return fields


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    loser: Customer,
    actor: Any,
    take_from_loser: set[str] | frozenset[str] = frozenset(),
    now: dt.datetime | None = None,
    request: Any = None,
) -> MergeRecord:
    """Merge ``loser`` into ``survivor``: the fields named in ``take_from_loser`` take the
    loser's value, every row pointing at the loser (orders, contacts, follow-ups,
    complaints, tags, ...) moves to the survivor, the loser is deleted, and a MergeRecord
    keeps what is needed to undo it. Rows the survivor already has (a tag, a consent per
    channel) are dropped and kept in the record."""
    now = now or timezone.now()
    if survivor.pk == loser.pk:
        raise ValidationError(_("A customer cannot be merged with itself."))
    unknown = set(take_from_loser) - set(MERGE_FIELDS)
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    survivor = Customer.objects.select_for_update().get(pk=survivor.pk)
    loser = Customer.objects.select_for_update().get(pk=loser.pk)
    loser_snapshot = _exact_snapshot(loser)
    survivor_before = _exact_snapshot(survivor, {*take_from_loser, "updated_at"})
    for name in take_from_loser:
        field = cast(models.Field, Customer._meta.get_field(name))
        setattr(survivor, field.attname, getattr(loser, field.attname))
    survivor.updated_at = now
    survivor.full_clean(validate_unique=False)
    moved: dict[str, list[int]] = {}
    dropped: dict[str, list[dict[str, Any]]] = {}
    # One primary contact per customer: the survivor's stays primary, the loser's is
    # demoted before it moves (and promoted again on undo).
    from retain.customers.models import Consent, Contact

    if Contact.objects.filter(customer=survivor, is_primary=True).exists():
        demoted = list(
            Contact.objects.filter(customer=loser, is_primary=True).values_list("pk", flat=True)
        )
        if demoted:
            Contact.objects.filter(pk__in=demoted).update(is_primary=False)
            moved[DEMOTED] = demoted
    # Consent per channel: the newest decision of the two wins (a withdrawal on a tie), so
    # the loser's newer withdrawal is never lost behind the survivor's older "granted".
    if replaced := _consents_take_newest(survivor=survivor, loser=loser):
        dropped[CONSENTS_REPLACED] = replaced
    # The survivor's decisions as the merge left them: undo tells later ones by these.
    dropped[CONSENTS_AT_MERGE] = [
        _exact_snapshot(c, {"id", *_CONSENT_VALUES})
        for c in Consent.objects.filter(customer=survivor)
    ]
    for field in _customer_relations():
        model = field.model
        label = model._meta.label_lower
        rows = model._default_manager.filter(**{field.attname: loser.pk})
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            continue
        try:
            with transaction.atomic():
                rows.update(**{field.attname: survivor.pk})
            moved.setdefault(label, []).extend(ids)
        except IntegrityError:
            # A unique constraint (one tag per customer, one consent per channel): move
            # row by row, drop the ones the survivor already has.
            for obj in model._default_manager.filter(pk__in=ids):
                try:
                    with transaction.atomic():
                        model._default_manager.filter(pk=obj.pk).update(
                            **{field.attname: survivor.pk}
                        )
                    moved.setdefault(label, []).append(obj.pk)
                except IntegrityError:
                    dropped.setdefault(label, []).append(_exact_snapshot(obj))
                    obj.delete()
    # Open candidate pairs of the loser go with it (deleted by cascade); its "not a
    # duplicate" decisions are kept in the record and come back on undo.
    decisions = DuplicatePair.objects.filter(
        models.Q(left=loser) | models.Q(right=loser), status=PairStatus.DISMISSED
    )
    if kept := [_exact_snapshot(pair) for pair in decisions]:
        dropped[DECISIONS] = kept
    loser.delete()
    survivor.save(
        update_fields=[*(Customer._meta.get_field(n).name for n in take_from_loser), "updated_at"]
    )
    # auto_now stamps the clock's time; the merge's own moment is what undo compares with.
    Customer.objects.filter(pk=survivor.pk).update(updated_at=now)
    survivor.updated_at = now
    record = MergeRecord(
        survivor=survivor,
        loser_id=loser_snapshot["id"],
        loser_code=loser_snapshot["code"],
        loser_name=loser_snapshot["name"],
        loser_snapshot=loser_snapshot,
        survivor_before=survivor_before,
        moved=moved,
        dropped=dropped,
        merged_by=actor if getattr(actor, "is_authenticated", False) else None,
        merged_at=now,
    )
    record.full_clean()
    record.save()
    audit_event(
        actor=actor,
        action="merge",
        obj=survivor,
        customer=survivor,
        before={"survivor": survivor_before, "merged": loser_snapshot},
        after={
            "survivor": snapshot(survivor, take_from_loser),
            "moved": {k: len(v) for k, v in moved.items() if k != DEMOTED},
            "dropped": {k: len(v) for k, v in dropped.items()},
            "merge_record": record.pk,
        },
        request=request,
    )
    return record


@transaction.atomic
def customer_merge_undo(
    *, record: MergeRecord, actor: Any, now: dt.datetime | None = None, request: Any = None
) -> Customer:
    """Undo a merge within 30 days: recreate the merged customer with its code and values,
    move its rows back, restore the survivor's fields and the dropped rows."""
    now = now or timezone.now()
    record = MergeRecord.objects.select_for_update().get(pk=record.pk)
    if record.undone_at is not None:
        raise ValidationError(_("This merge was undone already."))
    if now - record.merged_at > UNDO_WINDOW:
        raise ValidationError(
            _("A merge can be undone for %(days)s days; this one is older.")
            % {"days": UNDO_WINDOW.days}
        )
    if Customer.objects.filter(code=record.loser_code).exists():
        raise ValidationError(
            _("The code %(code)s is in use again; the merge cannot be undone.")
            % {"code": record.loser_code}
        )
    survivor = Customer.objects.select_for_update().get(pk=record.survivor_id)
    loser = cast(Customer, _restore(Customer, record.loser_snapshot))
    before = dict(record.survivor_before)
    updated_before = before.pop("updated_at", None)
    for name, value in before.items():
        field = cast(models.Field, Customer._meta.get_field(name))
        setattr(survivor, field.attname, field.to_python(value) if value is not None else None)
    # Untouched since the merge: the survivor gets its own time back; edited since: now.
    untouched = updated_before is not None and survivor.updated_at == record.merged_at
    survivor.save(update_fields=[*before, "updated_at"])
    survivor.updated_at = _value(Customer, "updated_at", updated_before) if untouched else now
    Customer.objects.filter(pk=survivor.pk).update(updated_at=survivor.updated_at)
    relations = {f.model._meta.label_lower: f for f in _customer_relations()}
    for label, ids in record.moved.items():
        if label == DEMOTED:
            continue
        field = relations[label]
        field.model._default_manager.filter(pk__in=ids).update(**{field.attname: loser.pk})
    if record.moved.get(DEMOTED):
        from retain.customers.models import Contact

        Contact.objects.filter(pk__in=record.moved[DEMOTED]).update(is_primary=True)
    for label, rows in record.dropped.items():
        if label in (DECISIONS, CONSENTS_REPLACED, CONSENTS_AT_MERGE):
            continue
        model = relations[label].model
        for data in rows:
            _restore(model, data)
    _consents_after_undo(record=record, survivor=survivor, loser=loser)
    # "Not a duplicate" decisions come back unless the other customer is gone meanwhile.
    decisions = record.dropped.get(DECISIONS, [])
    present = set(
        Customer.objects.filter(
            pk__in={d["left"] for d in decisions} | {d["right"] for d in decisions}
        ).values_list("pk", flat=True)
    )
    DuplicatePair.objects.bulk_create(
        [
            cast(DuplicatePair, _instance(DuplicatePair, d))
            for d in decisions
            if d["left"] in present and d["right"] in present
        ],
        ignore_conflicts=True,
    )
    record.undone_at = now
    record.undone_by = actor if getattr(actor, "is_authenticated", False) else None
    record.save(update_fields=["undone_at", "undone_by"])
    audit_event(
        actor=actor,
        action="merge",
        obj=loser,
        customer=loser,
        before={"merge_record": record.pk, "undo": True},
        after={"restored": record.loser_code, "survivor": survivor.code},
        request=request,
    )
    return loser


_CONSENT_VALUES = ("status", "recorded_at", "source")


def _consents_take_newest(*, survivor: Customer, loser: Customer) -> list[dict[str, Any]]:
    """Give the survivor, on each channel both have, the newer of the two decisions;
    returns what was replaced (before and after), for undo."""
    from retain.customers.models import Consent
    from retain.customers.services import consent_replaces

    theirs = {c.channel: c for c in Consent.objects.filter(customer=loser)}
    replaced = []
    for ours in Consent.objects.select_for_update().filter(
        customer=survivor, channel__in=list(theirs)
    ):
        other = theirs[ours.channel]
        if (other.status, other.recorded_at) == (ours.status, ours.recorded_at):
            continue
        if consent_replaces(
            old_status=ours.status,
            old_at=ours.recorded_at,
            new_status=other.status,
            new_at=other.recorded_at,
        ):
            before = _exact_snapshot(ours)
            ours.status, ours.recorded_at, ours.source = (
                other.status,
                other.recorded_at,
                other.source,
            )
            ours.save(update_fields=list(_CONSENT_VALUES))
            replaced.append({"before": before, "after": _exact_snapshot(ours)})
    return replaced


def _consents_after_undo(*, record: MergeRecord, survivor: Customer, loser: Customer) -> None:
    """Undo gives the survivor its own consents back unless they changed since the merge,
    and a decision recorded on the merged customer after the merge (the same person) also
    applies to the restored one when it is newer there — so no withdrawal is lost."""
    from retain.customers.models import Consent
    from retain.customers.services import consent_replaces, consent_set

    survivor_now = list(Consent.objects.filter(customer=survivor))
    at_merge = record.dropped.get(CONSENTS_AT_MERGE)
    if at_merge is None:  # a merge recorded before the consents were kept
        later = [c for c in survivor_now if c.recorded_at > record.merged_at]
    else:
        known = {(d["id"], d["status"], d["recorded_at"]) for d in at_merge}
        later = [
            c for c in survivor_now if (c.pk, c.status, c.recorded_at.isoformat()) not in known
        ]
    changed = {c.pk for c in later}
    for item in record.dropped.get(CONSENTS_REPLACED, []):
        if item["after"]["id"] in changed:
            continue  # decided again since the merge: that newer decision stays
        before = _instance(Consent, item["before"])
        Consent.objects.filter(pk=item["after"]["id"]).update(
            **{k: getattr(before, k) for k in _CONSENT_VALUES}
        )
    restored = {c.channel: c for c in Consent.objects.filter(customer=loser)}
    for since in later:
        mine = restored.get(since.channel)
        if mine is None or consent_replaces(
            old_status=mine.status,
            old_at=mine.recorded_at,
            new_status=since.status,
            new_at=since.recorded_at,
        ):
            consent_set(
                customer=loser,
                channel=since.channel,
                granted=since.status == "granted",
                source=since.source,
                at=since.recorded_at,
            )


def _exact_snapshot(obj: models.Model, fields: set[str] | None = None) -> dict[str, Any]:
    """``snapshot`` with times to the microsecond (the JSON encoder keeps milliseconds only),
    so undo puts back exactly what was there."""
    data = snapshot(obj, fields)
    for field in obj._meta.concrete_fields:
        if field.name in data and isinstance(field, (models.DateTimeField, models.TimeField)):
            value = getattr(obj, field.attname)
            data[field.name] = None if value is None else value.isoformat()
    return data


def _value(model: type[models.Model], name: str, raw: Any) -> Any:
    field = cast(models.Field, model._meta.get_field(name))
    return None if raw is None else field.to_python(raw)


def _instance(model: type[models.Model], data: dict[str, Any]) -> models.Model:
    values = {}
    for field in model._meta.concrete_fields:
        if field.name not in data:
            continue
        values[field.attname] = _value(model, field.name, data[field.name])
    return model(**values)


def _restore(model: type[models.Model], data: dict[str, Any]) -> models.Model:
    """Insert a row from its snapshot as it was, including the times that ``auto_now`` and
    ``auto_now_add`` would otherwise stamp anew."""
    obj = _instance(model, data)
    obj.save(force_insert=True)
    stamped = {
        f.attname: getattr(obj, f.attname)
        for f in model._meta.concrete_fields
        if (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)) and f.name in data
    }
    if stamped:
        for name in stamped:
            stamped[name] = _value(model, name, data[name])
            setattr(obj, name, stamped[name])
        model._default_manager.filter(pk=obj.pk).update(**stamped)
    return obj
