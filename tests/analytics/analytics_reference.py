"""A straightforward pandas implementation of the definitions in docs/analytics.md.

Written independently of the Ibis code (row by row where that is clearer), it is the one
reference result every engine is compared with.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

from retain.analytics import AnalyticsSettings

AS_OF = dt.date(2024, 3, 31)
Loader = Callable[[str, pd.DataFrame], ir.Table]

GRID = {
    5: ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
    4: ["Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Loyal"],
    3: ["About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"],
    2: ["Hibernating", "Hibernating", "At risk", "At risk", "Cannot lose"],
    1: ["Lost", "Hibernating", "At risk", "At risk", "Cannot lose"],
}


def _days(ts: pd.Series) -> pd.Series:
    return (ts.astype("datetime64[us]") - pd.Timestamp("1970-01-01")).dt.days


def _score(values: pd.Series, bins: int, descending: bool) -> pd.Series:
    rank = values.rank(method="min", ascending=not descending) - 1
    return (np.floor(rank * bins / len(values)) + 1).astype(int)


def _preferred(buys: pd.DataFrame, column: str) -> str | None:
    """The value with the most purchases; then the latest purchase; then the smallest text."""
    rows = buys[buys[column].notna()]
    if rows.empty:
        return None
    candidates = []
    for value, mine in rows.groupby(column):
        candidates.append((-len(mine), -mine["ordered_at"].max().value, str(value)))
    return min(candidates)[2]


def reference_preferences(orders: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """customer_id, preferred_channel, preferred_category of every customer with orders.

    ``orders`` has the columns of the test data set (ordered_at, total, status, channel,
    category); refunds are negative totals or status "refunded", "cancelled" rows do not count.
    """
    o = orders[orders["ordered_at"].dt.date <= as_of]
    status = o["status"].str.lower()
    o = o[status != "cancelled"]
    buys = o[(o["total"] >= 0) & (o["status"].str.lower() != "refunded")]
    rows = []
    for cid in sorted(set(o["customer_id"])):
        mine = buys[buys["customer_id"] == cid]
        rows.append(
            {
                "customer_id": cid,
                "preferred_channel": _preferred(mine, "channel"),
                "preferred_category": _preferred(mine, "category"),
            }
        )
    return pd.DataFrame(rows)


def reference_mix(orders: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """customer_id, channel_count, channel_share, category_count, category_share.

    Count: distinct non-null values among the purchase orders; share: orders with the
    preferred value / orders with any value (null when none has a value).
    """
    o = orders[orders["ordered_at"].dt.date <= as_of]
    o = o[o["status"].str.lower() != "cancelled"]
    buys = o[(o["total"] >= 0) & (o["status"].str.lower() != "refunded")]
    rows = []
    for cid in sorted(set(o["customer_id"])):
        mine = buys[buys["customer_id"] == cid]
        row: dict[str, object] = {"customer_id": cid}
        for name in ("channel", "category"):
            values = mine[name].dropna()
            best = _preferred(mine, name)
            row[f"{name}_count"] = values.nunique()
            row[f"{name}_share"] = (values == best).sum() / len(values) if len(values) else None
        rows.append(row)
    return pd.DataFrame(rows)


def reference_summary(
    tables: dict[str, pd.DataFrame], as_of: dt.date, cfg: AnalyticsSettings
) -> pd.DataFrame:
    asof = (as_of - dt.date(1970, 1, 1)).days
    o = tables["orders"].copy()
    o["day"] = _days(o["ordered_at"])
    o = o[(o["day"] <= asof) & (o["status"].str.lower() != "cancelled")]
    o["refund"] = (o["total"] < 0) | (o["status"].str.lower() == "refunded")
    o["purchase"] = ~o["refund"]
    rows = []
    for cid in sorted(set(tables["customers"]["id"]) | set(o["customer_id"])):
        mine = o[o["customer_id"] == cid]
        buys = mine[mine["purchase"]]
        refunds = mine[mine["refund"]]
        refund_amount = float(refunds["total"].abs().sum())
        gross = float(buys["total"].sum())
        row: dict[str, object] = {
            "customer_id": cid,
            "order_count": len(buys),
            "purchase_days": buys["day"].nunique(),
            "gross_spend": gross,
            "refund_amount": refund_amount,
            "refund_count": len(refunds),
            "total_spend": gross - refund_amount,
        }

        def net(lo: int, hi: int, mine: pd.DataFrame = mine) -> float:
            part = mine[(mine["day"] > lo) & (mine["day"] <= hi)]
            return float(
                part.loc[part["purchase"], "total"].sum()
                - part.loc[part["refund"], "total"].abs().sum()
            )

        w = cfg.recent_window_days
        row["recent_spend"] = net(asof - w, asof)
        row["previous_spend"] = net(asof - 2 * w, asof - w)
        row["value_spend"] = net(asof - cfg.value_window_days, asof)
        row["recent_orders"] = int((buys["day"] > asof - w).sum())
        row["previous_orders"] = int(
            ((buys["day"] > asof - 2 * w) & (buys["day"] <= asof - w)).sum()
        )
        row["activity_orders"] = int((buys["day"] > asof - cfg.activity_window_days).sum())
        if len(buys):
            first, last = int(buys["day"].min()), int(buys["day"].max())
            freq = buys["day"].nunique() - 1
            daily = buys.groupby("day")["total"].sum()
            row.update(
                first_purchase=buys["ordered_at"].min(),
                last_purchase=buys["ordered_at"].max(),
                frequency=freq,
                recency_days=asof - last,
                t_x_days=last - first,
                T_days=asof - first,
                avg_interpurchase_days=(last - first) / freq if freq else math.nan,
                monetary_value=float(daily.drop(first).mean()) if freq else 0.0,
                avg_order_value=row["total_spend"] / len(buys),  # type: ignore[operator]
            )
        else:
            row.update(
                first_purchase=pd.NaT,
                last_purchase=pd.NaT,
                frequency=0,
                recency_days=math.nan,
                t_x_days=math.nan,
                T_days=math.nan,
                avg_interpurchase_days=math.nan,
                monetary_value=0.0,
                avg_order_value=math.nan,
            )
        rows.append(row)
    s = pd.DataFrame(rows)

    c = tables["customers"]
    s["first_contact"] = s["customer_id"].map(dict(zip(c["id"], c["first_contact"], strict=True)))
    it = tables["interactions"]
    iday = _days(it["happened_at"])
    it = it[(iday <= asof) & (iday > asof - cfg.interaction_window_days)]
    s["recent_interactions"] = s["customer_id"].map(it["customer_id"].value_counts()).fillna(0)
    co = tables["complaints"]
    cday = _days(co["opened_at"])
    co = co[cday <= asof]
    s["open_complaints"] = (
        s["customer_id"].map(co.loc[~co["resolved"], "customer_id"].value_counts()).fillna(0)
    )
    open_days = _days(co["opened_at"])[~co["resolved"]]
    oldest = open_days.groupby(co.loc[~co["resolved"], "customer_id"]).min()
    s["open_complaint_days"] = asof - s["customer_id"].map(oldest)
    cday = _days(co["opened_at"])
    recent = co[cday > asof - cfg.kpi_window_days]
    s["recent_complaints"] = s["customer_id"].map(recent["customer_id"].value_counts()).fillna(0)
    sv = tables["surveys"]
    sv = sv[_days(sv["answered_at"]) <= asof].sort_values(["answered_at", "nps"])
    latest = sv.groupby("customer_id").apply(
        lambda g: g.sort_values(["answered_at", "nps"], ascending=[False, True])["nps"].iloc[0]
    )
    s["last_nps"] = s["customer_id"].map(latest)

    kinds = c.set_index("id")["kind"]
    s["is_business"] = s["customer_id"].map(
        kinds.map(lambda v: None if v is None or pd.isna(v) else int(str(v).lower() == "company"))
    )
    # follow-ups as they stood on as_of: created by then; open unless closed by then; an
    # outcome only once closed by then
    fu = tables["followups"]
    fu = fu[_days(fu["created_at"]) < asof]
    closed_day = _days(fu["closed_at"].fillna(pd.Timestamp("2262-01-01")))
    still_open = fu["closed_at"].isna() | (closed_day >= asof)
    overdue = still_open & (_days(fu["due_on"]) < asof)
    outcome = fu["outcome"].fillna("").str.lower()
    for name, mask in (
        ("open_followups", still_open),
        ("overdue_followups", overdue),
        ("followups_won", ~still_open & (outcome == "won_back")),
        ("followups_lost", ~still_open & (outcome == "lost")),
    ):
        s[name] = s["customer_id"].map(fu.loc[mask, "customer_id"].value_counts()).fillna(0)

    buyers = s["T_days"].notna()
    b = s[buyers].copy()
    bins = cfg.rfm_bins
    b["r_score"] = _score(b["recency_days"], bins, descending=True)
    b["f_score"] = _score(b["order_count"], bins, descending=False)
    b["m_score"] = _score(b["total_spend"], bins, descending=False)
    fm = np.floor((b["f_score"] + b["m_score"] + 1) / 2).astype(int)
    b["rfm_segment"] = [GRID[r][f - 1] for r, f in zip(b["r_score"], fm, strict=True)]
    value = b["value_spend"].round(6)  # ranks and thresholds compare the spend to 6 decimals
    share = (value.rank(method="min", ascending=False) - 1) / len(b)
    high = (value > 0) & (share < cfg.high_value_share)
    medium = (value > 0) & (share < cfg.high_value_share + cfg.medium_value_share)
    active = (b["activity_orders"] >= cfg.active_min_orders) | (
        b["recency_days"] <= cfg.active_max_recency_days
    )
    b["value_tier"] = np.where(high, "high", np.where(medium, "medium", "low"))
    b["activity_level"] = np.where(active, "high", "low")
    b["quadrant"] = np.where(
        high, np.where(active, "core", "potential"), np.where(active, "basic", "watch")
    )
    b["lifecycle_stage"] = np.select(
        [
            b["recency_days"] > cfg.churned_after_days,
            b["recency_days"] > cfg.silent_after_days,
            (b["frequency"] == 0) | (b["T_days"] <= cfg.new_window_days),
        ],
        ["churned", "silent", "new"],
        default="returning",
    )
    labels = [
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
        "value_tier",
        "activity_level",
        "quadrant",
        "lifecycle_stage",
    ]
    s = s.merge(b[["customer_id", *labels]], on="customer_id", how="left")
    s["lifecycle_stage"] = s["lifecycle_stage"].fillna("prospect")
    if "channel" in tables["orders"].columns:
        preferred = reference_preferences(tables["orders"], as_of)
        s = s.merge(preferred, on="customer_id", how="left")
        s = s.merge(reference_mix(tables["orders"], as_of), on="customer_id", how="left")
        for name in ("channel_count", "category_count"):
            s[name] = s[name].fillna(0)
    return s.sort_values("customer_id").reset_index(drop=True)


def reference_cohorts(orders: pd.DataFrame, as_of: dt.date, cumulative: bool) -> pd.DataFrame:
    o = orders[(orders["ordered_at"].dt.date <= as_of)]
    o = o[(o["total"] >= 0) & ~o["status"].str.lower().isin(["refunded", "cancelled"])]
    month = o["ordered_at"].dt.year * 12 + o["ordered_at"].dt.month - 1
    active = pd.DataFrame({"c": o["customer_id"], "m": month}).drop_duplicates()
    cohort = active.groupby("c")["m"].min()
    last_month = as_of.year * 12 + as_of.month - 1
    out = {}
    for first in range(int(cohort.min()), last_month + 1):
        members = cohort[cohort == first].index
        if len(members) == 0:
            continue
        mine = active[active["c"].isin(members)]
        row = {"cohort_size": len(members)}
        for n in range(0, last_month - int(cohort.min()) + 1):
            if first + n > last_month:
                row[n] = math.nan
            elif cumulative:
                row[n] = mine.loc[mine["m"] >= first + n, "c"].nunique() / len(members)
            else:
                row[n] = mine.loc[mine["m"] == first + n, "c"].nunique() / len(members)
        out[f"{first // 12:04d}-{first % 12 + 1:02d}"] = row
    frame = pd.DataFrame.from_dict(out, orient="index")
    frame.index.name = "cohort"
    return frame


# -- CDNOW ---------------------------------------------------------------------------------------
CACHE = Path(os.environ.get("RETAIN_TEST_DATA", Path.home() / ".cache" / "retain-test-data"))


def cdnow_file(name: str) -> Path:
    """Extract ``lifetimes/datasets/<name>`` from the lifetimes 0.11.3 wheel (fetched by pip)."""
    target = CACHE / name
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = [w for w in CACHE.glob("*.whl") if w.name.lower().startswith("lifetimes-0.11.3-")]
    if not wheels:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "lifetimes==0.11.3", "-d", str(CACHE), "-q"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        wheels = [w for w in CACHE.glob("*.whl") if w.name.lower().startswith("lifetimes-0.11.3-")]
        if not wheels:
            pytest.skip(f"cannot download the lifetimes wheel (no network?): {proc.stderr[-300:]}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        target.write_bytes(wheel.read(f"lifetimes/datasets/{name}"))
    return target
