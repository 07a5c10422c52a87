"""The OpenAPI 3.1 document of the API (`make openapi` writes docs/api/openapi.json, checked in).

Built at development time from the two things the code itself uses: the routes of template.yaml (as
the local run reads them, local/stack.py) and the pydantic contract models (layers/shared/ciq). No
function imports this. A route of the template without an entry in ROUTES below (or the reverse)
fails the generation, and tests/unit/test_openapi.py fails when the checked-in file drifts.

    python -m local.openapi            # rewrite docs/api/openapi.json
    python -m local.openapi --check    # exit 1 if the checked-in file differs
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import models_json_schema

from local.template import ROOT, TEMPLATE_PATH

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic.json_schema import JsonSchemaMode

sys.path.insert(0, str(ROOT / "layers" / "shared"))  # the layer, as on Lambda's /opt/python

from ciq.auth.models import (
    ChallengeStarted,
    SessionOpened,
    SessionView,
    SignInRequest,
    SignUpRequest,
    VerifyRequest,
)
from ciq.contracts.account import AccountDeleteRequest, AccountExport
from ciq.contracts.base import BATCH_MAX, ApiModel
from ciq.contracts.entities import Agent, UserData
from ciq.contracts.imports import ImportRequest
from ciq.contracts.mutations import AgentCreate, AgentUpdate, Mutation, _Mutation
from ciq.contracts.setup_status import SetupMutation, SetupStatus

OUTPUT = ROOT / "docs" / "api" / "openapi.json"
REF = "#/components/schemas/{model}"


# Envelopes of the answers (CONTRACT §4): thin wrappers around the contract models, documentation only.
class MutationBatch(ApiModel):
    mutations: Annotated[list[Mutation], Field(min_length=1, max_length=BATCH_MAX)]


class UserDataMutationRequest(RootModel[Annotated[Mutation, Field()] | MutationBatch]):
    """One mutation, or `{"mutations": [...]}` applied atomically."""


class SetupStatusMutationRequest(RootModel[Annotated[SetupMutation, Field(discriminator="type")]]):
    """Exactly one Get Started lifecycle mutation."""


class UserDataAnswer(ApiModel):
    data: UserData
    version: int


class MutationResult(ApiModel):
    type: str
    id: str
    knowledge_base_id: str | None = None
    agent_id: str | None = None


class UserDataMutationAnswer(UserDataAnswer):
    results: list[MutationResult]


class LiveAgentsList(ApiModel):
    agents: list[Agent]
    source: Literal["live", "store"]
    degraded: bool


class LiveAgentAnswer(ApiModel):
    agent: Agent
    source: Literal["live", "store"]
    degraded: bool


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="JSON Pointer into the request ('' for the whole)")
    code: str
    message: str


class ErrorInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="snake_case error code (CONTRACT §9 Errors)")
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: ErrorInfo


# What the live-agents bodies are: the agent mutations without the fields the route implies.
_DERIVED_BODIES = {
    "LiveAgentCreate": (AgentCreate, ("type",)),
    "LiveAgentUpdate": (AgentUpdate, ("type", "agentId")),
}

_GATEWAY = (403, 413, 429, 500, 502, 503, 504)  # API Gateway's own answers and outages, on any route
_WRITE = (400, 403, 404, 409, 412, 413, 415, 422)
_ERROR_TEXT = {
    400: "malformed JSON, unknown mutation or wrong code",
    401: "no valid session",
    403: "a cookie-authenticated write from a foreign Origin, or refused by the authorizer",
    404: "not found (or not yours)",
    405: "method not allowed",
    409: "invariant, version or import conflict",
    410: "challenge expired",
    412: "If-Match does not match the current version",
    413: "body, batch or aggregate too large",
    415: "the body is not declared application/json",
    422: "schema validation failed (details carry JSON Pointers)",
    429: "rate limited or throttled",
    500: "internal error",
    502: "bad gateway",
    503: "dependency unavailable",
    504: "timed out",
}
_RETRY_AFTER = (409, 429, 503)


@dataclass(frozen=True)
class Op:
    summary: str
    status: int
    answer: str | None  # component name of the success body; None: no body
    body: str | None = None  # component name of the request body
    errors: tuple[int, ...] = ()
    etag: bool = False
    writes: bool = False  # If-Match and Idempotency-Key
    query: tuple[str, ...] = ()
    set_cookie: bool = False
    tags: tuple[str, ...] = field(default=())


# (method, resource) -> operation. Every non-OPTIONS, non-ANY route of template.yaml has one.
ROUTES: dict[tuple[str, str], Op] = {
    ("POST", "/api/auth/sign-up"): Op(
        "Start a sign-up (sends a code)", 201, "ChallengeStarted", "SignUpRequest", (400, 409, 422)
    ),
    ("POST", "/api/auth/sign-in"): Op(
        "Start a sign-in (sends a code)", 201, "ChallengeStarted", "SignInRequest", (400, 404, 422)
    ),
    ("POST", "/api/auth/verify"): Op(
        "Verify a code; opens a session",
        200,
        "SessionOpened",
        "VerifyRequest",
        (400, 404, 410, 422),
        set_cookie=True,
    ),
    ("GET", "/api/auth/session"): Op("The current session", 200, "SessionView", None, (401,)),
    ("POST", "/api/auth/sign-out"): Op("Sign out", 204, None, None, (401,), set_cookie=True),
    ("GET", "/api/account/export"): Op(
        "Everything stored about the caller", 200, "AccountExport", None, (401,)
    ),
    ("DELETE", "/api/account"): Op(
        "Erase the account (a fresh sign-in code required)",
        204,
        None,
        "AccountDeleteRequest",
        (400, 401, 404, 410, 422, 429),
        set_cookie=True,
    ),
    ("GET", "/api/user-data"): Op("The caller's data", 200, "UserDataAnswer", None, (401,), etag=True),
    ("POST", "/api/user-data"): Op(
        "Apply one mutation or a batch",
        200,
        "UserDataMutationAnswer",
        "UserDataMutationRequest",
        (401, *_WRITE),
        etag=True,
        writes=True,
    ),
    ("PUT", "/api/user-data"): Op(
        "Import a whole document",
        200,
        "UserDataAnswer",
        "ImportRequest",
        (401, *_WRITE),
        etag=True,
        writes=True,
    ),
    ("GET", "/api/setup-status"): Op("The Get Started status", 200, "SetupStatus", None, (401,), etag=True),
    ("PATCH", "/api/setup-status"): Op(
        "Apply one Get Started mutation",
        200,
        "SetupStatus",
        "SetupStatusMutationRequest",
        (401, *_WRITE),
        etag=True,
        writes=True,
    ),
    ("GET", "/api/live-agents"): Op(
        "The caller's agents, synced",
        200,
        "LiveAgentsList",
        None,
        (401, 404, 422),
        etag=True,
        query=("workspaceId",),
    ),
    ("POST", "/api/live-agents"): Op(
        "Create an agent", 201, "LiveAgentAnswer", "LiveAgentCreate", (401, *_WRITE), etag=True, writes=True
    ),
    ("PATCH", "/api/live-agents/{agentId}"): Op(
        "Update an agent", 200, "LiveAgentAnswer", "LiveAgentUpdate", (401, *_WRITE), etag=True, writes=True
    ),
    ("DELETE", "/api/live-agents/{agentId}"): Op(
        "Delete an agent", 200, "LiveAgentAnswer", None, (401, *_WRITE), etag=True, writes=True
    ),
}

# Requests are validated models, answers serialized ones (their defaults are always present).
_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (SignUpRequest, "validation"),
    (SignInRequest, "validation"),
    (VerifyRequest, "validation"),
    (AccountDeleteRequest, "validation"),
    (UserDataMutationRequest, "validation"),
    (ImportRequest, "validation"),
    (SetupStatusMutationRequest, "validation"),
    (AgentCreate, "validation"),
    (AgentUpdate, "validation"),
    (ChallengeStarted, "serialization"),
    (SessionOpened, "serialization"),
    (SessionView, "serialization"),
    (AccountExport, "serialization"),
    (UserDataAnswer, "serialization"),
    (UserDataMutationAnswer, "serialization"),
    (SetupStatus, "serialization"),
    (LiveAgentsList, "serialization"),
    (LiveAgentAnswer, "serialization"),
    (ErrorBody, "serialization"),
]


def template_routes(template_path: Path = TEMPLATE_PATH) -> list[tuple[str, str, bool]]:
    """(method, resource, needs a session) of every route template.yaml declares, as the local run
    reads it."""
    from local.config import LocalConfig
    from local.run import plan

    stack = plan(LocalConfig.from_environ({}, template_path)).stack
    return [(route.method, route.resource, route.authorizer is not None) for route in stack.routes]


def components() -> dict[str, Any]:
    refs, schema = models_json_schema(_MODELS, by_alias=True, ref_template=REF)
    schemas: dict[str, Any] = schema.get("$defs", {})
    names = {model.__name__: refs[(model, mode)]["$ref"].rsplit("/", 1)[1] for model, mode in _MODELS}
    for new, (model, dropped) in _DERIVED_BODIES.items():
        derived = json.loads(json.dumps(schemas[names[model.__name__]]))
        derived["title"] = new
        for name in dropped:
            derived["properties"].pop(name, None)
            if name in derived.get("required", []):
                derived["required"].remove(name)
        if not derived.get("required", True):
            derived.pop("required")
        schemas[new] = derived
        names[new] = new
    _not_nullable(schemas)
    # Stable, plain names for the route table (pydantic suffixes -Input/-Output only on conflicts).
    for plain, actual in names.items():
        if plain != actual and plain not in schemas:
            schemas[plain] = {"$ref": REF.format(model=actual)}
    return dict(sorted(schemas.items()))


def _mutation_classes() -> list[type[_Mutation]]:
    found, todo = [], list(_Mutation.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _not_nullable(schemas: dict[str, Any]) -> None:
    """In a mutation an optional field may be left out but is not null unless it can be cleared
    (`_Mutation.nullable`); pydantic renders `X | None = None` as nullable, so the null goes."""
    for cls in _mutation_classes():
        for name in (cls.__name__, f"{cls.__name__}-Input", *(_derived_of(cls))):
            properties = (schemas.get(name) or {}).get("properties") or {}
            for field_name, info in cls.model_fields.items():
                prop = properties.get(info.alias or field_name)
                if prop is None or field_name in cls.nullable or "anyOf" not in prop:
                    continue
                kept = [item for item in prop["anyOf"] if item != {"type": "null"}]
                prop.pop("default", None)
                if len(kept) == 1:
                    prop.pop("anyOf")
                    prop.update(kept[0])
                else:
                    prop["anyOf"] = kept


def _derived_of(cls: type[_Mutation]) -> list[str]:
    return [new for new, (model, _) in _DERIVED_BODIES.items() if model is cls]


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=ref)}}}


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


def operation(method: str, resource: str, op: Op, secured: bool) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _path_parameters(resource)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in op.query
    ]
    if op.writes:
        parameters += [
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": 'the version this write expects, `"<version>"` (412 version_mismatch)',
                "schema": {"type": "string"},
            },
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "a replay within 24 h returns the first answer (422 if the body differs)",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            },
        ]
    success: dict[str, Any] = {"description": op.summary}
    headers: dict[str, Any] = {}
    if op.etag:
        headers["ETag"] = _header('the account version, `"<version>"`')
    if op.set_cookie:
        headers["Set-Cookie"] = _header("the `__Host-ciq_session` cookie (set, or cleared on sign-out)")
    if headers:
        success["headers"] = headers
    if op.answer:
        success["content"] = _json(op.answer)
    responses: dict[str, Any] = {str(op.status): success}
    for status in sorted({*op.errors, *_GATEWAY} - ({401} if not secured else set())):
        error: dict[str, Any] = {"description": _ERROR_TEXT[status], "content": _json("ErrorBody")}
        if status in _RETRY_AFTER:
            error["headers"] = {"Retry-After": _header("seconds to wait before retrying")}
        responses[str(status)] = error
    if secured:
        responses.setdefault("401", {"description": _ERROR_TEXT[401], "content": _json("ErrorBody")})
        responses = dict(sorted(responses.items()))
    built: dict[str, Any] = {
        "operationId": f"{method.lower()}{''.join(p.title() for p in _words(resource))}",
        "summary": op.summary,
        "tags": [resource.split("/")[2]],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}] if secured else [],
    }
    if parameters:
        built["parameters"] = parameters
    if op.body:
        built["requestBody"] = {"required": True, "content": _json(op.body)}
    built["responses"] = responses
    return built


def _preflight() -> dict[str, Any]:
    return {
        "summary": "CORS preflight (no session needed)",
        "tags": ["cors"],
        "security": [],
        "responses": {
            "204": {"description": "the CORS headers for an allowed origin"},
            "403": {"description": "refused", "content": _json("ErrorBody")},
        },
    }


def _path_parameters(resource: str) -> list[str]:
    return [part[1:-1] for part in resource.split("/") if part.startswith("{") and part.endswith("}")]


def _words(resource: str) -> list[str]:
    parts = [p.strip("{}") for p in resource.split("/")[2:]]
    return [w for p in parts for w in p.replace("-", " ").replace("_", " ").split()]


def build(template_path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    routes = template_routes(template_path)
    declared = {(method, resource) for method, resource, _ in routes if method not in {"OPTIONS", "ANY"}}
    if declared != set(ROUTES):
        undocumented, gone = sorted(declared - set(ROUTES)), sorted(set(ROUTES) - declared)
        raise SystemExit(
            f"local/openapi.py ROUTES and template.yaml disagree: undocumented {undocumented}, "
            f"not in the template {gone}"
        )
    paths: dict[str, dict[str, Any]] = {}
    for method, resource, secured in sorted(routes, key=lambda r: (r[1], r[0])):
        item = paths.setdefault(resource, {})
        if method == "OPTIONS":
            item["options"] = _preflight()
        elif method != "ANY":
            item[method.lower()] = operation(method, resource, ROUTES[(method, resource)], secured)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ConversionIQ API",
            "version": "1",
            "description": (
                "Generated by `make openapi` (local/openapi.py) from template.yaml and the pydantic "
                "contract models; do not edit by hand. Errors are `{error: {code, message, details}}` "
                "(docs/api/errors.md). A known route with another method answers 405 method_not_allowed."
            ),
        },
        "servers": [{"url": "http://localhost:3000", "description": "the local run (make run)"}],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "the token of verify"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "__Host-ciq_session"},
            },
        },
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/api/openapi.json is stale")
    arguments = parser.parse_args(argv)
    fresh = render(build())
    if arguments.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != fresh:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(fresh)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
