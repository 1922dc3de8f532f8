"""Login lockout and audit, API tokens: hashed, shown once, revocable."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retain.accounts.login import LOCKOUT_FAILURES
from retain.api.models import ApiToken
from retain.api.services import token_hash
from retain.audit.models import AuditEvent
from tests.access.conftest import bearer
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_successful_and_failed_logins_are_audited(client, company):
    client.post(reverse("login"), {"username": "east", "password": "wrong-password"})
    client.post(reverse("login"), {"username": "east", "password": PASSWORD})

    failed = AuditEvent.objects.get(action="login_failed")
    ok = AuditEvent.objects.get(action="login")
    assert (failed.object_repr, failed.actor, failed.ip) == ("east", None, "127.0.0.1")
    assert ok.actor == company.users["east"]


def test_repeated_failures_lock_the_user_out_even_with_the_right_password(client, company):
    for _ in range(LOCKOUT_FAILURES):
        client.post(reverse("login"), {"username": "east", "password": "wrong-password"})

    response = client.post(reverse("login"), {"username": "east", "password": PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["locked"]
    # The admin login obeys the same lock.
    admin_login = client.post(reverse("admin:login"), {"username": "east", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert admin_login.status_code == 200


def test_fewer_failures_than_the_limit_do_not_lock(client, company):
    for _ in range(LOCKOUT_FAILURES - 1):
        client.post(reverse("login"), {"username": "east", "password": "wrong-password"})

    client.post(reverse("login"), {"username": "east", "password": PASSWORD})

    assert client.session["_auth_user_id"] == str(company.users["east"].pk)


def test_the_tokens_page_shows_a_new_token_once_and_stores_only_its_hash(client, company):
    client.force_login(company.users["east"])

    response = client.post(reverse("api-tokens"), {"name": "nightly sync"})

    raw = response.context["new_token"]
    assert raw.startswith("rt_") and raw in response.content.decode()
    token = ApiToken.objects.get(user=company.users["east"], name="nightly sync")
    assert token.key_hash == token_hash(raw)
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    again = client.get(reverse("api-tokens")).content.decode()
    assert raw not in again and token.prefix in again
    api = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200


def test_a_revoked_token_is_refused(client, company):
    token = ApiToken.objects.get(user=company.users["east"])
    client.force_login(company.users["east"])

    client.post(reverse("api-token-revoke", args=[token.pk]))

    client.logout()
    response = client.get("/api/v1/customers", headers=bearer(company, "east"))
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}
    assert (
        AuditEvent.objects.filter(action="token_revoke", actor=company.users["east"]).count() == 1
    )


def test_nobody_revokes_someone_elses_token(client, company):
    token = ApiToken.objects.get(user=company.users["west"])
    client.force_login(company.users["east"])

    response = client.post(reverse("api-token-revoke", args=[token.pk]))
    api = client.delete(f"/api/v1/tokens/{token.pk}", headers=bearer(company, "east"))

    assert (response.status_code, api.status_code) == (404, 404)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_api_without_a_token_is_unauthorized(client, company):
    response = client.get("/api/v1/customers", headers={"Authorization": "Bearer rt_nope"})

    assert response.status_code == 401


def test_api_docs_are_served_with_local_assets(client, company):
    client.force_login(company.users["analyst"])

    html = client.get("/api/v1/docs").content.decode()

    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "retain API"
