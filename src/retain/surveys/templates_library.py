"""Ready-made surveys for the uses in PRODUCT.md: after a purchase, after a complaint is
closed, the quarterly relationship NPS and "why did you stop buying?" for churned customers.
``survey_from_template`` copies one into a new survey that can then be edited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from retain.accounts.access import can
from retain.audit.services import audit_event, snapshot
from retain.surveys.models import QuestionKind, Survey, SurveyQuestion

WHY = ("What is the main reason for your score?", "您给出这个分数的主要原因是什么？")

#: key -> (name, title en, title zh, thank-you en, thank-you zh, questions), a question being
#: (kind, text en, text zh, choices en, choices zh, required).
TEMPLATES: dict[str, tuple[str, str, str, str, str, list[tuple[Any, ...]]]] = {
    "after_purchase": (
        "After purchase",
        "How was your purchase?",
        "您对本次购买满意吗？",
        "Thank you! Your answer helps us serve you better.",
        "谢谢！您的回答帮助我们做得更好。",
        [
            (
                QuestionKind.CSAT,
                "How satisfied are you with your purchase?",
                "您对本次购买的满意程度？",
                "",
                "",
                True,
            ),
            (
                QuestionKind.CES,
                "How easy was it to buy from us?",
                "在我们这里购买方便吗？",
                "",
                "",
                False,
            ),
            (
                QuestionKind.TEXT,
                "Anything we could do better?",
                "还有哪些地方我们可以做得更好？",
                "",
                "",
                False,
            ),
        ],
    ),
    "complaint_closed": (
        "After complaint closed",
        "How did we handle your complaint?",
        "您对投诉处理满意吗？",
        "Thank you. We read every answer.",
        "谢谢，我们会认真阅读每一条回答。",
        [
            (
                QuestionKind.CSAT,
                "How satisfied are you with how your complaint was handled?",
                "您对投诉处理结果的满意程度？",
                "",
                "",
                True,
            ),
            (
                QuestionKind.SINGLE,
                "Was your problem solved?",
                "您的问题解决了吗？",
                "Yes\nPartly\nNo",
                "是\n部分解决\n否",
                True,
            ),
            (
                QuestionKind.TEXT,
                "What should we have done differently?",
                "我们哪里应该做得不同？",
                "",
                "",
                False,
            ),
        ],
    ),
    "relationship_nps": (
        "Quarterly relationship NPS",
        "Would you recommend us?",
        "您会向朋友推荐我们吗？",
        "Thank you for your time.",
        "感谢您抽出时间。",
        [
            (
                QuestionKind.NPS,
                "How likely are you to recommend us to a friend or colleague?",
                "您向朋友或同事推荐我们的可能性有多大？",
                "",
                "",
                True,
            ),
            (QuestionKind.TEXT, *WHY, "", "", False),
        ],
    ),
    "churned": (
        "Why did you stop buying?",
        "We miss you",
        "我们想念您",
        "Thank you for telling us.",
        "谢谢您告诉我们。",
        [
            (
                QuestionKind.MULTIPLE,
                "Why did you stop buying from us?",
                "您为什么不再从我们这里购买？",
                "Price\nQuality\nService\nDelivery\nFound another supplier\nNo longer needed",
                "价格\n质量\n服务\n交付\n找到了其他供应商\n不再需要",
                True,
            ),
            (
                QuestionKind.NPS,
                "How likely are you to recommend us to a friend or colleague?",
                "您向朋友或同事推荐我们的可能性有多大？",
                "",
                "",
                False,
            ),
            (
                QuestionKind.TEXT,
                "What would bring you back?",
                "怎样才能让您再次选择我们？",
                "",
                "",
                False,
            ),
        ],
    ),
}


@transaction.atomic
def survey_from_template(*, key: str, actor: Any, name: str = "") -> Survey:
    """A new survey with the template's questions in both languages. Audited."""
    if not can(actor, "surveys.add_survey"):
        raise PermissionDenied("surveys.add_survey")
    base, title_en, title_zh, thanks_en, thanks_zh, questions = TEMPLATES[key]
    survey = Survey(
        name=name or base,
        title_en=title_en,
        title_zh=title_zh,
        thank_you_en=thanks_en,
        thank_you_zh=thanks_zh,
    )
    survey.full_clean()
    survey.save()
    for position, (kind, text_en, text_zh, choices_en, choices_zh, required) in enumerate(
        questions
    ):
        SurveyQuestion.objects.create(
            survey=survey,
            position=position,
            kind=kind,
            text_en=text_en,
            text_zh=text_zh,
            choices_en=choices_en,
            choices_zh=choices_zh,
            required=required,
        )
    audit_event(actor=actor, action="create", obj=survey, after=snapshot(survey))
    return survey
