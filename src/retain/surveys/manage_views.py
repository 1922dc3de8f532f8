"""The survey pages of the app (marketing and service; no Django admin needed): the list,
the builder (questions of every kind, both languages, the thank-you text, from a template),
sending to a segment (a preview counted by the sending rule, then a background job whose
progress the page follows), when a survey goes out by itself, one customer's link and QR
code (SVG and PNG), and the results. Every write goes through a service that checks the
permission (``retain.accounts.access``) and audits."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retain.accounts.access import (
    can,
    customers_visible_to,
    survey_may_build,
    survey_may_make_link,
    survey_may_send,
    survey_may_view_results,
)
from retain.surveys.automation import trigger_save
from retain.surveys.builder import QuestionInput, survey_save
from retain.surveys.forms import LinkForm, QuestionFormSet, SendForm, SurveyForm, TriggerForm
from retain.surveys.models import QuestionKind, SendStatus, Survey, SurveySend, SurveyTrigger
from retain.surveys.selectors import survey_list, survey_results
from retain.surveys.sending import (
    invitation_link_make,
    qr_png,
    qr_svg,
    survey_send_preview,
    survey_send_start,
)
from retain.surveys.templates_library import TEMPLATES, survey_from_template


def _may_view(request: HttpRequest) -> None:
    if not can(request.user, "surveys.view_survey"):
        raise PermissionDenied


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user = request.user
    return {
        "nav": "surveys",
        "may_build": survey_may_build(user),
        "may_send": survey_may_send(user),
        "may_link": survey_may_make_link(user),
        "may_results": survey_may_view_results(user),
        **extra,
    }


@login_required
@require_GET
def survey_list_view(request: HttpRequest) -> HttpResponse:
    _may_view(request)
    templates = [(key, value[0]) for key, value in TEMPLATES.items()]
    return render(
        request,
        "surveys/list.html",
        _context(request, surveys=survey_list(), templates=templates),
    )


@login_required
@require_POST
def survey_from_template_view(request: HttpRequest) -> HttpResponse:
    key = request.POST.get("template", "")
    if key not in TEMPLATES:
        messages.error(request, _("Choose a template."))
        return redirect("surveys")
    name = TEMPLATES[key][0]
    base, n = name, 1
    while Survey.objects.filter(name=name).exists():
        n += 1
        name = f"{base} ({n})"
    survey = survey_from_template(key=key, actor=request.user, name=name)
    messages.success(request, _("Survey made from the template: edit it and save."))
    return redirect("survey-edit", pk=survey.pk)


def _question_rows(formset: Any) -> list[QuestionInput]:
    rows = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or (not data.get("pk") and not (data.get("text_zh") or data.get("text_en"))):
            continue  # an empty extra row
        rows.append(
            QuestionInput(
                kind=data["kind"],
                text_zh=data.get("text_zh", ""),
                text_en=data.get("text_en", ""),
                choices_zh=data.get("choices_zh", ""),
                choices_en=data.get("choices_en", ""),
                required=bool(data.get("required")),
                pk=data.get("pk"),
                delete=bool(data.get("DELETE")),
            )
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def survey_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if not survey_may_build(request.user):
        raise PermissionDenied
    survey = get_object_or_404(Survey, pk=pk) if pk is not None else None
    initial = [
        {
            "pk": q.pk,
            "kind": q.kind,
            "text_zh": q.text_zh,
            "text_en": q.text_en,
            "choices_zh": q.choices_zh,
            "choices_en": q.choices_en,
            "required": q.required,
        }
        for q in (survey.questions.order_by("position", "id") if survey else [])
    ]
    if not initial:
        initial = [{"kind": QuestionKind.NPS, "required": True}]
    form = SurveyForm(request.POST or None, instance=survey)
    questions = QuestionFormSet(request.POST or None, initial=initial, prefix="q")
    if request.method == "POST" and form.is_valid() and questions.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            saved = survey_save(
                actor=request.user,
                fields=fields,
                questions=_question_rows(questions),
                survey=Survey.objects.get(pk=pk) if pk is not None else None,
                request=request,
            )
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                form.add_error(None if key == "__all__" else key, errors)
        else:
            messages.success(request, _("Survey saved."))
            return redirect("survey-edit", pk=saved.pk)
    return render(
        request,
        "surveys/edit.html",
        _context(request, survey=survey, form=form, questions=questions),
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not survey_may_send(request.user):
        raise PermissionDenied
    survey = get_object_or_404(Survey, pk=pk)
    form = SendForm(request.POST or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("action") == "send":
            try:
                send = survey_send_start(
                    survey=survey,
                    segment=data["segment"],
                    channel=data["channel"],
                    language=data["language"],
                    webhook_url=data.get("webhook_url") or "",
                    actor=request.user,
                    request=request,
                )
            except ValidationError as exc:
                for key, errors in exc.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
            else:
                return redirect("survey-send-progress", pk=send.pk)
        else:
            preview = survey_send_preview(
                survey=survey, segment=data["segment"], channel=data["channel"], actor=request.user
            )
    sends = SurveySend.objects.filter(survey=survey).select_related("actor")[:10]
    template = "surveys/_send_preview.html" if request.headers.get("HX-Request") else None
    context = _context(request, survey=survey, form=form, preview=preview, sends=sends)
    return render(request, template or "surveys/send.html", context)


@login_required
@require_GET
def survey_send_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not survey_may_send(request.user):
        raise PermissionDenied
    send = get_object_or_404(SurveySend.objects.select_related("survey", "actor"), pk=pk)
    context = _context(
        request, send=send, running=send.status in (SendStatus.QUEUED, SendStatus.RUNNING)
    )
    if request.headers.get("HX-Request"):
        return render(request, "surveys/_send_progress.html", context)
    return render(request, "surveys/send_progress.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def survey_triggers_view(request: HttpRequest, pk: int) -> HttpResponse:
    _may_view(request)
    survey = get_object_or_404(Survey, pk=pk)
    editing = None
    if request.GET.get("trigger") or request.POST.get("trigger"):
        editing = get_object_or_404(
            SurveyTrigger,
            pk=request.GET.get("trigger") or request.POST.get("trigger"),
            survey=survey,
        )
    form = TriggerForm(request.POST or None, instance=editing)
    if request.method == "POST":
        if not survey_may_build(request.user):
            raise PermissionDenied
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
            try:
                trigger_save(
                    survey=survey,
                    trigger=SurveyTrigger.objects.get(pk=editing.pk) if editing else None,
                    actor=request.user,
                    request=request,
                    **fields,
                )
            except ValidationError as exc:
                for key, errors in exc.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
            else:
                messages.success(request, _("Saved: the survey goes out by itself as set."))
                return redirect("survey-triggers", pk=survey.pk)
    triggers = survey.triggers.select_related("segment").order_by("id")
    return render(
        request,
        "surveys/triggers.html",
        _context(request, survey=survey, form=form, triggers=triggers, editing=editing),
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_link_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not survey_may_make_link(request.user):
        raise PermissionDenied
    survey = get_object_or_404(Survey, pk=pk)
    form = LinkForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    made = None
    if request.method == "POST" and form.is_valid():
        customer = (
            customers_visible_to(request.user)
            .filter(code=form.cleaned_data["customer"].strip())
            .first()
        )
        if customer is None:
            form.add_error("customer", _("No customer you can see has this code."))
        else:
            invitation, url = invitation_link_make(
                survey=survey,
                customer=customer,
                actor=request.user,
                language=form.cleaned_data["language"],
            )
            svg = qr_svg(url)
            made = {
                "customer": customer,
                "url": url,
                "expires_at": invitation.expires_at,
                "svg": svg,
                "svg_data": base64.b64encode(svg.encode()).decode(),
                "png_data": base64.b64encode(qr_png(url)).decode(),
                "filename": f"survey-{survey.pk}-{customer.code}",
            }
    response = render(
        request, "surveys/link.html", _context(request, survey=survey, form=form, made=made)
    )
    response["Cache-Control"] = "no-store"  # the link answers once: keep it out of caches
    return response


@login_required
@require_GET
def survey_results_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not survey_may_view_results(request.user):
        raise PermissionDenied
    survey = get_object_or_404(Survey, pk=pk)
    results = survey_results(survey=survey, user=request.user)
    language = request.LANGUAGE_CODE
    rows = [
        {
            "r": r,
            "text": r.question.text(language),
            "kind": r.question.get_kind_display(),
        }
        for r in results.questions
    ]
    return render(
        request,
        "surveys/results.html",
        _context(request, survey=survey, results=results, rows=rows, today=timezone.localdate()),
    )


__all__ = [
    "survey_edit_view",
    "survey_link_view",
    "survey_list_view",
    "survey_results_view",
    "survey_send_progress_view",
    "survey_send_view",
    "survey_triggers_view",
]
