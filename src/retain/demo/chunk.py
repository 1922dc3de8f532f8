"""One chunk of the demo company, step by step: customers (with planted duplicates), contacts,
consent, orders, follow-ups, complaints, surveys, campaigns and tags. Each step draws from the
chunk's one random generator in this order, so the same seed makes the same company."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from retain.campaigns.models import CampaignParticipation
from retain.complaints.models import Complaint
from retain.core.bulk import BulkWriter, next_id
from retain.customers.models import Consent, Contact, Customer
from retain.customers.services import customer_code_next
from retain.demo import _vocabulary as V
from retain.demo.draws import (
    DAY,
    birthdays_in_bands,
    choice,
    epoch_dates,
    fullwidth,
    group_starts,
    purchases_simulate,
    row_code,
    short_name,
    writer_dates,
)
from retain.interactions.models import FollowUp
from retain.orders.models import Order, OrderLine, Return
from retain.surveys.models import SurveyResponse
from retain.tags.models import CustomerTag


@dataclass
class Chunk:
    """What every step of one chunk reads: its random generator and size, the spec, the reference
    rows (users, sources, categories, tags), name pools, the writer, the time window (epoch
    seconds) and the result the steps count into."""

    rng: np.random.Generator
    size: int
    spec: Any
    ref: dict[str, Any]
    pools: dict[str, list[str]]
    writer: BulkWriter
    begin: int
    end: int
    codes_year: int
    result: Any
    now_text: str = ""


@dataclass
class Customers:
    """What the customer step drew, per customer of the chunk (index 0..size-1), for the later
    steps: kind, language, first contact, their simulated purchases, ids, codes and owners."""

    company: np.ndarray
    english: np.ndarray
    first_contact: np.ndarray
    owner_of: np.ndarray  # customer index per simulated order
    order_times: np.ndarray
    amounts: np.ndarray
    order_counts: np.ndarray
    last_buy: np.ndarray
    codes: list[str]
    ids: np.ndarray
    owner_ids: np.ndarray
    industry_idx: np.ndarray
    customer_rows: list[tuple[Any, ...]]


def chunk_write(chunk: Chunk) -> None:
    """Draw and write one chunk, step by step (the order is part of the seed's promise)."""
    chunk.now_text = chunk.writer.ts(np.array([chunk.end - DAY // 2]))[0]
    drawn = customers_write(chunk)
    contacts_write(chunk, drawn)
    consents_write(chunk, drawn)
    orders_write(chunk, drawn)
    followups_write(chunk, drawn)
    complainer = complaints_write(chunk, drawn)
    surveys_write(chunk, drawn, complainer)
    campaigns_and_tags_write(chunk, drawn, complainer)


def customers_write(chunk: Chunk) -> Customers:
    """Customers: companies and shoppers, Chinese and English names, their purchases (simulated
    here, written by orders_write), status from those purchases, and planted near-duplicates."""
    rng, size, spec, ref, pools, writer, begin, end, codes_year, result, now_text = (
        chunk.rng,
        chunk.size,
        chunk.spec,
        chunk.ref,
        chunk.pools,
        chunk.writer,
        chunk.begin,
        chunk.end,
        chunk.codes_year,
        chunk.result,
        chunk.now_text,
    )
    company = rng.random(size) < spec.company_share
    english = rng.random(size) < spec.english_share
    buyer = rng.random(size) >= spec.prospect_share
    first_contact = rng.integers(begin, end - 7 * DAY, size=size)
    first_buy = first_contact + (rng.exponential(20.0, size=size) * DAY).astype(np.int64)
    buyer &= first_buy < end
    owner_of, order_times, amounts = purchases_simulate(
        rng, first_buy=first_buy, company=company, buyer=buyer, end=end
    )
    order_counts = np.bincount(owner_of, minlength=size)
    last_buy = np.full(size, -1, dtype=np.int64)
    np.maximum.at(last_buy, owner_of, order_times)
    spend = np.bincount(owner_of, weights=amounts, minlength=size)

    codes = customer_code_next(year=codes_year, count=size)
    first_id = next_id(Customer)
    ids = np.arange(first_id, first_id + size)
    zh_names = choice(rng, pools["zh_person"], size)
    en_names = choice(rng, pools["en_person"], size)
    company_names = np.char.add(
        choice(rng, pools["zh_company_prefix"], size).astype(str),
        choice(rng, pools["zh_company_suffix"], size).astype(str),
    ).astype(object)
    en_company = choice(rng, pools["en_company"], size)
    names = np.where(
        company, np.where(english, en_company, company_names), np.where(english, en_names, zh_names)
    )
    industry_idx = rng.integers(0, len(V.INDUSTRIES_ZH), size=size)
    industries = np.where(company, np.asarray(V.INDUSTRIES_ZH, dtype=object)[industry_idx], "")
    region_names = list(V.REGIONS)
    region_idx = rng.integers(0, len(region_names), size=size)
    cities = [
        V.REGIONS[region_names[r]][k % len(V.REGIONS[region_names[r]])]
        for r, k in zip(region_idx, rng.integers(0, 5, size=size), strict=True)
    ]
    sources = ref["sources"]
    source_ids = np.asarray([s.id for s in sources])[
        rng.choice(len(sources), size=size, p=[0.2, 0.2, 0.25, 0.15, 0.15, 0.05])
    ]
    sales = ref["sales"]
    owner_ids = np.asarray([u.id for u in sales], dtype=object)[
        rng.integers(0, len(sales), size=size)
    ]
    owner_ids = np.where(
        company | (rng.random(size) < 0.3), owner_ids, np.asarray(None, dtype=object)
    )
    days_quiet = (end - last_buy) / DAY
    big_spender = spend > (np.quantile(spend[spend > 0], 0.8) if (spend > 0).any() else np.inf)
    status = np.select(
        # core: a repeat buyer worth most; one big first order is not yet "core"
        [
            order_counts == 0,
            days_quiet > 365,
            days_quiet > 180,
            company & big_spender & (order_counts >= 2),
        ],
        ["prospect", "churned", "silent", "core"],
        "active",
    )
    needs = np.where(company, choice(rng, V.NEEDS_ZH, size), "")
    phones = np.char.add(
        choice(rng, pools["zh_phone_prefix"], size).astype(str),
        np.char.zfill(rng.integers(0, 10**8, size=size).astype(str), 8),
    )
    person = ~company
    genders = choice(rng, ["female", "male"], size)
    age_bands = choice(
        rng, ["<25", "25-34", "35-44", "45-54", "55+"], size, p=[0.15, 0.35, 0.25, 0.15, 0.1]
    )
    birthdays = writer_dates(
        birthdays_in_bands(
            rng.integers(
                int(dt.date(1960, 1, 1).toordinal()),
                int(dt.date(2004, 12, 31).toordinal()),
                size=size,
            ),
            age_bands,
            today=dt.date.fromtimestamp(end),
        )
    )
    occupations = choice(rng, V.OCCUPATIONS_ZH, size)
    first_contact_dates = epoch_dates(first_contact)
    customer_rows = []
    for i in range(size):
        is_person = bool(person[i])
        customer_rows.append(
            (
                int(ids[i]),
                codes[i],
                "company" if company[i] else "person",
                names[i],
                industries[i],
                int(source_ids[i]),
                first_contact_dates[i],
                str(status[i]),
                needs[i],
                "",
                owner_ids[i],
                region_names[region_idx[i]],
                cities[i],
                birthdays[i] if is_person else None,
                str(genders[i]) if is_person else "",
                str(age_bands[i]) if is_person else "",
                str(occupations[i]) if is_person else "",
                str(phones[i]) if is_person else "",
                f"c{ids[i]}@{pools['email_domain'][i % 3]}" if is_person else "",
                now_text,
                now_text,
            )
        )
    duplicates_plant(chunk, customer_rows, first_id=first_id)
    result.customers += writer.insert(
        Customer,
        [
            "id",
            "code",
            "kind",
            "name",
            "industry",
            "source_id",
            "first_contact_date",
            "status",
            "key_needs",
            "notes",
            "owner_id",
            "region",
            "city",
            "birthday",
            "gender",
            "age_band",
            "occupation",
            "phone",
            "email",
            "created_at",
            "updated_at",
        ],
        customer_rows,
    )
    return Customers(
        company=company,
        english=english,
        first_contact=first_contact,
        owner_of=owner_of,
        order_times=order_times,
        amounts=amounts,
        order_counts=order_counts,
        last_buy=last_buy,
        codes=codes,
        ids=ids,
        owner_ids=owner_ids,
        industry_idx=industry_idx,
        customer_rows=customer_rows,
    )


def duplicates_plant(chunk: Chunk, customer_rows: list[tuple[Any, ...]], *, first_id: int) -> None:
    """Planted near-duplicates: a second record of an existing customer, spelled differently
    (short name, city prefix, full-width or suffix variant; upper-case email for shoppers)."""
    rng, size, spec, codes_year, result = (
        chunk.rng,
        chunk.size,
        chunk.spec,
        chunk.codes_year,
        chunk.result,
    )
    n_dup = round(size * spec.duplicate_share)
    dup_sources = rng.choice(size, size=n_dup, replace=False) if n_dup else np.array([], dtype=int)
    dup_codes = customer_code_next(year=codes_year, count=n_dup) if n_dup else []
    for k, src in enumerate(dup_sources):
        row = list(customer_rows[src])
        name = row[3]
        if row[2] == "company":
            variant = k % 3
            if variant == 0:
                name = short_name(name)
            elif variant == 1:
                name = f"({row[12]}){name}"
            else:
                name = (
                    fullwidth(name) if name.isascii() else unicodedata.normalize("NFKC", name) + " "
                )
                name = (
                    name.strip() + "有限公司"
                    if not name.strip().endswith("公司")
                    else name.strip().replace("有限公司", "公司")
                )
        else:
            row[18] = str(row[18]).upper()
        row[0] = int(first_id + size + k)
        row[1] = dup_codes[k]
        row[3] = name
        row[7] = "prospect"
        row[9] = f"demo: planted duplicate of {row_code(customer_rows[src])}"
        customer_rows.append(tuple(row))
    result.duplicates += n_dup


def contacts_write(chunk: Chunk, drawn: Customers) -> None:
    """Contacts: 1-4 per company (some have left), one per person (themselves)."""
    rng, size, pools, writer, end, result = (
        chunk.rng,
        chunk.size,
        chunk.pools,
        chunk.writer,
        chunk.end,
        chunk.result,
    )
    company, english, ids, customer_rows = (
        drawn.company,
        drawn.english,
        drawn.ids,
        drawn.customer_rows,
    )
    n_contacts = np.where(company, rng.integers(1, 5, size=size), 1)
    contact_owner = np.repeat(np.arange(size), n_contacts)
    first_contact_id = next_id(Contact)
    starts = group_starts(n_contacts)
    primary = np.zeros(len(contact_owner), dtype=bool)
    primary[starts] = True
    left = (~primary) & (rng.random(len(contact_owner)) < 0.12)
    left_days = epoch_dates(end - rng.integers(1, 400, size=len(contact_owner)) * DAY)
    contact_names = choice(rng, pools["zh_person"], len(contact_owner))
    # an English-named customer has English-named contacts (no extra draw: the demo stays
    # the same otherwise)
    en_pool = pools["en_person"]
    contact_names = np.where(
        english[contact_owner],
        np.asarray([en_pool[(j * 7919) % len(en_pool)] for j in range(len(contact_owner))]),
        contact_names,
    )
    contact_phones = np.char.add(
        choice(rng, pools["zh_phone_prefix"], len(contact_owner)).astype(str),
        np.char.zfill(rng.integers(0, 10**8, size=len(contact_owner)).astype(str), 8),
    )
    titles = choice(rng, V.TITLES_ZH, len(contact_owner))
    titles = np.where(
        english[contact_owner],
        np.asarray(
            [V.TITLES_EN[V.TITLES_ZH.index(t) % len(V.TITLES_EN)] for t in titles.tolist()],
            dtype=object,
        ),
        titles,
    )
    contact_birthdays = writer_dates(
        rng.integers(
            int(dt.date(1965, 1, 1).toordinal()),
            int(dt.date(2000, 12, 31).toordinal()),
            size=len(contact_owner),
        )
    )
    contact_rows: list[tuple[Any, ...]] = []
    for j, c in enumerate(contact_owner):
        cid = first_contact_id + j
        if company[c]:
            contact_rows.append(
                (
                    cid,
                    int(ids[c]),
                    contact_names[j],
                    titles[j],
                    str(contact_phones[j]),
                    f"contact{cid}@{pools['email_domain'][j % 3]}",
                    f"wx_{cid}",
                    contact_birthdays[j],
                    bool(primary[j]),
                    left_days[j] if left[j] else None,
                )
            )
        else:
            person_row = customer_rows[c]
            contact_rows.append(
                (
                    cid,
                    int(ids[c]),
                    person_row[3],
                    "",
                    person_row[17],
                    person_row[18],
                    f"wx_{cid}" if rng.random() < 0.5 else "",
                    person_row[13],
                    True,
                    None,
                )
            )
    result.contacts += writer.insert(
        Contact,
        [
            "id",
            "customer_id",
            "name",
            "title",
            "phone",
            "email",
            "wechat_id",
            "birthday",
            "is_primary",
            "left_on",
        ],
        contact_rows,
    )


def consents_write(chunk: Chunk, drawn: Customers) -> None:
    """Consent per channel, granted or withdrawn, recorded at signup."""
    rng, size, writer = (chunk.rng, chunk.size, chunk.writer)
    first_contact, ids = (drawn.first_contact, drawn.ids)
    consent_rows = []
    for channel, p_granted, p_withdrawn in (
        ("email", 0.6, 0.1),
        ("sms", 0.5, 0.1),
        ("phone", 0.7, 0.05),
        ("wechat", 0.4, 0.05),
    ):
        draw = rng.random(size)
        at = writer.ts(first_contact + (rng.random(size) * 5 * DAY).astype(np.int64))
        for i in np.flatnonzero(draw < p_granted + p_withdrawn).tolist():
            consent_rows.append(
                (
                    int(ids[i]),
                    channel,
                    "granted" if draw[i] < p_granted else "withdrawn",
                    at[i],
                    "demo signup form",
                )
            )
    writer.insert(
        Consent, ["customer_id", "channel", "status", "recorded_at", "source"], consent_rows
    )


def orders_write(chunk: Chunk, drawn: Customers) -> None:
    """Orders, one line each in the customer's favourite category mostly; some refunded with a return."""
    rng, size, ref, writer, end, result = (
        chunk.rng,
        chunk.size,
        chunk.ref,
        chunk.writer,
        chunk.end,
        chunk.result,
    )
    company, owner_of, order_times, amounts, order_counts, codes, ids = (
        drawn.company,
        drawn.owner_of,
        drawn.order_times,
        drawn.amounts,
        drawn.order_counts,
        drawn.codes,
        drawn.ids,
    )
    n_orders = len(owner_of)
    first_order_id = next_id(Order)
    order_ids = np.arange(first_order_id, first_order_id + n_orders)
    seq_in_customer = np.arange(n_orders) - np.repeat(group_starts(order_counts), order_counts)
    refunded = rng.random(n_orders) < 0.03
    order_channel = np.where(
        company[owner_of],
        np.where(rng.random(n_orders) < 0.6, "offline", "online"),
        np.where(rng.random(n_orders) < 0.7, "online", "offline"),
    )
    payment = np.where(
        company[owner_of],
        choice(rng, ["transfer", "card"], n_orders, p=[0.8, 0.2]),
        choice(rng, ["alipay", "wechat_pay", "card", "cash"], n_orders, p=[0.4, 0.4, 0.15, 0.05]),
    )
    order_ts = writer.ts(order_times)
    amount_text = np.char.mod("%.2f", amounts).tolist()
    code_arr = np.asarray(codes, dtype=object)
    order_numbers = [
        f"{code_arr[c]}-{s + 1:04d}" for c, s in zip(owner_of, seq_in_customer, strict=True)
    ]
    status = np.where(refunded, "refunded", "paid")
    result.orders += writer.insert(
        Order,
        [
            "id",
            "customer_id",
            "number",
            "ordered_at",
            "amount",
            "currency",
            "channel",
            "payment_method",
            "status",
        ],
        zip(
            order_ids.tolist(),
            ids[owner_of].tolist(),
            order_numbers,
            order_ts,
            amount_text,
            ["CNY"] * n_orders,
            order_channel.tolist(),
            payment.tolist(),
            status.tolist(),
            strict=True,
        ),
    )
    categories = ref["categories"]
    favourite = rng.integers(0, len(categories), size=size)
    line_cat = np.where(
        rng.random(n_orders) < 0.7,
        favourite[owner_of],
        rng.integers(0, len(categories), size=n_orders),
    )
    cat_ids = np.asarray([c.id for c in categories])[line_cat]
    cat_names = np.asarray([c.name for c in categories], dtype=object)[line_cat]
    quantities = rng.integers(1, 6, size=n_orders)
    writer.insert(
        OrderLine,
        ["order_id", "category_id", "product", "quantity", "amount"],
        zip(
            order_ids.tolist(),
            cat_ids.tolist(),
            cat_names.tolist(),
            quantities.tolist(),
            amount_text,
            strict=True,
        ),
    )
    refund_idx = np.flatnonzero(refunded)
    writer.insert(
        Return,
        ["order_id", "returned_on", "reason", "amount"],
        (
            (
                int(order_ids[k]),
                epoch_dates(np.array([min(order_times[k] + 5 * DAY, end - DAY)]))[0],
                "质量问题" if k % 2 else "不想要了",
                amount_text[k],
            )
            for k in refund_idx
        ),
    )


def followups_write(chunk: Chunk, drawn: Customers) -> None:
    """Follow-ups: companies often, shoppers rarely; most logged within hours."""
    rng, size, writer, end, result = (chunk.rng, chunk.size, chunk.writer, chunk.end, chunk.result)
    company, english, first_contact, ids, owner_ids = (
        drawn.company,
        drawn.english,
        drawn.first_contact,
        drawn.ids,
        drawn.owner_ids,
    )
    n_inter = rng.poisson(np.where(company, 6.0, 0.4))
    inter_owner = np.repeat(np.arange(size), n_inter)
    span = np.maximum(end - first_contact[inter_owner], DAY)
    occurred = first_contact[inter_owner] + (rng.random(len(inter_owner)) * span).astype(np.int64)
    delay = np.where(
        rng.random(len(inter_owner)) < 0.85,
        rng.exponential(3 * 3600, len(inter_owner)),
        rng.uniform(20 * 3600, 72 * 3600, len(inter_owner)),
    ).astype(np.int64)
    logged = np.minimum(occurred + delay, end - 60)
    kinds = choice(
        rng,
        ["call", "email", "visit", "meeting", "chat", "inquiry"],
        len(inter_owner),
        p=[0.35, 0.2, 0.15, 0.1, 0.1, 0.1],
    )
    content_draw = rng.random(len(inter_owner))
    next_on = epoch_dates(occurred + 7 * DAY)
    occ_text, log_text = writer.ts(occurred), writer.ts(logged)
    inter_rows = []
    for j, c in enumerate(inter_owner):
        texts = V.FOLLOWUP_CONTENT_EN if english[c] else V.FOLLOWUP_CONTENT
        content, feedback, next_step = texts[int(content_draw[j] * len(texts))]
        inter_rows.append(
            (
                int(ids[c]),
                None,
                kinds[j],
                occ_text[j],
                content,
                feedback,
                "",
                next_step,
                next_on[j],
                owner_ids[c],
                log_text[j],
            )
        )
    result.followups += writer.insert(
        FollowUp,
        [
            "customer_id",
            "contact_id",
            "kind",
            "occurred_at",
            "content",
            "feedback",
            "outcome",
            "next_step",
            "next_step_on",
            "owner_id",
            "logged_at",
        ],
        inter_rows,
    )


def complaints_write(chunk: Chunk, drawn: Customers) -> np.ndarray:
    """Complaints from about 6% of buyers, shortly after their last order; returns who complained."""
    rng, size, ref, writer, end, result = (
        chunk.rng,
        chunk.size,
        chunk.ref,
        chunk.writer,
        chunk.end,
        chunk.result,
    )
    order_counts, last_buy, ids = (drawn.order_counts, drawn.last_buy, drawn.ids)
    complainer = np.flatnonzero((order_counts > 0) & (rng.random(size) < 0.06))
    opened = last_buy[complainer] + (rng.random(len(complainer)) * 10 * DAY).astype(np.int64)
    opened = np.minimum(opened, end - 3600)
    severities = choice(
        rng, ["urgent", "high", "normal", "low"], len(complainer), p=[0.1, 0.2, 0.5, 0.2]
    )
    first_resp = opened + rng.exponential(2 * 3600, len(complainer)).astype(np.int64)
    resolved = first_resp + rng.exponential(2 * DAY, len(complainer)).astype(np.int64)
    open_now = resolved >= end
    cat_idx = rng.integers(0, len(V.COMPLAINT_CATEGORIES), size=len(complainer))
    service_user = ref["users"]["service"].id
    op_t, fr_t, rs_t = (
        writer.ts(opened),
        writer.ts(np.minimum(first_resp, end - 60)),
        writer.ts(np.minimum(resolved, end - 60)),
    )
    complaint_rows = []
    for j, c in enumerate(complainer):
        category, description = V.COMPLAINT_CATEGORIES[cat_idx[j]]
        is_open = bool(open_now[j])
        complaint_rows.append(
            (
                int(ids[c]),
                op_t[j],
                "phone" if j % 3 else "chat",
                category,
                severities[j],
                description,
                "in_progress" if is_open else "resolved",
                fr_t[j] if first_resp[j] < end else None,
                None if is_open else rs_t[j],
                "" if is_open else "已道歉并补发",
                service_user,
            )
        )
    result.complaints += writer.insert(
        Complaint,
        [
            "customer_id",
            "opened_at",
            "channel",
            "category",
            "severity",
            "description",
            "status",
            "first_response_at",
            "resolved_at",
            "resolution",
            "owner_id",
        ],
        complaint_rows,
    )
    return complainer


def surveys_write(chunk: Chunk, drawn: Customers, complainer: np.ndarray) -> None:
    """Surveys: recent buyers are asked; lapsed and complaining customers score lower."""
    rng, size, ref, writer, end, result = (
        chunk.rng,
        chunk.size,
        chunk.ref,
        chunk.writer,
        chunk.end,
        chunk.result,
    )
    order_counts, last_buy, ids = (drawn.order_counts, drawn.last_buy, drawn.ids)
    asked = np.flatnonzero((order_counts > 0) & (rng.random(size) < 0.25))
    sent = np.minimum(last_buy[asked] + 3 * DAY, end - DAY)
    answered = rng.random(len(asked)) < 0.7
    complained = np.zeros(size, dtype=bool)
    complained[complainer] = True
    mood = 8.5 - 3.0 * complained[asked] - 1.5 * ((end - last_buy[asked]) > 180 * DAY)
    nps = np.clip(np.round(rng.normal(mood, 1.8)), 0, 10).astype(int)
    satisfaction = np.clip(np.round(nps / 2.2 + 0.5), 1, 5).astype(int)
    survey_ids = [s.id for s in ref["surveys"]]
    sent_t, ans_t = writer.ts(sent), writer.ts(np.minimum(sent + 2 * DAY, end - 60))
    survey_rows = []
    for j, c in enumerate(asked):
        ok = bool(answered[j])
        comment = (
            (V.SURVEY_COMMENTS_GOOD if nps[j] >= 7 else V.SURVEY_COMMENTS_BAD)[j % 3] if ok else ""
        )
        survey_rows.append(
            (
                int(ids[c]),
                survey_ids[j % 2],
                sent_t[j],
                ans_t[j] if ok else None,
                int(nps[j]) if ok else None,
                int(satisfaction[j]) if ok else None,
                comment,
                "{}",  # answers: the raw writer does not apply the model's default
            )
        )
    result.survey_responses += writer.insert(
        SurveyResponse,
        [
            "customer_id",
            "survey_id",
            "sent_at",
            "answered_at",
            "nps",
            "satisfaction",
            "comment",
            "answers",
        ],
        survey_rows,
    )


def campaigns_and_tags_write(chunk: Chunk, drawn: Customers, complainer: np.ndarray) -> None:
    """Campaign participation, and tags: industry, needs, behaviour (promotion, no repeat, complained)."""
    rng, size, ref, writer, now_text = (
        chunk.rng,
        chunk.size,
        chunk.ref,
        chunk.writer,
        chunk.now_text,
    )
    company, order_counts, ids, industry_idx = (
        drawn.company,
        drawn.order_counts,
        drawn.ids,
        drawn.industry_idx,
    )
    campaigns = ref["campaigns"]
    joined = np.flatnonzero(rng.random(size) < 0.1)
    which = rng.integers(0, len(campaigns), size=len(joined))
    join_rows = []
    for j, c in enumerate(joined):
        camp = campaigns[which[j]]
        joined_at = dt.datetime.combine(camp.starts_on, dt.time(10), tzinfo=dt.UTC)
        join_rows.append(
            (camp.id, int(ids[c]), writer.ts(np.array([int(joined_at.timestamp())]))[0], j % 4 == 0)
        )
    writer.insert(
        CampaignParticipation, ["campaign_id", "customer_id", "joined_at", "converted"], join_rows
    )

    marketing = ref["users"]["marketing"].id
    tag_rows = []
    industry_tags = ref["industry_tags"]
    for i in np.flatnonzero(company).tolist():
        tag_rows.append(
            (int(ids[i]), industry_tags[industry_idx[i]].id, marketing, False, now_text)
        )
    need_tags = ref["need_tags"]
    need_pick = rng.integers(0, len(need_tags), size=size)
    for i in np.flatnonzero(rng.random(size) < 0.4).tolist():
        tag_rows.append((int(ids[i]), need_tags[need_pick[i]].id, marketing, False, now_text))
    promo, no_repeat, complained_tag = ref["behaviour_tags"]
    for c in np.unique(joined):
        tag_rows.append((int(ids[c]), promo.id, marketing, False, now_text))
    for c in np.flatnonzero(order_counts == 1):
        tag_rows.append((int(ids[c]), no_repeat.id, marketing, False, now_text))
    for c in complainer:
        tag_rows.append(
            (int(ids[c]), complained_tag.id, ref["users"]["service"].id, False, now_text)
        )
    writer.insert(
        CustomerTag, ["customer_id", "tag_id", "tagged_by_id", "automatic", "tagged_at"], tag_rows
    )
