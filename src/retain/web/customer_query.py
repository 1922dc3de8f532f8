"""The customer list's query: filters on every score and tag, owner, region, search, sort,
and paging that stays fast at a million customers (no full COUNT, a capped one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from retain.accounts.access import customers_visible_to
from retain.customers.models import Customer
from retain.customers.selectors import customer_list
from retain.tags.models import CustomerTag

#: sort key -> (label, ORM ordering)
SORTS: dict[str, tuple[Any, list[Any]]] = {
    "code": (_("Code"), ["code"]),
    "name": (_("Name"), ["name", "code"]),
    "-spend": (_("Spend, highest first"), [F("score__total_spend").desc(nulls_last=True), "code"]),
    "-ltv": (
        _("Predicted value, highest first"),
        [F("score__predicted_ltv").desc(nulls_last=True), "code"],
    ),
    "recency": (
        _("Last purchase, newest first"),
        [F("score__recency_days").asc(nulls_last=True), "code"],
    ),
    "-recency": (
        _("Last purchase, oldest first"),
        [F("score__recency_days").desc(nulls_last=True), "code"],
    ),
    "p_alive": (_("P(alive), lowest first"), [F("score__p_alive").asc(nulls_last=True), "code"]),
}
#: Multi-valued score filters: query parameter -> field of CustomerScore.
CHOICE_FILTERS = {
    "quadrant": "quadrant",
    "lifecycle": "lifecycle_stage",
    "risk": "churn_risk",
    "rfm": "rfm_segment",
    "value": "value_tier",
    "activity": "activity_level",
}
#: Numeric filters: query parameter -> (ORM lookup on Customer).
NUMBER_FILTERS = {
    "spend_min": "score__total_spend__gte",
    "ltv_min": "score__predicted_ltv__gte",
    "p_alive_max": "score__p_alive__lte",
    "recency_min": "score__recency_days__gte",
    "orders_min": "score__order_count__gte",
    # the points balance is the sum of the ledger: a segment condition (playbooks.conditions)
    "points_min": "points_balance:gte",
    "points_max": "points_balance:lte",
}
PAGE_SIZE = 50
#: Counts stop here: "more than 10,000" instead of counting a million rows.
COUNT_CAP = 10_000


@dataclass
class CustomerQuery:
    q: str = ""
    choices: dict[str, list[str]] = field(default_factory=dict)
    numbers: dict[str, float] = field(default_factory=dict)
    tags: list[int] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    tag_mode: str = "and"
    owner: str = ""
    region: str = ""
    segment: int | None = None
    sort: str = "code"
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, params: QueryDict) -> CustomerQuery:
        query = cls(q=params.get("q", "").strip())
        for name in CHOICE_FILTERS:
            values = [v for v in params.getlist(name) if v]
            if values:
                query.choices[name] = values
        for name in NUMBER_FILTERS:
            raw = params.get(name, "").strip()
            if raw:
                try:
                    query.numbers[name] = float(raw)
                except ValueError:
                    query.errors.append(
                        str(
                            _("%(field)s: %(value)r is not a number")
                            % {"field": name, "value": raw}
                        )
                    )
        for raw in params.getlist("tag"):
            if raw.isdigit():
                query.tags.append(int(raw))
        query.tiers = [v.strip() for v in params.getlist("tier") if v.strip()]
        query.tag_mode = "or" if params.get("tag_mode") == "or" else "and"
        query.owner = params.get("owner", "").strip()
        query.region = params.get("region", "").strip()
        raw_segment = params.get("segment", "").strip()
        query.segment = int(raw_segment) if raw_segment.isdigit() else None
        sort = params.get("sort", "code")
        query.sort = sort if sort in SORTS else "code"
        return query

    @property
    def filtered(self) -> bool:
        return bool(
            self.q
            or self.choices
            or self.numbers
            or self.tags
            or self.tiers
            or self.owner
            or self.region
            or self.segment
        )

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        for name, values in self.choices.items():
            out.extend((name, v) for v in values)
        for name, value in self.numbers.items():
            out.append((name, f"{value:g}"))
        out.extend(("tag", str(t)) for t in self.tags)
        out.extend(("tier", t) for t in self.tiers)
        if self.tags and self.tag_mode == "or":
            out.append(("tag_mode", "or"))
        if self.owner:
            out.append(("owner", self.owner))
        if self.region:
            out.append(("region", self.region))
        if self.segment:
            out.append(("segment", str(self.segment)))
        if self.sort != "code":
            out.append(("sort", self.sort))
        return out

    def querystring(self) -> str:
        return urlencode(self.params())


def customer_search(*, user: Any, query: CustomerQuery, request: Any = None) -> QuerySet[Customer]:
    """The customers ``user`` may see that match ``query``, in its order.

    Raises ``retain.accounts.access.SearchLimited`` past the limit of searches by phone or
    email (see ``customer_list``)."""
    if query.q and Customer.objects.filter(code=query.q.upper()).exists():
        # A customer code is unique: skip the name scan (a LIKE over every name at 1M rows).
        base = customer_list().filter(code=query.q.upper())
    else:
        base = customer_list(search=query.q, user=user, request=request)
    qs = customers_visible_to(user, base).select_related("score")
    for name, values in query.choices.items():
        qs = qs.filter(**{f"score__{CHOICE_FILTERS[name]}__in": values})
    for name, value in query.numbers.items():
        lookup = NUMBER_FILTERS[name]
        if lookup.startswith("points_balance:"):
            qs = qs.filter(_condition("points_balance", lookup.split(":")[1], value))
        else:
            qs = qs.filter(**{lookup: value})
    if query.tiers:
        qs = qs.filter(_condition("member_tier", "in", query.tiers))
    if query.tags:
        if query.tag_mode == "and":
            # One EXISTS per tag: the customer carries every one of them.
            for tag_id in query.tags:
                qs = qs.filter(
                    Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag_id=tag_id))
                )
        else:
            qs = qs.filter(
                Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag_id__in=query.tags))
            )
    if query.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif query.owner:
        qs = qs.filter(owner__username=query.owner)
    if query.region:
        qs = qs.filter(Q(region=query.region) | Q(city=query.region))
    if query.segment:
        from retain.playbooks.conditions import conditions_q
        from retain.playbooks.models import Segment

        segment = Segment.objects.filter(pk=query.segment).first()
        # an unknown segment matches nobody rather than everybody
        qs = qs.filter(conditions_q(segment.conditions)) if segment else qs.none()
    return qs.order_by(*SORTS[query.sort][1])


def _condition(field: str, op: str, value: Any) -> Q:
    """One segment condition (the same rule as in the segment builder and saved segments)."""
    from retain.playbooks.conditions import conditions_q

    return conditions_q({"all": [{"field": field, "op": op, "value": value}]})


@dataclass(frozen=True)
class Page:
    rows: list[Customer]
    number: int
    has_next: bool
    count: int
    capped: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def end(self) -> int:
        return (self.number - 1) * PAGE_SIZE + len(self.rows)


def customer_page(qs: QuerySet[Customer], number: int) -> Page:
    """One page (one row more than the page tells whether there is a next) and a count that
    stops at ``COUNT_CAP``."""
    number = max(1, number)
    offset = (number - 1) * PAGE_SIZE
    rows = list(qs[offset : offset + PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    # Counting stops at the cap: a COUNT over a million rows would take longer than the page.
    count = offset + len(rows) if not has_next else qs.order_by()[: COUNT_CAP + 1].count()
    return Page(
        rows=rows,
        number=number,
        has_next=has_next,
        count=min(count, COUNT_CAP),
        capped=count > COUNT_CAP,
    )
