"""Find customers that are probably one: Splink (Fellegi-Sunter) on DuckDB.

The customers are pulled from the database into a pandas DataFrame (one row per
customer, with the phones and emails of the customer and its contacts as arrays),
normalised (``normalise``), and scored by Splink. The model's m and u probabilities are
set by hand and checked against the labelled pairs in ``tests/dedup/pairs.csv``. Blocking
keeps the number of compared pairs small: same normalised name, same first characters of
it, same pinyin (persons), a shared phone or a shared email. The search after an import
and the full scan (``retain.dedup.search``) feed this with the customers to search and
the few others that share a blocking key with them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.utils.translation import gettext_lazy as _

from retain.dedup.normalise import (
    company_core,
    company_full,
    email_key,
    person_core,
    person_pinyin,
    phone_key,
)

#: Pairs below this match probability are not shown.
THRESHOLD = 0.5
#: At most this many phones and this many emails of one customer are blocking keys.
MAX_KEYED = 5


#: What each kind of evidence means, for people.
EVIDENCE = {
    "same_name": _("same name"),
    "short_long": _("short and long form of one name"),
    "same_core": _("same name core, other trade words"),
    "similar_name": _("similar name (a typo?)"),
    "same_pinyin": _("same name in pinyin"),
    "phone": _("same phone"),
    "email": _("same email"),
    "city": _("same city"),
}


def evidence_lines(evidence: list[list[str]] | tuple[tuple[str, str], ...]) -> list[str]:
    """Stored evidence as lines in the user's language: "same phone: 13800138000"."""
    return [f"{EVIDENCE.get(kind, kind)}: {detail}" for kind, detail in evidence]


@dataclass(frozen=True)
class Candidate:
    left_id: int
    right_id: int
    score: float
    evidence: tuple[tuple[str, str], ...]  # (kind of evidence, detail); see EVIDENCE


FRAME_COLUMNS = [
    "unique_id", "code", "kind", "name", "name_core", "name_full", "name_start", "name_pinyin",
    "city", "phones", "emails", "phone_first", "email_first",
]  # fmt: skip


def frame_record(
    cid: int,
    code: str,
    kind: str,
    name: str,
    city: str,
    phones: Iterable[str],
    emails: Iterable[str],
    *,
    pinyin: bool = True,
) -> dict[str, Any]:
    """One customer's row of the matching frame; ``phones``/``emails`` already keyed.
    ``pinyin=False`` leaves the pinyin out (not a key; only for storing keys)."""
    company = kind == "company"
    core = company_core(name) if company else person_core(name)
    full = company_full(name) if company else core
    phone_list, email_list = sorted(set(phones)), sorted(set(emails))
    return {
        "unique_id": cid,
        "code": code,
        "kind": kind,
        "name": name,
        "name_core": core or None,
        "name_full": full or None,
        "name_start": core[:2] or None,
        "name_pinyin": (None if company or not pinyin else person_pinyin(name)) or None,
        "city": city or None,
        "phones": phone_list or None,
        "emails": email_list or None,
        "phone_first": phone_list[0] if phone_list else None,
        "email_first": email_list[0] if email_list else None,
    }


def match_keys(record: dict[str, Any]) -> set[str]:
    """The keys of a frame row stored in ``MatchKey``: its phones ("p:"), emails ("e:"),
    and for a company its name core ("n:") with its city ("nc:core|city") or, without a
    city, "n0:core". Kept under 255 characters."""
    keys = {f"p:{p}" for p in (record["phones"] or ())[:MAX_KEYED]}
    keys.update(f"e:{e}" for e in (record["emails"] or ())[:MAX_KEYED])
    core = record["name_core"]
    if record["kind"] == "company" and core:
        keys.add(f"n:{core}")
        keys.add(f"nc:{core}|{record['city']}" if record["city"] else f"n0:{core}")
    return {k[:255] for k in keys}


def lookup_keys(record: dict[str, Any]) -> set[str]:
    """The keys under which a row's possible duplicates are found. With the model's
    weights a pair reaches the threshold only with a shared phone or email, or, for two
    companies, the same name core in the same city or with one city missing; so a
    company with a city looks up "nc:core|city" and "n0:core", one without "n:core"
    (names that are only similar, or sound alike, need a shared phone or email)."""
    keys = {k for k in match_keys(record) if k[:2] in ("p:", "e:")}
    core = record["name_core"]
    if record["kind"] == "company" and core:
        if record["city"]:
            keys |= {f"nc:{core}|{record['city']}", f"n0:{core}"}
        else:
            keys.add(f"n:{core}")
    return {k[:255] for k in keys}


