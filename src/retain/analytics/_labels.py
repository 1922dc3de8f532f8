"""Labels the engine writes into its outputs (string enums, so they compare equal to text)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ActivityLevel", "LifecycleStage", "Quadrant", "RfmSegment", "RiskLevel", "ValueTier"]


class ValueTier(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ActivityLevel(StrEnum):
    HIGH = "high"
    LOW = "low"


class Quadrant(StrEnum):
    """Value x activity matrix (PRODUCT.md section 3)."""

    CORE = "core"  # high value, high activity
    POTENTIAL = "potential"  # high value, low activity: re-activate
    BASIC = "basic"  # low value, high activity: raise basket size
    WATCH = "watch"  # low value, low activity: judge whether worth keeping


class LifecycleStage(StrEnum):
    PROSPECT = "prospect"
    NEW = "new"
    RETURNING = "returning"
    SILENT = "silent"
    CHURNED = "churned"


class RiskLevel(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class RfmSegment(StrEnum):
    CHAMPIONS = "Champions"
    LOYAL = "Loyal"
    POTENTIAL_LOYALIST = "Potential loyalist"
    NEW = "New"
    PROMISING = "Promising"
    NEED_ATTENTION = "Need attention"
    ABOUT_TO_SLEEP = "About to sleep"
    AT_RISK = "At risk"
    CANNOT_LOSE = "Cannot lose"
    HIBERNATING = "Hibernating"
    LOST = "Lost"


_S = RfmSegment
#: Segment of each (R score, FM score) pair, FM = ceil((F + M) / 2); rows R = 5 .. 1,
#: columns FM = 1 .. 5. Read top to bottom: recent customers at the top.
SEGMENT_GRID: dict[int, tuple[RfmSegment, ...]] = {
    5: (_S.NEW, _S.POTENTIAL_LOYALIST, _S.POTENTIAL_LOYALIST, _S.CHAMPIONS, _S.CHAMPIONS),
    4: (_S.PROMISING, _S.POTENTIAL_LOYALIST, _S.POTENTIAL_LOYALIST, _S.LOYAL, _S.LOYAL),
    3: (_S.ABOUT_TO_SLEEP, _S.ABOUT_TO_SLEEP, _S.NEED_ATTENTION, _S.LOYAL, _S.LOYAL),
    2: (_S.HIBERNATING, _S.HIBERNATING, _S.AT_RISK, _S.AT_RISK, _S.CANNOT_LOSE),
    1: (_S.LOST, _S.HIBERNATING, _S.AT_RISK, _S.AT_RISK, _S.CANNOT_LOSE),
}


def segment_of(r_score: int, fm_score: int) -> RfmSegment:
    """Return the RFM segment of an R score and an FM score, both 1-5."""
    return SEGMENT_GRID[r_score][fm_score - 1]
