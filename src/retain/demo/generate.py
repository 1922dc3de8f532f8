"""Make a believable demo company: customers, contacts, orders, follow-ups and feedback.

Purchases follow a buy-till-you-die process (the BG/NBD story): each customer buys at
their own Poisson rate (gamma-distributed across customers) and, after each purchase,
stops for good with their own probability (beta-distributed). Spend per order is
gamma-distributed around each customer's own mean (the Gamma-Gamma story). So the
analytics find real structure: heavy and light buyers, active and lapsed ones.

Everything is drawn with NumPy from ``seed`` and written with bulk inserts (COPY on
PostgreSQL, ``executemany`` on SQLite) in chunks, one transaction per chunk.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from faker import Faker

from retain.accounts.models import Role, Team, User
from retain.accounts.services import user_create
from retain.campaigns.models import Campaign, CampaignParticipation
from retain.complaints.models import Complaint
from retain.core.bulk import BulkWriter, next_id, reset_sequences
from retain.customers.models import Consent, Contact, Customer, CustomerSource
from retain.customers.services import customer_code_next
from retain.demo import _vocabulary as V
from retain.feedback.models import Survey, SurveyResponse
from retain.interactions.models import Interaction
from retain.orders.models import Order, OrderLine, ProductCategory, Return
from retain.tags.models import CustomerTag, Tag, TagGroup, TagGroupKind

CHUNK = 20_000
DAY = 86_400
#: Usernames of the demo staff, by role.
DEMO_STAFF: dict[str, list[str]] = {
    Role.ADMIN: ["admin"],
    Role.MANAGER: ["manager"],
    Role.SALES: ["sales1", "sales2", "sales3", "sales4", "sales5", "sales6"],
    Role.MARKETING: ["marketing"],
    Role.SERVICE: ["service"],
    Role.ANALYST: ["analyst"],
}


@dataclass(frozen=True)
class DemoSpec:
    """What demo company to make. The same spec and seed make the same company."""

    customers: int = 2000
    seed: int = 42
    as_of: dt.date | None = None  # last day of history; today when None
    years: float = 3.0  # how far back first contacts go
    company_share: float = 0.3  # B2B accounts; the rest are shoppers
    english_share: float = 0.15  # customers with English names
    prospect_share: float = 0.08  # never bought
    duplicate_share: float = 0.01  # planted near-duplicate records for data cleaning


@dataclass
class DemoResult:
    customers: int = 0
    contacts: int = 0
    orders: int = 0
    interactions: int = 0
    complaints: int = 0
    survey_responses: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    usernames: list[str] = field(default_factory=list)
    password: str = ""


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    others: list[str]


# --------------------------------------------------------------------------- writing


# The bulk writer lives in retain.core.bulk (imports use it too).
_Writer = BulkWriter
_next_id = next_id
_reset_sequences = reset_sequences


# --------------------------------------------------------------------------- reference data


def _reference_data(*, password: str, now: dt.datetime) -> dict[str, Any]:
    """Users, teams, sources, categories, tags, surveys and campaigns (idempotent)."""
    users: dict[str, User] = {}
    names = Faker("zh_CN")
    names.seed_instance(7)
    for role, usernames in DEMO_STAFF.items():
        for username in usernames:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(
                    username=username,
                    password=password,
                    role=role,
                    email=f"{username}@demo.retain.local",
                    first_name=names.first_name(),
                    last_name=names.last_name(),
                )
            users[username] = user
    teams = []
    for team_name, members in (
        ("华东销售组", ["sales1", "sales2", "sales3"]),
        ("华南销售组", ["sales4", "sales5", "sales6"]),
    ):
        team, _ = Team.objects.get_or_create(name=team_name, defaults={"lead": users[members[0]]})
        User.objects.filter(username__in=members).update(team=team)
        teams.append(team)
    sources = {}
    for code, name, name_zh in V.SOURCES:
        sources[code], _ = CustomerSource.objects.get_or_create(
            code=code, defaults={"name": name, "name_zh": name_zh}
        )
    categories = [ProductCategory.objects.get_or_create(name=n)[0] for n in V.CATEGORIES]
    industry_group, _ = TagGroup.objects.get_or_create(
        name="行业", defaults={"kind": TagGroupKind.INDUSTRY}
    )
    need_group, _ = TagGroup.objects.get_or_create(
        name="需求", defaults={"kind": TagGroupKind.NEED}
    )
    behaviour_group, _ = TagGroup.objects.get_or_create(
        name="行为", defaults={"kind": TagGroupKind.BEHAVIOUR}
    )
    TagGroup.objects.get_or_create(name="自定义", defaults={"kind": TagGroupKind.CUSTOM})
    industry_tags = [
        Tag.objects.get_or_create(group=industry_group, name=n)[0] for n in V.INDUSTRIES_ZH
    ]
    need_tags = [
        Tag.objects.get_or_create(group=need_group, name=zh, defaults={"description": en})[0]
        for zh, en in V.NEED_TAGS
    ]
    behaviour_tags = [
        Tag.objects.get_or_create(group=behaviour_group, name=zh, defaults={"description": en})[0]
        for zh, en in V.BEHAVIOUR_TAGS
    ]
    surveys = [
        Survey.objects.get_or_create(name="NPS 年度调研", defaults={"description": "净推荐值"})[0],
        Survey.objects.get_or_create(name="服务满意度回访", defaults={"description": "满意度 1-5"})[
            0
        ],
    ]
    campaigns = []
    for i, (name, kind) in enumerate(V.CAMPAIGNS):
        starts = (now - dt.timedelta(days=60 + 120 * i)).date()
        campaigns.append(
            Campaign.objects.get_or_create(
                name=name,
                defaults={
                    "kind": kind,
                    "starts_on": starts,
                    "ends_on": starts + dt.timedelta(days=30),
                },
            )[0]
        )
    return {
        "users": users,
        "sales": [users[u] for u in DEMO_STAFF[Role.SALES]],
        "sources": list(sources.values()),
        "categories": categories,
        "industry_tags": industry_tags,
        "need_tags": need_tags,
        "behaviour_tags": behaviour_tags,
        "surveys": surveys,
        "campaigns": campaigns,
    }


# --------------------------------------------------------------------------- the simulation


def _pools(seed: int) -> dict[str, list[str]]:
    """Name parts drawn once with Faker, then combined with NumPy: fast at any size."""
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(seed)
    en.seed_instance(seed)
    return {
        "zh_person": [zh.name() for _ in range(3000)],
        "en_person": [en.name() for _ in range(2000)],
        "zh_company_prefix": list({zh.company_prefix() for _ in range(2000)}),
        "zh_company_suffix": [
            "科技有限公司",
            "制造集团",
            "贸易有限公司",
            "信息技术有限公司",
            "实业有限公司",
            "网络有限公司",
        ],
        "en_company": [en.company() for _ in range(2000)],
        "zh_phone_prefix": ["138", "139", "136", "158", "186", "135", "177", "150"],
        "email_domain": ["example.com", "example.cn", "mail.example.org"],
    }


def _group_starts(counts: np.ndarray) -> np.ndarray:
    ends = np.cumsum(counts)
    return ends - counts


def _simulate_purchases(
    rng: np.random.Generator,
    *,
    first_buy: np.ndarray,
    company: np.ndarray,
    buyer: np.ndarray,
    end: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw order times (epoch seconds) and amounts for each customer.

    Returns (customer index per order, time per order, amount per order), orders
    grouped by customer in time order.
    """
    n = len(first_buy)
    # Purchase rate per day: gamma across customers (companies buy more often).
    rate = rng.gamma(shape=np.where(company, 1.3, 0.7), scale=1 / np.where(company, 45.0, 60.0))
    # Drop-out probability after each purchase: beta across customers.
    dropout = rng.beta(1.2, 4.0, size=n)
    lifetime_orders = np.minimum(rng.geometric(dropout), 150)
    lifetime_orders = np.where(buyer, lifetime_orders, 0)
    owner_of = np.repeat(np.arange(n), lifetime_orders)
    gaps = rng.exponential(1.0, size=len(owner_of)) / rate[owner_of] * DAY
    starts = _group_starts(lifetime_orders)
    has = lifetime_orders > 0
    gaps[starts[has]] = 0.0
    elapsed = np.cumsum(gaps)
    # Time since the customer's first purchase: subtract the running total at each group start.
    elapsed -= np.repeat(elapsed[starts[has]], lifetime_orders[has])
    times = first_buy[owner_of] + elapsed.astype(np.int64)
    keep = times < end
    owner_of, times = owner_of[keep], times[keep]
    # Spend: each customer has a mean order value (gamma), each order scatters around it.
    mean_value = rng.gamma(3.0, np.where(company, 6000.0, 110.0) / 3.0, size=n)
    amounts = rng.gamma(6.0, mean_value[owner_of] / 6.0)
    amounts = np.round(np.maximum(amounts, 1.0), 2).astype(np.float64)
    return owner_of, times, amounts


