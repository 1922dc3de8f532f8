"""Find customers that are probably one: Splink (Fellegi-Sunter) on DuckDB.

The customers are pulled from the database into a pandas DataFrame (one row per
customer, with the phones and emails of the customer and its contacts as arrays),
normalised (``normalise``), and scored by Splink. The model's m and u probabilities are
set by hand (there are no labelled pairs to learn m from); u is re-estimated from the
data by random sampling when there are enough customers. Blocking keeps the number of
compared pairs small: same normalised name, same first characters of it, a shared
phone or a shared email.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from django.utils.translation import gettext_lazy as _

from retain.dedup.normalise import company_core, company_full, email_key, person_core, phone_key

#: Pairs below this match probability are not shown.
THRESHOLD = 0.5
#: Random-sampling estimation of u needs enough records to be better than the priors.
ESTIMATE_U_FROM = 2000


#: What each kind of evidence means, for people.
EVIDENCE = {
    "same_name": _("same name"),
    "short_long": _("short and long form of one name"),
    "same_core": _("same name core, other trade words"),
    "similar_name": _("similar name (a typo?)"),
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


def customer_frame() -> pd.DataFrame:
    """One row per customer with normalised keys; phones and emails of contacts included."""
    from retain.customers.models import Contact, Customer

    rows = list(
        Customer.objects.values_list("id", "code", "kind", "name", "city", "phone", "email")
    )
    phones: dict[int, set[str]] = {}
    emails: dict[int, set[str]] = {}
    for cid, _code, _kind, _name, _city, phone, email in rows:
        if phone_key(phone):
            phones.setdefault(cid, set()).add(phone_key(phone))
        if email_key(email):
            emails.setdefault(cid, set()).add(email_key(email))
    for cid, phone, email in Contact.objects.filter(left_on__isnull=True).values_list(
        "customer_id", "phone", "email"
    ):
        if phone_key(phone):
            phones.setdefault(cid, set()).add(phone_key(phone))
        if email_key(email):
            emails.setdefault(cid, set()).add(email_key(email))
    records = []
    for cid, code, kind, name, city, _phone, _email in rows:
        core = company_core(name) if kind == "company" else person_core(name)
        full = company_full(name) if kind == "company" else core
        records.append(
            {
                "unique_id": cid,
                "code": code,
                "kind": kind,
                "name": name,
                "name_core": core or None,
                "name_full": full or None,
                "name_start": core[:2] or None,
                "city": city or None,
                "phones": sorted(phones.get(cid, ())) or None,
                "emails": sorted(emails.get(cid, ())) or None,
                "phone_first": min(phones[cid]) if cid in phones else None,
                "email_first": min(emails[cid]) if cid in emails else None,
            }
        )
    return pd.DataFrame.from_records(
        records,
        columns=[
            "unique_id", "code", "kind", "name", "name_core", "name_full", "name_start", "city",
            "phones", "emails", "phone_first", "email_first",
        ],
    )  # fmt: skip


def _name_comparison():  # type: ignore[no-untyped-def]
    """Name levels, most telling first. The m/u pairs are priors: how often a true pair
    (m) and a random pair (u) land on the level."""
    import splink.comparison_library as cl

    def level(sql: str, label: str, m: float, u: float) -> dict[str, object]:
        return {
            "sql_condition": sql,
            "label_for_charts": label,
            "m_probability": m,
            "u_probability": u,
        }

    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            {"sql_condition": "name_full_l IS NULL OR name_full_r IS NULL", "is_null_level": True},
            level("name_full_l = name_full_r", "same name", 0.60, 0.00005),
            level(
                # companies only: 吴婷 is not a short form of 吴婷婷
                "kind_l = 'company' AND kind_r = 'company' AND "
                "least(length(name_full_l), length(name_full_r)) >= 2 AND "
                "(starts_with(name_full_l, name_full_r) OR starts_with(name_full_r, name_full_l))",
                "short and long name",
                0.25,
                0.0001,
            ),
            level("name_core_l = name_core_r", "same core, other trade", 0.05, 0.0002),
            level(
                "jaro_winkler_similarity(name_full_l, name_full_r) >= 0.85",
                "similar name (typo)",
                0.06,
                0.002,
            ),
            level("ELSE", "different name", 0.04, 0.99765),
        ],
    )


def _settings():  # type: ignore[no-untyped-def]
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        probability_two_random_records_match=1e-4,
        comparisons=[
            _name_comparison(),
            cl.ArrayIntersectAtSizes("phones", [1]).configure(
                m_probabilities=[0.7, 0.3], u_probabilities=[0.0001, 0.9999]
            ),
            cl.ArrayIntersectAtSizes("emails", [1]).configure(
                m_probabilities=[0.7, 0.3], u_probabilities=[0.0001, 0.9999]
            ),
            cl.ExactMatch("city").configure(
                m_probabilities=[0.85, 0.15], u_probabilities=[0.08, 0.92]
            ),
            cl.ExactMatch("kind").configure(
                m_probabilities=[0.97, 0.03], u_probabilities=[0.5, 0.5]
            ),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name_core"),
            block_on("name_start", "kind"),
            block_on("phone_first"),
            block_on("email_first"),
        ],
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["name", "code"],
    )


def find_candidates(frame: pd.DataFrame, *, threshold: float = THRESHOLD) -> list[Candidate]:
    """Candidate pairs of ``frame`` (see ``customer_frame``) with score and evidence."""
    if len(frame) < 2:
        return []
    from splink import Linker
    from splink.backends.duckdb import DuckDBAPI

    db_api = DuckDBAPI()
    table = db_api.register(frame, dataset_display_name="customers")
    linker = Linker(table, _settings(), log_level=logging.WARNING)
    if len(frame) >= ESTIMATE_U_FROM:
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    pairs = predictions.as_pandas_dataframe()
    return [_candidate(row) for row in pairs.itertuples(index=False)]


def _candidate(row) -> Candidate:  # type: ignore[no-untyped-def]
    evidence: list[tuple[str, str]] = []
    names = f"{row.name_l} / {row.name_r}"
    name_evidence = {4: "same_name", 3: "short_long", 2: "same_core", 1: "similar_name"}
    if row.gamma_name in name_evidence:
        evidence.append((name_evidence[row.gamma_name], names))
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
