"""Fuzzing every operation of docs/api/openapi.json (as the local run serves it on /openapi.json)
against the local run with schemathesis: valid and invalid (negative) data, with a real session.
Whatever is sent, the answer is never a 5xx and conforms to the document (status code, content
type, headers, body). Bounded: a few examples per operation, so it fits in `make test`.

Oversized and malformed bodies, which the generators do not produce, are sent explicitly."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config._checks import NegativeDataRejectionConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.http.conftest import LOOPBACK_ONLY
from tests.http.test_local_walkthrough import code_from_outbox

if TYPE_CHECKING:
    from tests.http.conftest import Throwaway

pytestmark = LOOPBACK_ONLY
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"

# Per operation and generation mode; FUZZ_MAX_EXAMPLES=<n> for a longer run by hand.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def open_session(real_api: Throwaway) -> str:
    """Signs a new user up and verifies through the outbox; returns the Bearer token."""
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
    with real_api.server.client() as client:
        started = client.post(
            "/api/auth/sign-up",
            json={
                "firstName": "Fuzz",
                "lastName": "Er",
                "email": email,
                "company": "Co",
                "phone": "+15551234567",
            },
        )
        assert started.status_code == 201, started.text
        code = code_from_outbox(real_api.outbox, email)
        verified = client.post(
            "/api/auth/verify", json={"challengeId": started.json()["challengeId"], "code": code}
        )
        assert verified.status_code == 200, verified.text
        token: str = verified.json()["token"]
        return token


@pytest.fixture(scope="module")
def fuzz_session(real_api: Throwaway) -> str:
    return open_session(real_api)


@pytest.fixture(scope="module")
def api_document(real_api: Throwaway) -> dict[str, Any]:
    with real_api.server.client() as client:
        answer = client.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(path, method) for path, item in document["paths"].items() for method in item]


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OPENAPI.read_text())
    return document


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("route", _operations(_document()), ids=" ".join)
def test_every_operation_answers_within_the_document(
    route: tuple[str, str],
    mode: GenerationMode,
    real_api: Throwaway,
    fuzz_session: str,
    api_document: dict[str, Any],
) -> None:
    path, method = route
    # The document as the local run serves it (test_openapi.py checks it is the generated one).
    operation = schemathesis.openapi.from_dict(api_document)[path][method.upper()]
    if mode is GenerationMode.NEGATIVE and not (
        operation.body or operation.path_parameters or operation.query
    ):
        pytest.skip("nothing to send wrong: no body and no parameters")
    # A malformed If-Match is a version that does not match: 412 version_mismatch, by design.
    operation.schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*NegativeDataRejectionConfig().expected_statuses, "412", "413"]
    )
    calls: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.generate],
    )
    def fuzz(case: Any) -> None:
        # Signing out would end the shared session: that operation gets a session of its own each time.
        token = open_session(real_api) if path == "/api/auth/sign-out" else fuzz_session
        response = case.call(base_url=real_api.server.url, headers={"Authorization": f"Bearer {token}"})
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    try:
        fuzz()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip("no schema-violating request can be sent to this operation")
    assert calls


def _bodied_operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("malformed", b'{"type": "profile.update", "firstName": '),
        ("not json", b"\xff\xfe<xml/>"),
        ("oversized", b'{"name": "' + b"x" * (7 * 1024 * 1024) + b'"}'),
    ],
)
def test_malformed_and_oversized_bodies_are_documented_4xx(
    kind: str, body: bytes, real_api: Throwaway, fuzz_session: str, api_document: dict[str, Any]
) -> None:
    seen = []
    with real_api.server.client(headers={"Authorization": f"Bearer {fuzz_session}"}) as client:
        for method, path in _bodied_operations(api_document):
            url = path.replace("{agentId}", "agent-nope")
            answer = client.request(
                method.upper(), url, content=body, headers={"Content-Type": "application/json"}
            )
            documented = api_document["paths"][path][method]["responses"]
            seen.append((method, path, answer.status_code))
            assert 400 <= answer.status_code < 500, (
                kind,
                method,
                path,
                answer.status_code,
                answer.text[:300],
            )
            assert str(answer.status_code) in documented, (kind, method, path, answer.status_code)
            error = json.loads(answer.content)["error"]
            assert set(error) == {"code", "message", "details"}, error
    assert seen