def _choice(
    rng: np.random.Generator, items: Sequence[Any], size: int, p: Sequence[float] | None = None
) -> np.ndarray:
    return np.asarray(items, dtype=object)[rng.choice(len(items), size=size, p=p)]


def _fullwidth(text: str) -> str:
    """Turn ASCII letters and digits into their full-width forms, as some typists do."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _short_name(name: str) -> str:
    for suffix in (
        "科技有限公司",
        "信息技术有限公司",
        "贸易有限公司",
        "实业有限公司",
        "网络有限公司",
        "有限公司",
        "集团",
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)] + ("科技" if "科技" in suffix else "")
    return name


def demo_company_create(
    *, spec: DemoSpec, password: str | None = None, progress: bool = False
) -> DemoResult:
    """Add a demo company of ``spec.customers`` customers to the database."""
    started = time.perf_counter()
    tz = timezone.get_current_timezone()
    as_of = spec.as_of or timezone.localdate()
    end_dt = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    end = int(end_dt.timestamp())
    begin = end - int(spec.years * 365 * DAY)
    password = password or secrets.token_urlsafe(9)
    result = DemoResult(password=password)
    with transaction.atomic():
        ref = _reference_data(password=password, now=end_dt)
    result.usernames = [u for names in DEMO_STAFF.values() for u in names]
    pools = _pools(spec.seed)
    writer = _Writer()
    codes_year = as_of.year

    progress_bar = None
    if progress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        progress_bar = Progress(
            TextColumn("[bold]demo company"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        progress_bar.start()
        task = progress_bar.add_task("customers", total=spec.customers)
    try:
        for chunk_no, chunk_start in enumerate(range(0, spec.customers, CHUNK)):
            size = min(CHUNK, spec.customers - chunk_start)
            rng = np.random.default_rng([spec.seed, chunk_no])
            with transaction.atomic():
                _chunk_write(
                    rng=rng,
                    size=size,
                    spec=spec,
                    ref=ref,
                    pools=pools,
                    writer=writer,
                    begin=begin,
                    end=end,
                    codes_year=codes_year,
                    result=result,
                )
            if progress_bar is not None:
                progress_bar.update(task, advance=size)
    finally:
        if progress_bar is not None:
            progress_bar.stop()
    _reset_sequences(
        [
            Customer,
            Contact,
            Consent,
            Order,
            OrderLine,
            Return,
            Interaction,
            Complaint,
            SurveyResponse,
            CampaignParticipation,
            CustomerTag,
        ]
    )
    result.seconds = time.perf_counter() - started
    return result


def _chunk_write(
    *,
    rng: np.random.Generator,
    size: int,
    spec: DemoSpec,
    ref: dict[str, Any],
    pools: dict[str, list[str]],
    writer: _Writer,
    begin: int,
    end: int,
    codes_year: int,
    result: DemoResult,
) -> None:
    now_text = writer.ts(np.array([end - DAY // 2]))[0]
    # ---- customers
    company = rng.random(size) < spec.company_share
    english = rng.random(size) < spec.english_share
    buyer = rng.random(size) >= spec.prospect_share
    first_contact = rng.integers(begin, end - 7 * DAY, size=size)
    first_buy = first_contact + (rng.exponential(20.0, size=size) * DAY).astype(np.int64)
    buyer &= first_buy < end
    owner_of, order_times, amounts = _simulate_purchases(
        rng, first_buy=first_buy, company=company, buyer=buyer, end=end
    )
    order_counts = np.bincount(owner_of, minlength=size)
    last_buy = np.full(size, -1, dtype=np.int64)
    np.maximum.at(last_buy, owner_of, order_times)
    spend = np.bincount(owner_of, weights=amounts, minlength=size)

    codes = customer_code_next(year=codes_year, count=size)
    first_id = _next_id(Customer)
    ids = np.arange(first_id, first_id + size)
    zh_names = _choice(rng, pools["zh_person"], size)
    en_names = _choice(rng, pools["en_person"], size)
    company_names = np.char.add(
        _choice(rng, pools["zh_company_prefix"], size).astype(str),
        _choice(rng, pools["zh_company_suffix"], size).astype(str),
    ).astype(object)
    en_company = _choice(rng, pools["en_company"], size)
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
    needs = np.where(company, _choice(rng, V.NEEDS_ZH, size), "")
    phones = np.char.add(
        _choice(rng, pools["zh_phone_prefix"], size).astype(str),
        np.char.zfill(rng.integers(0, 10**8, size=size).astype(str), 8),
    )
    person = ~company
    genders = _choice(rng, ["female", "male"], size)
    age_bands = _choice(
        rng, ["<25", "25-34", "35-44", "45-54", "55+"], size, p=[0.15, 0.35, 0.25, 0.15, 0.1]
    )
    birthdays = writer_dates(
        _birthdays_in_bands(
            rng.integers(
                int(dt.date(1960, 1, 1).toordinal()),
                int(dt.date(2004, 12, 31).toordinal()),
                size=size,
            ),
            age_bands,
            today=dt.date.fromtimestamp(end),
        )
    )
    occupations = _choice(rng, V.OCCUPATIONS_ZH, size)
    first_contact_dates = _epoch_dates(first_contact)
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
    # Planted near-duplicates: a second record of an existing customer, spelled differently.
    n_dup = round(size * spec.duplicate_share)
    dup_sources = rng.choice(size, size=n_dup, replace=False) if n_dup else np.array([], dtype=int)
    dup_codes = customer_code_next(year=codes_year, count=n_dup) if n_dup else []
    for k, src in enumerate(dup_sources):
        row = list(customer_rows[src])
        name = row[3]
        if row[2] == "company":
            variant = k % 3
            if variant == 0:
                name = _short_name(name)
            elif variant == 1:
                name = f"({row[12]}){name}"
            else:
                name = (
                    _fullwidth(name)
                    if name.isascii()
                    else unicodedata.normalize("NFKC", name) + " "
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

    # ---- contacts: 1-4 per company (some have left), one per person (themselves)
    n_contacts = np.where(company, rng.integers(1, 5, size=size), 1)
    contact_owner = np.repeat(np.arange(size), n_contacts)
    first_contact_id = _next_id(Contact)
    starts = _group_starts(n_contacts)
    primary = np.zeros(len(contact_owner), dtype=bool)
    primary[starts] = True
    left = (~primary) & (rng.random(len(contact_owner)) < 0.12)
    left_days = _epoch_dates(end - rng.integers(1, 400, size=len(contact_owner)) * DAY)
    contact_names = _choice(rng, pools["zh_person"], len(contact_owner))
    # an English-named customer has English-named contacts (no extra draw: the demo stays
    # the same otherwise)
    en_pool = pools["en_person"]
    contact_names = np.where(
        english[contact_owner],
        np.asarray([en_pool[(j * 7919) % len(en_pool)] for j in range(len(contact_owner))]),
        contact_names,
    )
    contact_phones = np.char.add(
        _choice(rng, pools["zh_phone_prefix"], len(contact_owner)).astype(str),
        np.char.zfill(rng.integers(0, 10**8, size=len(contact_owner)).astype(str), 8),
    )
    titles = _choice(rng, V.TITLES_ZH, len(contact_owner))
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

    # ---- consent per channel
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

    # ---- orders, one line each, some refunded with a return
    n_orders = len(owner_of)
    first_order_id = _next_id(Order)
    order_ids = np.arange(first_order_id, first_order_id + n_orders)
    seq_in_customer = np.arange(n_orders) - np.repeat(_group_starts(order_counts), order_counts)
    refunded = rng.random(n_orders) < 0.03
    order_channel = np.where(
        company[owner_of],
        np.where(rng.random(n_orders) < 0.6, "offline", "online"),
        np.where(rng.random(n_orders) < 0.7, "online", "offline"),
    )
    payment = np.where(
        company[owner_of],
        _choice(rng, ["transfer", "card"], n_orders, p=[0.8, 0.2]),
        _choice(rng, ["alipay", "wechat_pay", "card", "cash"], n_orders, p=[0.4, 0.4, 0.15, 0.05]),
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
                _epoch_dates(np.array([min(order_times[k] + 5 * DAY, end - DAY)]))[0],
                "质量问题" if k % 2 else "不想要了",
                amount_text[k],
            )
            for k in refund_idx
        ),
    )

    # ---- follow-ups: companies often, shoppers rarely
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
    kinds = _choice(
        rng,
        ["call", "email", "visit", "meeting", "chat", "inquiry"],
        len(inter_owner),
        p=[0.35, 0.2, 0.15, 0.1, 0.1, 0.1],
    )
    content_draw = rng.random(len(inter_owner))
    next_on = _epoch_dates(occurred + 7 * DAY)
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
    result.interactions += writer.insert(
        Interaction,
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

    # ---- complaints
    complainer = np.flatnonzero((order_counts > 0) & (rng.random(size) < 0.06))
    opened = last_buy[complainer] + (rng.random(len(complainer)) * 10 * DAY).astype(np.int64)
    opened = np.minimum(opened, end - 3600)
    severities = _choice(
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

    # ---- surveys: recent buyers are asked; lapsed and complaining customers score lower
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
            )
        )
    result.survey_responses += writer.insert(
        SurveyResponse,
        ["customer_id", "survey_id", "sent_at", "answered_at", "nps", "satisfaction", "comment"],
        survey_rows,
    )

    # ---- campaigns and tags
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


def row_code(row: Sequence[Any]) -> str:
    return str(row[1])


def _epoch_dates(seconds: np.ndarray) -> list[str]:
    """Epoch seconds to local ISO dates (YYYY-MM-DD)."""
    offset = timezone.get_current_timezone().utcoffset(dt.datetime(2024, 1, 1))
    shift = int(offset.total_seconds()) if offset else 0
    return np.datetime_as_string((seconds + shift).astype("datetime64[s]"), unit="D").tolist()


#: Age bands -> (youngest, oldest) age in years.
AGE_BAND_YEARS = {
    "<25": (18, 24),
    "25-34": (25, 34),
    "35-44": (35, 44),
    "45-54": (45, 54),
    "55+": (55, 75),
}


def _birthdays_in_bands(ordinals: np.ndarray, bands: np.ndarray, *, today: dt.date) -> np.ndarray:
    """Move drawn birthdays (proleptic ordinals) into the customer's age band: the draw's
    place between its bounds becomes a place between the band's oldest and youngest birth
    dates, so a "25-34" customer is 25 to 34 years old on ``today``."""
    lo_all = dt.date(1960, 1, 1).toordinal()
    hi_all = dt.date(2004, 12, 31).toordinal()
    share = (ordinals - lo_all) / max(hi_all - lo_all, 1)
    if today.month == 2 and today.day == 29:
        today = today.replace(day=28)
    out = np.empty(len(ordinals), dtype=np.int64)
    for band, (young, old) in AGE_BAND_YEARS.items():
        pick = bands == band
        latest = today.replace(year=today.year - young).toordinal() - 1  # turned ``young``
        earliest = today.replace(year=today.year - old - 1).toordinal() + 1  # not yet old+1
        out[pick] = earliest + (share[pick] * (latest - earliest)).astype(np.int64)
    return out


def writer_dates(ordinals: np.ndarray) -> list[str]:
    """Proleptic Gregorian ordinals to ISO dates."""
    epoch = dt.date(1970, 1, 1).toordinal()
    return np.datetime_as_string((ordinals - epoch).astype("datetime64[D]"), unit="D").tolist()


# --------------------------------------------------------------------------- make demo


def demo_login_ensure(*, customers: int = 2000, progress: bool = False) -> DemoLogin:
    """Load the demo company once into an empty database and return the admin login.

    The login is kept in RETAIN_HOME/demo-login.txt (mode 600) so a second `retain demo`
    prints it again instead of making another company.
    """
    path = settings.RETAIN_HOME / "demo-login.txt"
    others = [u for names in DEMO_STAFF.values() for u in names if u != "admin"]
    if path.exists() and Customer.objects.exists():
        username, password = path.read_text().split()[:2]
        return DemoLogin(username=username, password=password, others=others)
    password = secrets.token_urlsafe(9)
    if not Customer.objects.exists():
        demo_company_create(
            spec=DemoSpec(customers=customers), password=password, progress=progress
        )
    admin = User.objects.get(username="admin")
    admin.set_password(password)
    admin.save(update_fields=["password"])
    for user in User.objects.filter(username__in=others):
        user.set_password(password)
        user.save(update_fields=["password"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"admin {password}\n")
    path.chmod(0o600)
    return DemoLogin(username="admin", password=password, others=others)
