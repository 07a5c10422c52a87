"""Every route template.yaml declares is served by `python -m local` (the real template and
functions), behind the authorizer exactly when the template says so. The expected routes are read
from the template here, independently of the local run's own reading of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from local.template import load_template
from tests.http.conftest import LOOPBACK_ONLY

if TYPE_CHECKING:
    from tests.http.conftest import Throwaway

pytestmark = LOOPBACK_ONLY

ROOT = Path(__file__).resolve().parents[2]
# What a method-less ANY event is probed with, when the path has no explicit event for it.
_ANY_PROBES = ("PATCH", "DELETE", "PUT", "GET", "POST")


def declared_routes() -> list[tuple[str, str, bool]]:
    """(path, method, protected) of every Api event of every function in template.yaml."""
    template = load_template(ROOT / "template.yaml")
    routes = []
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event.get("Type") == "Api":
                props = event["Properties"]
                public = (props.get("Auth") or {}).get("Authorizer") == "NONE"
                routes.append((props["Path"], props["Method"].upper(), not public))
    return routes


def concrete(path: str) -> str:
    path = re.sub(r"\{[^}/]+\+\}", "a/b", path)
    return re.sub(r"\{[^}/]+\}", "x-1", path)


def probe_method(path: str, method: str, routes: list[tuple[str, str, bool]]) -> str:
    if method != "ANY":
        return method
    explicit = {m for p, m, _ in routes if p == path}
    return next(m for m in _ANY_PROBES if m not in explicit)


ROUTES = declared_routes()


def test_the_template_declares_routes() -> None:
    # Given template.yaml; Then it has routes for this test to check (guards against a silent no-op)
    assert len(ROUTES) >= 10


@pytest.mark.parametrize(("path", "method", "protected"), ROUTES, ids=[f"{m} {p}" for p, m, _ in ROUTES])
def test_every_template_route_is_served(real_api: Throwaway, path: str, method: str, protected: bool) -> None:
    # Given the local API on the real template
    verb = probe_method(path, method, ROUTES)
    with real_api.server.client() as client:
        # When the route is called without a session
        response = client.request(verb, concrete(path), headers={"Origin": "http://localhost:3001"})
    answered_by: Any = response.headers.get("x-local-gateway-response")
    # Then it is never the "no such route" answer
    assert answered_by != "MISSING_AUTHENTICATION_TOKEN", f"{verb} {path} is not served"
    if protected:
        # And a protected route reached the authorizer, which refused the missing session
        assert (response.status_code, answered_by) == (401, "UNAUTHORIZED")
    else:
        # And a public route reached its function
        assert answered_by is None, response.text


def test_a_path_the_template_does_not_declare_is_the_gateway_404(real_api: Throwaway) -> None:
    # Given the real template
    with real_api.server.client() as client:
        # When an undeclared path and a deeper path under a declared one are called
        responses = [client.get("/api/nothing-here"), client.get("/api/user-data/extra")]
    # Then both get the template's MISSING_AUTHENTICATION_TOKEN response in the contract shape
    for response in responses:
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "no such route", "details": []}}
