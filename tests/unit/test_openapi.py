"""docs/api/openapi.json is what `make openapi` (local/openapi.py) generates from template.yaml and the
contract models: a route or a model changed without regenerating fails here."""

from __future__ import annotations

import json

from local.openapi import OUTPUT, build, render, template_routes


def test_the_checked_in_document_is_the_generated_one() -> None:
    assert OUTPUT.read_text() == render(build()), "docs/api/openapi.json is stale: run `make openapi`"


def test_every_template_route_is_documented_with_its_security() -> None:
    document = json.loads(OUTPUT.read_text())
    for method, resource, secured in template_routes():
        if method == "ANY":
            continue
        operation = document["paths"][resource][method.lower()]
        assert bool(operation["security"]) == secured, (method, resource)
        if secured:
            assert "401" in operation["responses"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["cookieAuth"] == {"type": "apiKey", "in": "cookie", "name": "__Host-ciq_session"}
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error"]
