"""Whole-file checks made before any row is read: the column mapping and the importer's role."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from retain.accounts.access import import_refused
from retain.imports.reading import ImportFileError
from retain.imports.schema import ImportKind, field_names


def mapping_check(kind: str, headers: list[str], mapping: dict[str, str], *, name: str) -> None:
    """Raise ImportFileError when the mapping names unknown columns or fields, or leaves a
    required field without a column."""
    known = field_names(kind)
    for header, target in mapping.items():
        if header not in headers:
            raise ImportFileError(
                _("%(file)s has no column %(column)s (named in the mapping).")
                % {"file": name, "column": header}
            )
        if target and target not in known:
            raise ImportFileError(
                _("%(field)s is not a field of a %(kind)s import.")
                % {"field": target, "kind": ImportKind(kind).label}
            )
    targets = [t for t in mapping.values() if t]
    doubled = {t for t in targets if targets.count(t) > 1}
    if doubled:
        raise ImportFileError(
            _("%(file)s: more than one column is mapped to %(fields)s.")
            % {"file": name, "fields": ", ".join(sorted(doubled))}
        )
    missing = [f for f in known.values() if f.required and f.name not in targets]
    if missing:
        raise ImportFileError(
            _(
                "%(file)s has no column for the required field(s): %(fields)s. Found columns: %(headers)s."
            )
            % {
                "file": name,
                "fields": ", ".join(f"{f.zh} / {f.en}" for f in missing),
                "headers": ", ".join(h for h in headers if h) or "-",
            }
        )


def access_check(kind: str, mapping: dict[str, str], *, actor: Any, name: str) -> None:
    """Refuse the whole file, before anything is read or written, when ``actor``'s role
    may not import ``kind`` or write one of the mapped columns (docs/access.md)."""
    refused = import_refused(actor, kind, {t for t in mapping.values() if t})
    if refused == ["*"]:
        raise ImportFileError(
            _("%(file)s: your role may not import %(kind)s. Nothing was imported.")
            % {"file": name, "kind": str(ImportKind(kind).label).lower()}
        )
    if refused:
        columns = [h for h, t in mapping.items() if t in refused]
        raise ImportFileError(
            _(
                "%(file)s: your role may not write the column(s) %(columns)s; leave them out "
                "or unmapped. Nothing was imported."
            )
            % {"file": name, "columns": ", ".join(columns)}
        )