def _chunks(ids: list[int], size: int = 2000) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def customer_frame(ids: Iterable[int] | None = None, *, pinyin: bool = True) -> pd.DataFrame:
    """One row per customer with normalised keys; phones and emails of contacts (those who
    have not left by today) included. All customers, or those of ``ids``."""
    from django.db.models import Q
    from django.utils import timezone

    from retain.customers.models import Contact, Customer

    today = timezone.localdate()
    still_here = Q(left_on__isnull=True) | Q(left_on__gt=today)
    fields = ("id", "code", "kind", "name", "city", "phone", "email")
    if ids is None:
        rows = list(Customer.objects.values_list(*fields))
        contacts = list(
            Contact.objects.filter(still_here).values_list("customer_id", "phone", "email")
        )
    else:
        wanted = sorted(set(ids))
        rows, contacts = [], []
        for chunk in _chunks(wanted):
            rows += Customer.objects.filter(pk__in=chunk).values_list(*fields)
            contacts += Contact.objects.filter(still_here, customer_id__in=chunk).values_list(
                "customer_id", "phone", "email"
            )
    phones: dict[int, set[str]] = {}
    emails: dict[int, set[str]] = {}
    for cid, phone, email in [(r[0], r[5], r[6]) for r in rows] + contacts:
        if key := phone_key(phone):
            phones.setdefault(cid, set()).add(key)
        if key := email_key(email):
            emails.setdefault(cid, set()).add(key)
    records = [
        frame_record(
            cid, code, kind, name, city, phones.get(cid, ()), emails.get(cid, ()), pinyin=pinyin
        )
        for cid, code, kind, name, city, _phone, _email in rows
    ]
    return pd.DataFrame.from_records(records, columns=FRAME_COLUMNS)


def _name_comparison():  # type: ignore[no-untyped-def]
    """Name levels, most telling first. The m/u pairs are priors: how often a true pair
    (m) and a random pair (u) land on the level. A person's name is common (张伟): the same
    name alone is weak evidence, the same name with the same phone or email is strong."""
    import splink.comparison_library as cl

    def level(sql: str, label: str, m: float, u: float) -> dict[str, object]:
        return {
            "sql_condition": sql,
            "label_for_charts": label,
            "m_probability": m,
            "u_probability": u,
        }

    companies = "kind_l = 'company' AND kind_r = 'company'"
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            {"sql_condition": "name_full_l IS NULL OR name_full_r IS NULL", "is_null_level": True},
            level(f"{companies} AND name_full_l = name_full_r", "same name", 0.60, 0.00003),
            level(
                # companies only, and only trade words between them: 某科技 / 某科技发展,
                # but not 北京大学 / 北京大学第一医院
                f"{companies} AND name_core_l = name_core_r AND "
                "(starts_with(name_full_l, name_full_r) OR starts_with(name_full_r, name_full_l))",
                "short and long name",
                0.20,
                0.00002,
            ),
            level(
                f"{companies} AND name_core_l = name_core_r",
                "same core, other trade",
                0.12,
                0.00002,
            ),
            level("name_full_l = name_full_r", "same person name", 0.55, 0.002),
            level("name_pinyin_l = name_pinyin_r", "same name in pinyin", 0.15, 0.003),
            level(
                "jaro_winkler_similarity(name_full_l, name_full_r) >= 0.85",
                "similar name (typo)",
                0.06,
                0.002,
            ),
            # a true pair rarely has wholly different names: a shared family phone is no pair
            level("ELSE", "different name", 0.01, 0.99),
        ],
    )


#: gamma of the name comparison → kind of evidence (see EVIDENCE)
_NAME_EVIDENCE = {
    6: "same_name",
    5: "short_long",
    4: "same_core",
    3: "same_name",
    2: "same_pinyin",
    1: "similar_name",
}


