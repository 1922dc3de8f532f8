"""`retain survey-send`: ask a saved segment's customers to answer a survey."""

from __future__ import annotations

from typing import Annotated

import typer


def survey_send_command(
    user: Annotated[str, typer.Option("--as", help="Send as this user, with their permissions.")],
    segment: Annotated[str, typer.Option(help="Name of the saved segment to ask.")],
    survey: Annotated[
        str, typer.Option(help="Survey name; made from --template if it does not exist.")
    ],
    template: Annotated[
        str,
        typer.Option(help="after_purchase, complaint_closed, relationship_nps or churned."),
    ] = "",
    channel: Annotated[str, typer.Option(help="email or webhook.")] = "email",
    webhook_url: Annotated[str, typer.Option(help="Gateway URL for --channel webhook.")] = "",
    language: Annotated[str, typer.Option(help="zh-hans or en.")] = "zh-hans",
) -> None:
    """Send a survey to a segment (consent, quiet hours and the 30-day cap respected)."""
    from retain.cli import _django

    _django()
    from django.core.exceptions import PermissionDenied

    from retain.accounts.models import User
    from retain.playbooks.models import Segment
    from retain.playbooks.selectors import segment_members
    from retain.surveys.models import Survey
    from retain.surveys.sending import survey_send
    from retain.surveys.templates_library import TEMPLATES, survey_from_template

    actor = User.objects.filter(username=user, is_active=True).first()
    if actor is None:
        typer.echo(f"Error: no active user {user!r}", err=True)
        raise typer.Exit(2)
    chosen = Segment.objects.filter(name=segment).first()
    if chosen is None:
        typer.echo(f"Error: no segment {segment!r}", err=True)
        raise typer.Exit(2)
    try:
        found = Survey.objects.filter(name=survey).first()
        if found is None:
            if template not in TEMPLATES:
                typer.echo(f"Error: no survey {survey!r}; give --template", err=True)
                raise typer.Exit(2)
            found = survey_from_template(key=template, actor=actor, name=survey)
        result = survey_send(
            survey=found,
            customers=segment_members(segment=chosen),
            channel=channel,
            actor=actor,
            language=language,
            reason=f"segment {segment}",
            webhook_url=webhook_url,
        )
    except PermissionDenied as exc:
        typer.echo(f"Error: {user} may not send surveys", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"Invited {result.invited:,}; without consent {result.without_consent:,}; "
        f"asked in the last 30 days {result.capped:,}; no address {result.no_address:,}"
    )
