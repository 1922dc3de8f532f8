"""The public survey page: no login, the link's token is the permission. Mobile-first, plain
HTML forms (no JavaScript needed), in the language the customer was asked in. Shows nothing
about the customer but the greeting name; a used, expired or forged link gets a clear page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from retain.surveys.ratelimit import survey_rate_limited
from retain.surveys.sending import (
    LinkState,
    invitation_read,
    questions_of,
    survey_answer_submit,
)

STATUS = {LinkState.INVALID: 404, LinkState.USED: 410, LinkState.EXPIRED: 410}


def _rate_limited(request: HttpRequest) -> bool:
    """More than RETAIN_SURVEY_RATE_LIMIT requests a minute from one address, counted in the
    project's cache so every server process shares the count (``retain.surveys.ratelimit``)."""
    limit = int(getattr(settings, "RETAIN_SURVEY_RATE_LIMIT", 60))
    return survey_rate_limited(request.META.get("REMOTE_ADDR", ""), limit=limit)


def _choice_rows(question, language: str, selected) -> list[tuple[str, bool]]:
    values = [str(v) for v in selected] if isinstance(selected, list) else [str(selected)]
    return [(c, c in values) for c in question.choices(language)]


@never_cache
@require_http_methods(["GET", "POST"])
def survey_public_view(request: HttpRequest, token: str) -> HttpResponse:
    if _rate_limited(request):
        response = render(request, "surveys/public_state.html", {"state": "busy"}, status=429)
        response["Retry-After"] = "60"
        return response
    state, invitation = invitation_read(token)
    language = invitation.language if invitation is not None else request.LANGUAGE_CODE
    with translation.override(language):
        if state != LinkState.OK:
            return render(
                request,
                "surveys/public_state.html",
                {"state": state, "language": language},
                status=STATUS[state],
            )
        errors: dict[int, str] = {}
        if request.method == "POST":
            submitted = survey_answer_submit(token=token, data=request.POST, request=request)
            if submitted.state != LinkState.OK:
                return render(
                    request,
                    "surveys/public_state.html",
                    {"state": submitted.state, "language": language},
                    status=STATUS[submitted.state],
                )
            if submitted.response is not None:
                return render(
                    request,
                    "surveys/public_thanks.html",
                    {
                        "text": invitation.survey.thank_you(language),
                        "referral": submitted.referral,
                        "language": language,
                    },
                )
            errors = submitted.errors
        posted = request.POST if request.method == "POST" else None
        rows = []
        for q in questions_of(invitation.survey):
            if posted is not None:
                value = (
                    posted.getlist(f"q{q.pk}")
                    if q.kind == "multiple"
                    else posted.get(f"q{q.pk}", "")
                )
            else:
                value = [] if q.kind == "multiple" else ""
            scale = None
            if q.kind == "nps":
                scale = range(0, 11)
            elif q.kind == "csat":
                scale = range(1, 6)
            elif q.kind == "ces":
                scale = range(1, 8)
            rows.append(
                {
                    "q": q,
                    "text": q.text(language),
                    "scale": [(str(n), str(n) == str(value)) for n in scale] if scale else None,
                    "choices": _choice_rows(q, language, value),
                    "value": value if isinstance(value, str) else "",
                    "error": errors.get(q.pk, ""),
                }
            )
        response = render(
            request,
            "surveys/public_survey.html",
            {
                "title": invitation.survey.title(language),
                "name": invitation.greeting_name,
                "rows": rows,
                "errors": errors,
                "language": language,
            },
            status=400 if errors else 200,
        )
    response["Content-Language"] = language
    # the token never leaves in a Referer to another site (same-origin keeps the form's
    # Origin header, which the CSRF check needs)
    response["Referrer-Policy"] = "same-origin"
    return response
