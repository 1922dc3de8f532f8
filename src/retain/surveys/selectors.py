"""Reads of the survey pages: the list with each survey's counts, and one survey's results
(response rate, NPS, CSAT, effort, every question's answers) over the customers the user
sees."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from retain.accounts.access import customers_visible_to
from retain.kpis.figures import SurveyGroup, _survey_group, kpi_scope
from retain.surveys.models import (
    SCALES,
    QuestionKind,
    Survey,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
)


def survey_list() -> QuerySet[Survey]:
    """Surveys with their number of questions, invitations sent and answers."""
    return Survey.objects.annotate(
        question_count=Count("questions", distinct=True),
        trigger_count=Count("triggers", filter=Q(triggers__active=True), distinct=True),
    ).order_by("name")


@dataclass
class QuestionResult:
    question: SurveyQuestion
    answered: int = 0
    #: (value, count, per cent of the question's answers), in the scale's or choices' order
    counts: list[tuple[str, int, float]] = field(default_factory=list)
    average: float | None = None
    #: the latest free-text answers: (customer name, text)
    texts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SurveyResults:
    invited: int
    answered_invitations: int
    overall: SurveyGroup
    effort: float | None
    questions: list[QuestionResult]

    @property
    def response_rate(self) -> float | None:
        return 100 * self.answered_invitations / self.invited if self.invited else None


#: Free-text answers shown per question.
TEXTS_SHOWN = 50


def survey_results(*, survey: Survey, user: Any) -> SurveyResults:
    """One survey's results over the customers ``user`` sees."""
    answers = SurveyResponse.objects.filter(survey=survey, answered_at__isnull=False)
    invitations = SurveyInvitation.objects.filter(survey=survey, sent_at__isnull=False)
    ids = kpi_scope(user)
    if ids is not None:
        visible = customers_visible_to(user).values("pk")
        answers = answers.filter(customer_id__in=visible)
        invitations = invitations.filter(customer_id__in=visible)
    questions = list(survey.questions.order_by("position", "id"))
    tallies: dict[int, Counter[str]] = {q.pk: Counter() for q in questions}
    texts: dict[int, list[tuple[str, str]]] = {q.pk: [] for q in questions}
    efforts: list[int] = []
    rows = answers.order_by("-answered_at", "-pk").values_list(
        "answers", "effort", "customer__name"
    )
    for answer_map, effort, name in rows.iterator(chunk_size=2000):
        if effort is not None:
            efforts.append(effort)
        for q in questions:
            value = (answer_map or {}).get(str(q.pk))
            if value is None or value == "" or value == []:
                continue
            if q.kind == QuestionKind.TEXT:
                tallies[q.pk]["text"] += 1
                if len(texts[q.pk]) < TEXTS_SHOWN:
                    texts[q.pk].append((name, str(value)))
            elif isinstance(value, list):
                tallies[q.pk]["__answered__"] += 1
                for v in value:
                    tallies[q.pk][str(v)] += 1
            else:
                tallies[q.pk]["__answered__"] += 1
                tallies[q.pk][str(value)] += 1
    results = []
    for q in questions:
        tally = tallies[q.pk]
        result = QuestionResult(q, texts=texts[q.pk])
        if q.kind == QuestionKind.TEXT:
            result.answered = tally["text"]
        else:
            result.answered = tally["__answered__"]
            if q.kind in SCALES:
                low, high = SCALES[QuestionKind(q.kind)]
                values = [str(n) for n in range(low, high + 1)]
                total = sum(int(v) * tally[v] for v in values)
                result.average = total / result.answered if result.answered else None
            else:
                values = q.choices_zh.splitlines() + q.choices_en.splitlines()
                values = [v for v in dict.fromkeys(values) if tally[v]] or []
            result.counts = [
                (v, tally[v], 100 * tally[v] / result.answered if result.answered else 0.0)
                for v in values
            ]
        results.append(result)
    return SurveyResults(
        invited=invitations.count(),
        answered_invitations=invitations.filter(response__isnull=False).count(),
        overall=_survey_group("", answers),
        effort=sum(efforts) / len(efforts) if efforts else None,
        questions=results,
    )
