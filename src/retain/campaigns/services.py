"""Campaigns: create or change one (a one-off message to a saved segment), schedule it.
Sending is ``retain.care.services.campaigns_send_due`` (the worker, every five minutes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from retain.accounts.access import require
from retain.audit.services import audit_event, snapshot
from retain.campaigns.models import Campaign, CampaignStatus

#: The fields ``campaign_save`` takes.
CAMPAIGN_FIELDS = (
    "name",
    "kind",
    "starts_on",
    "ends_on",
    "description",
    "segment",
    "playbook",
    "channel",
    "webhook_url",
    "subject",
    "body",
)


@transaction.atomic
def campaign_save(
    *, campaign: Campaign | None, fields: dict[str, Any], actor: Any, request: Any = None
) -> Campaign:
    """Create or change a campaign that is not sent yet (templates validated). Audited."""
    require(actor, "campaigns.change_campaign" if campaign else "campaigns.add_campaign")
    if campaign is not None and campaign.status == CampaignStatus.SENT:
        raise ValidationError(_("A sent campaign cannot be changed."))
    before = snapshot(campaign) if campaign is not None else None
    campaign = campaign or Campaign()
    for name in CAMPAIGN_FIELDS:
        if name in fields:
            setattr(campaign, name, fields[name])
    campaign.full_clean()
    campaign.save()
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=campaign,
        before=before,
        after=snapshot(campaign),
        request=request,
    )
    return campaign


@transaction.atomic
def campaign_schedule(
    *, campaign: Campaign, send_at: dt.datetime | None, actor: Any, request: Any = None
) -> Campaign:
    """Schedule the campaign's message for ``send_at`` (None: back to draft). Audited."""
    require(actor, "campaigns.change_campaign")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status == CampaignStatus.SENT:
        raise ValidationError(_("The campaign was sent already."))
    if send_at is not None and not (campaign.segment_id and campaign.subject and campaign.body):
        raise ValidationError(_("Choose a segment and write the message before scheduling."))
    before = snapshot(campaign)
    campaign.send_at = send_at
    campaign.status = CampaignStatus.SCHEDULED if send_at else CampaignStatus.DRAFT
    campaign.full_clean()
    campaign.save()
    audit_event(
        actor=actor,
        action="update",
        obj=campaign,
        before=before,
        after=snapshot(campaign),
        request=request,
    )
    return campaign
