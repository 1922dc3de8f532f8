"""The API's public surface survives refactors: every path, method and operationId that
clients were generated from (tests/api/openapi_paths.json, taken from the schema before
api/api.py was split into api/v1/) is still served, under the same URL."""

import json
from pathlib import Path

import pytest

SNAPSHOT = json.loads((Path(__file__).parent / "openapi_paths.json").read_text())


@pytest.mark.django_db
def test_every_published_operation_is_still_served(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    served = {
        path: {method: op["operationId"] for method, op in ops.items()}
        for path, ops in response.json()["paths"].items()
    }
    missing = {
        (path, method, op_id)
        for path, ops in SNAPSHOT.items()
        for method, op_id in ops.items()
        if served.get(path, {}).get(method) != op_id
    }
    assert not missing, f"operations no longer served as published: {sorted(missing)}"


@pytest.mark.django_db
def test_operation_ids_are_unique(client, admin_user):
    client.force_login(admin_user)
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids)) and len(ids) >= len(SNAPSHOT)


@pytest.mark.django_db
def test_followups_is_the_name_and_interactions_its_deprecated_alias(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for method in ("get", "post"):
        assert not paths["/api/v1/followups"][method].get("deprecated")
        assert paths["/api/v1/interactions"][method]["deprecated"] is True
    # one word for a follow-up record: both paths publish the FollowUp schemas
    names = set(schema["components"]["schemas"])
    assert {"FollowUpIn", "FollowUpOut"} <= names
    assert not {n for n in names if "Interaction" in n}
    for path in ("/api/v1/followups", "/api/v1/interactions"):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/FollowUpIn"}
