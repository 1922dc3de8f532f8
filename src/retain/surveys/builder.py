"""Building a survey in the app: its texts in both languages, its thank-you text and its
questions, saved together (``survey_save``). Validated and audited; the builder page and
any other door call it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from retain.accounts.access import survey_may_build
from retain.audit.services import audit_event, snapshot
from retain.surveys.models import QuestionKind, Survey, SurveyQuestion

SURVEY_FIELDS = (
    "name",
    "description",
    "title_zh",
    "title_en",
    "thank_you_zh",
    "thank_you_en",
    "valid_days",
)


@dataclass
class QuestionInput:
    """One question row of the builder (``pk`` None: a new one; ``delete``: remove it)."""

    kind: str
    text_zh: str
    text_en: str
    choices_zh: str = ""
    choices_en: str = ""
    required: bool = True
    pk: int | None = None
    delete: bool = False


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _question_check(q: QuestionInput) -> list[str]:
    errors = []
    if not q.text_zh.strip() or not q.text_en.strip():
        errors.append(_("Write the question in both Chinese and English."))
    if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        zh, en = _lines(q.choices_zh), _lines(q.choices_en)
        if len(zh) < 2 or len(zh) != len(en):
            errors.append(
                _("A choice question needs at least two choices, as many in Chinese as in English.")
            )
    return errors


def _snapshot(survey: Survey) -> dict[str, Any]:
    data = snapshot(survey)
    data["questions"] = [
        f"{q.kind}{'*' if q.required else ''}: {q.text_zh} / {q.text_en}"
        + (f" [{q.choices_en.replace(chr(10), ', ')}]" if q.choices_en else "")
        for q in survey.questions.order_by("position", "id")
    ]
    return data


@transaction.atomic
def survey_save(
    *,
    actor: Any,
    fields: dict[str, Any],
    questions: list[QuestionInput],
    survey: Survey | None = None,
    request: Any = None,
    now: dt.datetime | None = None,
) -> Survey:
    """Create or change a survey with its questions, in the order given. A question that
    already has answers keeps its kind (the answers would no longer fit). Audited: the
    survey's fields before and after, and the questions."""
    if not survey_may_build(actor):
        raise PermissionDenied("surveys.change_survey")
    before = _snapshot(survey) if survey is not None else None
    old_questions = {q.pk: q for q in survey.questions.all()} if survey is not None else {}
    survey = survey or Survey()
    for name in SURVEY_FIELDS:
        if name in fields:
            setattr(survey, name, fields[name])
    errors: dict[str, list[str]] = {}
    kept = [q for q in questions if not q.delete]
    if not kept:
        errors["__all__"] = [_("A survey needs at least one question.")]
    for i, q in enumerate(kept, start=1):
        for message in _question_check(q):
            errors.setdefault("__all__", []).append(
                _("Question %(n)d: %(error)s") % {"n": i, "error": message}
            )
        if q.pk is not None and q.pk not in old_questions:
            errors.setdefault("__all__", []).append(
                _("Question %(n)d is not of this survey.") % {"n": i}
            )
    answered = survey.pk is not None and survey.responses.exists()
    for q in questions:
        old = old_questions.get(q.pk) if q.pk is not None else None
        if answered and old is not None and (q.delete or old.kind != q.kind):
            errors.setdefault("__all__", []).append(
                _("“%(q)s” has answers: it cannot be removed or change its kind.")
                % {"q": old.text_en or old.text_zh}
            )
    try:
        survey.full_clean()
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    survey.save()
    for q in questions:
        if q.delete and q.pk is not None:
            old_questions[q.pk].delete()
    for position, q in enumerate(kept):
        row = old_questions.get(q.pk) if q.pk is not None else None
        row = row or SurveyQuestion(survey=survey)
        row.position = position
        row.kind = q.kind
        row.text_zh, row.text_en = q.text_zh.strip(), q.text_en.strip()
        row.choices_zh = "\n".join(_lines(q.choices_zh))
        row.choices_en = "\n".join(_lines(q.choices_en))
        row.required = q.required
        row.full_clean()
        row.save()
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=survey,
        before=before,
        after=_snapshot(survey),
        request=request,
    )
    return survey
