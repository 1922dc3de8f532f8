from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    MERGE = "merge", _("Merge")
    IMPORT = "import", _("Import")
    EXPORT = "export", _("Export")
    UNMASK = "unmask", _("Unmask")
    ERASE = "erase", _("Erase")
    CONSENT = "consent", _("Consent")
    LOGIN = "login", _("Login")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOGOUT = "logout", _("Logout")
    TOKEN_CREATE = "token_create", _("API token created")
    TOKEN_REVOKE = "token_revoke", _("API token revoked")
    SEARCH = "search", _("Search by phone or email")


#: Actions that record a read or a session, not a change of data: they leave every cached
#: figure valid (50 people signing in at nine would otherwise recompute every board 50 times).
UNCHANGING_ACTIONS = frozenset(
    {
        AuditAction.LOGIN,
        AuditAction.LOGIN_FAILED,
        AuditAction.LOGOUT,
        AuditAction.EXPORT,
        AuditAction.UNMASK,
        AuditAction.SEARCH,
        AuditAction.TOKEN_CREATE,
        AuditAction.TOKEN_REVOKE,
    }
)


class AuditEvent(models.Model):
    """One audited action: who did what to which object, when, with the values before/after.

    Rows are only ever inserted (by ``retain.audit.services.audit_event``); the admin and
    the web offer no way to change or delete them.
    """

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too, so the trail still names the actor after the user is deleted.
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    # SET_NULL so that deleting a customer keeps its trail (object_id still names it);
    # erasure anonymises the customer row, which keeps the link.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    before = models.JSONField(_("before"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-at"]),
            models.Index(fields=["action", "-at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"

    def changes(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for each field whose value differs."""
        before = self.before or {}
        after = self.after or {}
        keys = list(dict.fromkeys([*before, *after]))
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]
