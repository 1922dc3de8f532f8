"""The demo's random draws that are not tied to one table: name pools, the buy-till-you-die
purchase process, birthdays in age bands, and small helpers to turn epoch seconds and ordinals
into the writer's dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.utils import timezone
from faker import Faker

DAY = 86_400


def name_pools(seed: int) -> dict[str, list[str]]:
    """Name parts drawn once with Faker, then combined with NumPy: fast at any size."""
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(seed)
    en.seed_instance(seed)
    return {
        "zh_person": [zh.name() for _ in range(3000)],
        "en_person": [en.name() for _ in range(2000)],
        "zh_company_prefix": list(dict.fromkeys(zh.company_prefix() for _ in range(2000))),
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


def group_starts(counts: np.ndarray) -> np.ndarray:
    ends = np.cumsum(counts)
    return ends - counts


def purchases_simulate(
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
    starts = group_starts(lifetime_orders)
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


def choice(
    rng: np.random.Generator, items: Sequence[Any], size: int, p: Sequence[float] | None = None
) -> np.ndarray:
    return np.asarray(items, dtype=object)[rng.choice(len(items), size=size, p=p)]


def fullwidth(text: str) -> str:
    """Turn ASCII letters and digits into their full-width forms, as some typists do."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def short_name(name: str) -> str:
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


def row_code(row: Sequence[Any]) -> str:
    return str(row[1])


def epoch_dates(seconds: np.ndarray) -> list[str]:
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


def birthdays_in_bands(ordinals: np.ndarray, bands: np.ndarray, *, today: dt.date) -> np.ndarray:
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
