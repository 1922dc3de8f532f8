"""The one renderer of message templates: care messages and playbook scripts.

A template is written by marketing and read by every role on the customer's timeline, so it
may use only an explicit, documented context of plain values — never a model object (a
``{{ customer.owner.password }}`` once put a password hash on the timeline) — and only a few
harmless tags. Django's template language (the syntax the shipped greetings and playbooks
already use) runs in a locked-down engine: no template loaders (so no ``include`` or
``extends``), no tag libraries to ``load``, and a whitelist of tags and names checked before
anything renders. Saving a template validates it (``template_validate``: each problem with
its line and reason); a template that is broken anyway (stored before this check) is refused
by ``template_render`` with ``TemplateInvalid``, which ``retain daily`` reports and skips.

The context (``TEMPLATE_NAMES``):

``name``            the greeting name: the contact's or person's name
``customer.name``   the customer's name; ``customer.code`` its code
``owner``           the account owner's display name (full name, else username)
``company``         the customer's name when it is a company, else empty
``today``           the day the message is made (a date: ``{{ today|date:"n月j日" }}``);
                    ``today.year``, ``today.month``, ``today.day``
``unsubscribe_url`` the one-click unsubscribe link (care messages)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Lexer, Parser, TokenType
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

#: The names a template may use, with what they hold (the documented context).
TEMPLATE_NAMES: dict[str, Any] = {
    "name": gettext_lazy("the greeting name: the contact's or the person's name"),
    "customer.name": gettext_lazy("the customer's name"),
    "customer.code": gettext_lazy("the customer's code"),
    "owner": gettext_lazy("the account owner's name"),
    "company": gettext_lazy("the customer's name when it is a company"),
    "today": gettext_lazy("the day the message is made"),
    "today.year": gettext_lazy("its year"),
    "today.month": gettext_lazy("its month"),
    "today.day": gettext_lazy("its day"),
    "unsubscribe_url": gettext_lazy("the unsubscribe link"),
}
#: The tags a template may use.
ALLOWED_TAGS = frozenset(["if", "elif", "else", "endif", "firstof", "now", "comment", "endcomment"])
_IF_WORDS = frozenset({"and", "or", "not", "in", "is", "==", "!=", "<", ">", "<=", ">="})
_LITERAL = re.compile(r"""^(["'].*["']|-?\d+(\.\d+)?|None|True|False)$""")

# No loaders, no libraries: nothing to include, extend or load; plain text out.
_ENGINE = Engine(loaders=[], libraries={}, autoescape=False, string_if_invalid="")


@dataclass(frozen=True)
class TemplateProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return _("line %(line)s: %(reason)s") % {"line": self.line, "reason": self.reason}


class TemplateInvalid(ValueError):
    def __init__(self, problems: list[TemplateProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _check_name(path: str, line: int, problems: list[TemplateProblem]) -> None:
    if path in TEMPLATE_NAMES:
        return
    problems.append(
        TemplateProblem(
            line,
            _("unknown name %(name)s; a template may use %(names)s")
            % {"name": path, "names": ", ".join(TEMPLATE_NAMES)},
        )
    )


def template_validate(text: str) -> list[TemplateProblem]:
    """The problems of a template (each with its line and reason); empty when it is fine."""
    problems: list[TemplateProblem] = []
    tokens = Lexer(text).tokenize()
    parser = Parser([], libraries={}, builtins=_ENGINE.template_builtins)
    for token in tokens:
        line = token.lineno or 1
        if token.token_type == TokenType.VAR:
            try:
                expression = FilterExpression(token.contents, parser)
            except TemplateSyntaxError as exc:
                problems.append(TemplateProblem(line, str(exc)))
                continue
            var = getattr(expression.var, "var", None)
            if isinstance(var, str):  # a name, not a literal
                _check_name(var, line, problems)
        elif token.token_type == TokenType.BLOCK:
            bits = token.split_contents()
            tag = bits[0] if bits else ""
            if tag not in ALLOWED_TAGS:
                problems.append(
                    TemplateProblem(
                        line,
                        _("the tag %(tag)s is not allowed; a template may use %(tags)s")
                        % {"tag": tag, "tags": "if / elif / else, firstof, now, comment"},
                    )
                )
                continue
            if tag in ("if", "elif", "firstof"):
                for bit in bits[1:]:
                    if bit in _IF_WORDS or _LITERAL.match(bit):
                        continue
                    _check_name(bit.split("|", 1)[0], line, problems)
    if problems:
        return problems
    try:
        _ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        line = _syntax_error_line(text, exc)
        problems.append(TemplateProblem(line, str(exc)))
    return problems


def _syntax_error_line(text: str, exc: TemplateSyntaxError) -> int:
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "lineno", None):
        return int(token.lineno)
    # "Unclosed tag on line N" and the like
    found = re.search(r"line (\d+)", str(exc))
    if found:
        return int(found.group(1))
    debug_engine = Engine(loaders=[], libraries={}, autoescape=False, debug=True)
    try:
        debug_engine.from_string(text)
    except TemplateSyntaxError as again:
        info = getattr(again, "template_debug", None)
        if info:
            return int(info["line"])
    return 1


class CompiledTemplate:
    """A validated template, to render many times (one message per recipient)."""

    def __init__(self, text: str) -> None:
        problems = template_validate(text)
        if problems:
            raise TemplateInvalid(problems)
        self._template = _ENGINE.from_string(text)

    def render(self, context: Mapping[str, Any]) -> str:
        # Only the documented names reach the template, whatever ``context`` holds.
        allowed = {k: v for k, v in context.items() if k in _ROOTS}
        return str(self._template.render(Context(allowed, autoescape=False))).strip()


def template_compile(text: str) -> CompiledTemplate:
    """Validate and compile ``text``; raises ``TemplateInvalid`` with its problems."""
    return CompiledTemplate(text)


def template_render(text: str, context: Mapping[str, Any]) -> str:
    """``text`` rendered with ``context`` (make it with ``template_context``).

    Raises ``TemplateInvalid`` when the template breaks the rules (see ``template_validate``).
    """
    return template_compile(text).render(context)


_ROOTS = frozenset(name.split(".", 1)[0] for name in TEMPLATE_NAMES)


def _display_name(user: Any) -> str:
    if user is None:
        return ""
    return (user.get_full_name() or user.get_username()).strip()


def template_context(
    *,
    customer: Any,
    name: str | None = None,
    owner: Any = None,
    today: dt.date | None = None,
    unsubscribe_url: str = "",
) -> dict[str, Any]:
    """The context of one message: plain strings and a date, never model objects.

    ``owner`` is a user (default: the customer's owner); ``name`` the greeting name (default:
    the customer's name); ``today`` defaults to today's local date.
    """
    from django.utils import timezone

    from retain.customers.models import CustomerKind

    if owner is None:
        owner = customer.owner if customer.owner_id else None
    return {
        "name": name if name is not None else customer.name,
        "customer": {"name": customer.name, "code": customer.code},
        "owner": _display_name(owner),
        "company": customer.name if customer.kind == CustomerKind.COMPANY else "",
        "today": today or timezone.localdate(),
        "unsubscribe_url": unsubscribe_url,
    }


def template_preview(text: str, *, customer: Any = None, today: dt.date | None = None) -> str:
    """The template rendered for ``customer`` (or a sample customer), to show before saving.

    Raises ``TemplateInvalid`` like ``template_render``.
    """
    if customer is not None:
        context = template_context(
            customer=customer, today=today, unsubscribe_url="https://…/unsubscribe/…"
        )
    else:
        sample = _("Zhang Wei")
        context = {
            "name": sample,
            "customer": {"name": sample, "code": "C2024001"},
            "owner": _("Li Na"),
            "company": "",
            "today": today or dt.date.today(),
            "unsubscribe_url": "https://…/unsubscribe/…",
        }
    return template_render(text, context)
