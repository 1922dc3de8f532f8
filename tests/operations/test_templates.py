"""Care and playbook templates (issue #11, item 3): one sandboxed renderer with a documented
context; broken or snooping templates are refused when saved (line and reason) and skipped,
never crashing, by ``retain daily``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from typer.testing import CliRunner

from retain.accounts.services import user_create
from retain.care.models import CareTemplate, Delivery
from retain.care.services import care_messages_prepare
from retain.care.templating import (
    TemplateInvalid,
    TemplateProblem,
    template_context,
    template_preview,
    template_render,
    template_validate,
)
from retain.cli import app
from retain.customers.services import consent_set
from retain.playbooks.models import PlaybookAction
from retain.tasks.models import Task
from retain.tasks.services import playbook_tasks_create
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, UserFactory

from .conftest import NOW
from .helpers import AS_OF, scored

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 1)
SNOOP = "{{ customer.owner.password }} {{ customer.phone }}"


def birthday_person(owner=None):
    customer = CustomerFactory(
        code="P1",
        kind="person",
        name="王芳",
        email="wang@example.com",
        phone="13800001111",
        birthday=dt.date(1990, 11, 1),
        owner=owner,
    )
    consent_set(customer=customer, channel="email", granted=True, source="form", at=NOW)
    return customer


def test_validation_names_the_line_and_the_reason():
    assert template_validate("你好{{ name }}\n{% if name %}\n再见") == [
        TemplateProblem(2, "Unclosed tag on line 2: 'if'. Looking for one of: elif, else, endif.")
    ]
    problems = template_validate("第一行\n" + SNOOP)
    assert [(p.line, p.reason.split(";")[0]) for p in problems] == [
        (2, "unknown name customer.owner.password"),
        (2, "unknown name customer.phone"),
    ]
    assert [p.line for p in template_validate('a\n\n{% include "web/base.html" %}')] == [3]
    assert template_validate("{% load humanize %}")[0].reason.startswith("the tag load")
    assert template_validate("{% debug %}")[0].reason.startswith("the tag debug")
    assert template_validate("{% if phone %}x{% endif %}")[0].reason.startswith(
        "unknown name phone"
    )
    assert (
        template_validate('{{ name|default:"您" }}，{% if company %}{{ company }}{% endif %}') == []
    )


def test_a_snooping_care_template_is_refused_when_saved(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        "/admin/care/caretemplate/add/",
        {
            "name": "偷看",
            "occasion": "birthday",
            "channel": "email",
            "subject": "你好",
            "body": SNOOP,
            "active": "on",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "customer.owner.password" in response.content.decode()  # named in the error
    assert not CareTemplate.objects.filter(name="偷看").exists()
    with pytest.raises(ValidationError) as raised, translation.override("en"):
        CareTemplate(name="坏", occasion="birthday", subject="{% if %}", body="x").full_clean()
    assert raised.value.message_dict["subject"][0].startswith("line 1: ")


def test_a_snooping_playbook_script_is_refused_when_saved():
    from retain.playbooks.models import Playbook

    action = PlaybookAction(
        playbook=Playbook.objects.first(),
        name="偷看",
        every_days=7,
        channel="phone",
        template="致电{{ customer.name }}\n{{ customer.owner.password }}",
    )

    with pytest.raises(ValidationError) as raised:
        action.full_clean()

    assert raised.value.message_dict["template"][0].startswith(
        "line 2: unknown name customer.owner.password"
    )


def test_the_context_holds_the_documented_values_and_no_objects():
    owner = user_create(username="li", password=PASSWORD, role="sales")
    owner.last_name, owner.first_name = "李", "娜"
    owner.save()
    company = CustomerFactory(code="C9", name="星河制造", kind="company", owner=owner)

    context = template_context(customer=company, name="张伟", today=DAY, unsubscribe_url="u")
    text = template_render(
        "{{ name }}/{{ customer.name }}/{{ customer.code }}/{{ owner }}/{{ company }}/"
        '{{ today|date:"Y-m-d" }}/{{ today.month }}/{{ unsubscribe_url }}',
        context,
    )

    assert text == "张伟/星河制造/C9/李娜/星河制造/2026-11-01/11/u"
    assert context == {
        "name": "张伟",
        "customer": {"name": "星河制造", "code": "C9"},
        "owner": "李娜",
        "company": "星河制造",
        "today": DAY,
        "unsubscribe_url": "u",
    }
    with pytest.raises(TemplateInvalid):
        template_render(SNOOP, {**context, "customer": company})
    assert template_preview("{{ name }} {{ today.year }}", today=DAY) == "Zhang Wei 2026"


def test_a_template_stored_broken_is_skipped_by_the_daily_run(
    smtp_server, django_capture_on_commit_callbacks
):
    owner = UserFactory(username="li")
    birthday_person(owner=owner)
    # stored before validation existed (or straight in the database)
    CareTemplate.objects.filter(occasion="birthday").update(body=SNOOP)
    CareTemplate.objects.create(
        name="老模板", occasion="birthday", subject="{{ name }}", body="第一行\n{% if name %}"
    )
    CareTemplate.objects.create(
        name="好模板", occasion="birthday", subject="{{ name }}好", body="{{ owner }}祝您生日快乐"
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = care_messages_prepare(on=DAY, now=NOW)

    assert result.prepared == 1
    assert sorted(b.split(":")[0] for b in result.broken) == ["生日祝福", "老模板"]
    assert any("line 2: Unclosed tag" in b for b in result.broken)
    delivery = Delivery.objects.get()
    assert (delivery.subject, delivery.body) == ("王芳好", "li祝您生日快乐")
    assert smtp_server.wait_for(1)[0]["X-Rcpt-To"] == "wang@example.com"


def test_retain_daily_reports_a_broken_template_and_finishes(settings, smtp_server):
    birthday_person()
    CareTemplate.objects.filter(occasion="birthday").update(body="{% if name %}")

    result = CliRunner().invoke(app, ["daily", "--as-of", "2026-11-01"])

    assert result.exit_code == 0, result.output
    assert "Skipped broken care template 生日祝福: line 1: Unclosed tag" in result.output


def test_playbook_scripts_render_in_the_sandbox(django_capture_on_commit_callbacks):
    owner = user_create(username="li", password=PASSWORD, role="sales")
    owner.last_name, owner.first_name = "李", "娜"
    owner.save()
    customer = CustomerFactory(code="C1", name="星河制造", owner=owner)
    scored(customer, quadrant="core")
    consent_set(customer=customer, channel="phone", granted=True, source="form", at=NOW)
    action = PlaybookAction.objects.get(name="每月电话回访")
    PlaybookAction.objects.filter(pk=action.pk).update(template="{{ owner }}致电{{ company }}")
    visit = PlaybookAction.objects.get(name="每季度上门拜访")
    PlaybookAction.objects.filter(pk=visit.pk).update(template=SNOOP)

    playbook_tasks_create(as_of=AS_OF, now=NOW)

    call = Task.objects.get(title="每月电话回访")
    assert call.reason.endswith(": 李娜致电星河制造")
    shown = Task.objects.get(title="每季度上门拜访").reason
    assert shown.endswith(": " + SNOOP)  # the raw text, never the owner's password hash
    assert "pbkdf2" not in shown and "md5" not in shown
