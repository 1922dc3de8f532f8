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
from retain.core.bulk import BulkWriter, analyze, next_id, reset_sequences
from retain.customers.models import Consent, Contact, Customer, CustomerSource
from retain.demo import _vocabulary as V
from retain.demo.chunk import Chunk, chunk_write
from retain.demo.draws import DAY, name_pools
from retain.demo.loyalty import DemoLoyalty
from retain.interactions.models import FollowUp
from retain.orders.models import Order, OrderLine, ProductCategory, Return
from retain.surveys.models import Survey, SurveyResponse
from retain.tags.models import CustomerTag, Tag, TagGroup, TagGroupKind

CHUNK = 20_000
#: Unhappy survey answers of the demo's last this many days get their call-back task (older
#: ones are taken to have been handled).
DEMO_FOLLOW_UP_DAYS = 7
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
    followups: int = 0
    complaints: int = 0
    survey_responses: int = 0
    service_tasks: int = 0  # call-backs of the last week's unhappy survey answers
    duplicates: int = 0
    plan_entries: dict[str, int] = field(default_factory=dict)
    loyalty: DemoLoyalty = field(default_factory=DemoLoyalty)
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
    pools = name_pools(spec.seed)
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
                chunk_write(
                    Chunk(
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
            FollowUp,
            Complaint,
            SurveyResponse,
            CampaignParticipation,
            CustomerTag,
        ]
    )
    # the raw writes above skip the survey rule: the last week's unhappy answers get their
    # call-back task by the same function every other door calls (older ones were handled)
    from retain.surveys.services import answers_follow_up_open_bulk

    with transaction.atomic():
        result.service_tasks = answers_follow_up_open_bulk(
            responses=SurveyResponse.objects.filter(
                answered_at__gte=end_dt - dt.timedelta(days=DEMO_FOLLOW_UP_DAYS),
                answered_at__lt=end_dt,
            ),
            now=end_dt - dt.timedelta(hours=15),  # 09:00 on the last day
        )

    from retain.demo.plans import demo_plans_simulate

    with transaction.atomic():
        result.plan_entries, planted = demo_plans_simulate(seed=spec.seed, end=end_dt)
    result.orders += planted
    from retain.demo.loyalty import REPLAY_MAX_CUSTOMERS, demo_loyalty_simulate

    # after the plans: their planted orders earn points too. The replay goes through the
    # per-customer services (about 5 s per 1,000 customers): big benchmark companies skip it
    if spec.customers <= REPLAY_MAX_CUSTOMERS:
        with transaction.atomic():
            result.loyalty = demo_loyalty_simulate(seed=spec.seed, end=end_dt)
    analyze()  # the planner's statistics of every table just filled (PostgreSQL)
    result.seconds = time.perf_counter() - started
    return result


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