def _blocking_rules(new_only: bool) -> list[Any]:
    """Pairs worth scoring: same name core, same first characters and kind, same pinyin,
    a shared phone or email. After an import only pairs with a new customer in them."""
    from splink.blocking_rule_library import And, CustomRule, block_on

    rules = [
        block_on("name_core"),
        block_on("name_start", "kind"),
        block_on("name_pinyin"),
        block_on("phones", arrays_to_explode=["phones"]),
        block_on("emails", arrays_to_explode=["emails"]),
    ]
    if not new_only:
        return rules
    new = CustomRule("(l.is_new OR r.is_new)")
    return [
        And(rule, new, arrays_to_explode=rule.arrays_to_explode)
        if rule.arrays_to_explode
        else And(rule, new)
        for rule in rules
    ]


def _settings(new_only: bool = False):  # type: ignore[no-untyped-def]
    import splink.comparison_library as cl
    from splink import SettingsCreator

    # level 1: one shared; level 0: both known, none shared (some evidence against: a
    # company entered twice usually keeps at least one number)
    m_strong, u_strong = [0.8, 0.2], [0.00002, 0.99998]
    return SettingsCreator(
        link_type="dedupe_only",
        probability_two_random_records_match=1e-4,
        comparisons=[
            _name_comparison(),
            # an identical phone or email weighs strongly (a similar name + same mobile is
            # one person), but a shared number alone does not make a pair (a family's line)
            cl.ArrayIntersectAtSizes("phones", [1]).configure(
                m_probabilities=m_strong, u_probabilities=u_strong
            ),
            cl.ArrayIntersectAtSizes("emails", [1]).configure(
                m_probabilities=m_strong, u_probabilities=u_strong
            ),
            cl.ExactMatch("city").configure(
                m_probabilities=[0.85, 0.15], u_probabilities=[0.08, 0.92]
            ),
            cl.ExactMatch("kind").configure(
                m_probabilities=[0.97, 0.03], u_probabilities=[0.5, 0.5]
            ),
        ],
        blocking_rules_to_generate_predictions=_blocking_rules(new_only),
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["name", "code"],
    )


def find_candidates(
    frame: pd.DataFrame, *, threshold: float = THRESHOLD, new_ids: set[int] | None = None
) -> list[Candidate]:
    """Candidate pairs of ``frame`` (see ``customer_frame``) with score and evidence; with
    ``new_ids`` only pairs with at least one of those customers. The m and u
    probabilities are the priors above, so a pair scores the same whatever else is in
    the frame (the search after an import and the full scan agree)."""
    if len(frame) < 2:
        return []
    from splink import Linker
    from splink.backends.duckdb import DuckDBAPI

    if new_ids is not None:
        frame = frame.assign(is_new=frame["unique_id"].isin(new_ids))
    db_api = DuckDBAPI()
    table = db_api.register(frame, dataset_display_name="customers")
    linker = Linker(table, _settings(new_ids is not None), log_level=logging.WARNING)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    pairs = predictions.as_pandas_dataframe()
    found = {}
    for row in pairs.itertuples(index=False):
        candidate = _candidate(row)
        found[(candidate.left_id, candidate.right_id)] = candidate
    return list(found.values())


def _candidate(row) -> Candidate:  # type: ignore[no-untyped-def]
    evidence: list[tuple[str, str]] = []
    names = f"{row.name_l} / {row.name_r}"
    if row.gamma_name in _NAME_EVIDENCE:
        evidence.append((_NAME_EVIDENCE[row.gamma_name], names))
    if row.gamma_phones == 1:
        shared = sorted(set(_items(row.phones_l)) & set(_items(row.phones_r)))
        evidence.append(("phone", ", ".join(shared)))
    if row.gamma_emails == 1:
        shared = sorted(set(_items(row.emails_l)) & set(_items(row.emails_r)))
        evidence.append(("email", ", ".join(shared)))
    if row.gamma_city == 1:
        evidence.append(("city", str(row.city_l)))
    left, right = sorted((int(row.unique_id_l), int(row.unique_id_r)))
    return Candidate(left, right, round(float(row.match_probability), 4), tuple(evidence))


def _items(value) -> list[str]:  # type: ignore[no-untyped-def]
    return [] if value is None else [str(v) for v in value]


def candidates_involving(candidates: Iterable[Candidate], ids: set[int]) -> list[Candidate]:
    return [c for c in candidates if c.left_id in ids or c.right_id in ids]
