"""The programme a new installation starts with (editable in the back office)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# 普通 / 银卡 / 金卡 / 钻石 by rolling 12-month spend (yuan), with their privileges.
DEFAULT_TIERS: list[dict[str, Any]] = [
    {
        "code": "regular",
        "name": "Regular",
        "name_zh": "普通",
        "rank": 0,
        "threshold": Decimal(0),
        "multiplier": Decimal("1.00"),
        "discount_percent": Decimal(0),
    },
    {
        "code": "silver",
        "name": "Silver",
        "name_zh": "银卡",
        "rank": 1,
        "threshold": Decimal(2000),
        "multiplier": Decimal("1.20"),
        "discount_percent": Decimal(2),
    },
    {
        "code": "gold",
        "name": "Gold",
        "name_zh": "金卡",
        "rank": 2,
        "threshold": Decimal(10000),
        "multiplier": Decimal("1.50"),
        "discount_percent": Decimal(5),
        "priority": True,
        "free_shipping": True,
    },
    {
        "code": "diamond",
        "name": "Diamond",
        "name_zh": "钻石",
        "rank": 3,
        "threshold": Decimal(50000),
        "multiplier": Decimal("2.00"),
        "discount_percent": Decimal(10),
        "priority": True,
        "free_shipping": True,
        "dedicated_manager": True,
    },
]
