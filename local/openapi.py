"""The OpenAPI 3.1 document of the API (`make openapi` writes docs/api/openapi.json, checked in, and
its browsable rendering docs/api/reference.html, local/reference.py).

Built at development time from what the code itself uses, never from a table kept here:
- the routes of template.yaml (as the local run reads them, local/stack.py): which exist, which need
  a session, and API Gateway's own answers (GatewayResponses);
- each route's facts, declared beside its handler (`Api.route(...)` in functions/*/app.py,
  `ciq.web.api.RouteFacts`): summary, request and answer models, the errors its rules raise;
- the error codes of `ciq.errors` and the pydantic contract models.
No function imports this. A template route without a declaration (or the reverse) fails the
generation, and tests/unit/test_openapi.py fails when the checked-in file drifts or stops validating.

    python -m local.openapi            # rewrite docs/api/openapi.json
    python -m local.openapi --check    # exit 1 if the checked-in file differs
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import models_json_schema

from local.reference import render_reference
from local.template import ROOT, TEMPLATE_PATH

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from pydantic.json_schema import JsonSchemaMode

    from local.stack import Stack

sys.path.insert(0, str(ROOT / "layers" / "shared"))  # the layer, as on Lambda's /opt/python

from ciq import errors
from ciq.auth.models import (
    ChallengeStarted,
    SessionOpened,
    SessionView,
    SignInRequest,
    SignUpRequest,
    VerifyRequest,
)
from ciq.contracts.account import AccountDeleteRequest, AccountExport
from ciq.contracts.base import BATCH_MAX, ApiModel, absent_if_none
from ciq.contracts.entities import (
    Agent,
    Connection,
    Group,
    KnowledgeBase,
    NodePositions,
    Profile,
    UserData,
    Workspace,
)
from ciq.contracts.imports import ImportRequest
from ciq.contracts.mutations import AgentCreate, AgentUpdate, Mutation, _Mutation
from ciq.contracts.setup_status import SetupMutation, SetupStatus
from ciq.web import api as web_api
from ciq.web.cors import ALLOW_HEADERS, EXPOSE_HEADERS

OUTPUT = ROOT / "docs" / "api" / "openapi.json"
REFERENCE = ROOT / "docs" / "api" / "reference.html"  # the same, as one browsable page
SAMCONFIG = ROOT / "samconfig.toml"
REF = "#/components/schemas/{model}"
# The local run's default address (`make run`; PORT=... changes it).
LOCAL_URL = "http://localhost:4000"


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
    """What one mutation made: the id it created or changed; a new workspace's KB and agent too."""

    type: str
    id: str
    knowledge_base_id: str | None = absent_if_none()
    agent_id: str | None = absent_if_none()


class UserDataMutationAnswer(UserDataAnswer):
    results: list[MutationResult]


class UserDataChanges(ApiModel):
    """Entities that are new or differ after the write, whole; a list with none is left out."""

    groups: list[Group] | None = absent_if_none()
    workspaces: list[Workspace] | None = absent_if_none()
    knowledge_bases: list[KnowledgeBase] | None = absent_if_none()
    agents: list[Agent] | None = absent_if_none()
    connections: list[Connection] | None = absent_if_none()


class UserDataMinimalAnswer(ApiModel):
    """`Prefer: return=minimal`: what the write changed, to apply to the data held at `baseVersion`
    (docs/api/user-data.md "Minimal answers")."""

    changed: UserDataChanges
    removed: list[str] = Field(description="ids that are gone, from any list")
    order: dict[str, list[str]] | None = absent_if_none()
    profile: Profile | None = absent_if_none()
    node_positions: NodePositions | None = absent_if_none()
    schema_version: int | None = absent_if_none()
    base_version: int
    version: int
    results: list[MutationResult] | None = absent_if_none()


class UserDataDelta(ApiModel):
    """`GET /api/user-data?since=<version>`: the root fields, the whole workspace order, and each
    workspace written after `baseVersion` with all its children, which replace the held ones
    (docs/api/user-data.md "Delta reads"). A held workspace missing from `workspaceOrder` is gone."""

    schema_version: int
    profile: Profile
    groups: list[Group]
    workspace_order: list[str]
    workspaces: list[Workspace]
    knowledge_bases: list[KnowledgeBase]
    agents: list[Agent]
    connections: list[Connection]
    node_positions: NodePositions
    base_version: int
    version: int


class FullReadNeeded(ApiModel):
    """`GET /api/user-data?since=<version>` when only a full read can answer."""

    full: Literal[True]
    version: int


class LiveTicket(ApiModel):
    """A single-use ticket for the live-updates WebSocket (docs/api/live-updates.md): open
    `url?ticket=<ticket>` before `expiresAt` (60 s)."""

    ticket: str = Field(description="43 URL-safe characters; valid for one connection")
    expires_at: str = Field(description="ISO 8601 UTC timestamp with milliseconds")
    url: str = Field(description="the WebSocket URL (wss:// on AWS, ws://localhost:<port> locally)")


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
    code: str = Field(description="what is wrong there: a pydantic error type or one of the API's own")
    message: str


class ErrorInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str  # replaced by the ErrorCode enum below
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    """Every error the API itself answers (docs/api/errors.md)."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorInfo


# What the live-agents bodies are: the agent mutations without the fields the route implies.
_DERIVED_BODIES = {
    "LiveAgentCreate": (AgentCreate, ("type",)),
    "LiveAgentUpdate": (AgentUpdate, ("type", "agentId")),
}

# Requests are validated models, answers serialized ones.
_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (SignUpRequest, "validation"),
    (SignInRequest, "validation"),
    (VerifyRequest, "validation"),
    (AccountDeleteRequest, "validation"),
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
    (AccountExport, "serialization"),
    (UserDataAnswer, "serialization"),
    (UserDataMutationAnswer, "serialization"),
    (UserDataMinimalAnswer, "serialization"),
    (UserDataDelta, "serialization"),
    (FullReadNeeded, "serialization"),
    (SetupStatus, "serialization"),
    (LiveTicket, "serialization"),
    (LiveAgentsList, "serialization"),
    (LiveAgentAnswer, "serialization"),
    (ErrorBody, "serialization"),
]

# -- errors every route of a kind can answer (the rest are declared beside each route) -------------

_ANY_ROUTE = (errors.RateLimited, errors.InternalError, errors.DependencyUnavailable)  # throttle, bug, outage
_WITH_BODY = (
    errors.InvalidJson,
    errors.PayloadTooLarge,
    errors.UnsupportedMediaType,  # a write whose body is not declared application/json (CSRF)
    errors.ValidationFailed,
)
_WITH_SESSION = (errors.Unauthorized, errors.Forbidden)
_WRITES = (
    errors.VersionMismatch,
    errors.IdempotencyKeyReused,
    errors.ValidationFailed,  # a malformed Idempotency-Key
    errors.ConcurrentModification,
)
_RETRY_AFTER = (409, 429, 503)
_STATUS_TEXT = {
    400: "bad request",
    401: "no valid session (the authorizer's answer, before the function runs)",
    403: "this session may not make this request",
    404: "not found (or not the caller's)",
    409: "conflict",
    410: "gone",
    412: "If-Match does not name the current version (a malformed If-Match included)",
    413: "too large",
    415: "the body must be sent as Content-Type: application/json",
    422: "the request does not match the schema (details carry JSON Pointers)",
    429: "too many requests",
    500: "internal error",
    502: "the function failed (crash, timeout after its configured seconds, or an answer over 6 MB)",
    503: "a dependency is unavailable",
    504: "API Gateway's 29 s integration timeout",
}


def error_codes(stack: Stack) -> list[str]:
    """Every `error.code` the API answers: the layer's error classes and the template's own
    GatewayResponses (`invalid_request` exists only there)."""
    codes = {cls.code for cls in _subclasses(errors.AppError)} | {errors.AppError.code}
    for api in stack.apis.values():
        for response in api.gateway_responses.values():
            for template in response.templates.values():
                codes.update(re.findall(r'"code"\s*:\s*"([a-z_]+)"', template))
    return sorted(codes)


def _subclasses(cls: type[Any]) -> list[type[Any]]:
    found, todo = [], list(cls.__subclasses__())
    while todo:
        sub = todo.pop()
        found.append(sub)
        todo.extend(sub.__subclasses__())
    return found


# -- the template and the declared routes -----------------------------------------------------------


def read_template_stack(template_path: Path = TEMPLATE_PATH) -> Stack:
    from local.config import LocalConfig
    from local.run import plan

    return plan(LocalConfig.from_environ({}, template_path)).stack


def template_routes(template_path: Path = TEMPLATE_PATH) -> list[tuple[str, str, bool]]:
    """(method, resource, needs a session) of every route template.yaml declares, as the local run
    reads it."""
    stack = read_template_stack(template_path)
    return [(route.method, route.resource, route.authorizer is not None) for route in stack.routes]


def declared_routes(stack: Stack) -> dict[tuple[str, str], web_api.RouteFacts]:
    """Imports every function of the template (as the local run does) so that each registers its
    routes' facts in `ciq.web.api.DECLARED`."""
    from local.functions import add_layers, load_functions

    functions = [stack.functions[i] for i in sorted({route.function_id for route in stack.routes})]
    add_layers(functions)
    for loaded in load_functions(functions, {}).values():
        if loaded.error:
            raise SystemExit(f"{loaded.spec.logical_id} does not import:\n{loaded.error}")
    return dict(web_api.DECLARED)


# -- components -------------------------------------------------------------------------------------


def components(codes: Iterable[str]) -> dict[str, Any]:
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
    _omitted_when_empty(schemas, names)
    _always_present(schemas, names)
    schemas["ErrorCode"] = {
        "title": "ErrorCode",
        "description": "snake_case, stable: clients branch on it (docs/api/errors.md)",
        "type": "string",
        "enum": list(codes),
    }
    schemas["ErrorInfo"]["properties"]["code"] = {"$ref": REF.format(model="ErrorCode")}
    # Stable, plain names for the routes (pydantic suffixes -Input/-Output only on conflicts).
    for plain, actual in names.items():
        if plain != actual and plain not in schemas:
            schemas[plain] = {"$ref": REF.format(model=actual)}
    for name, component in schemas.items():
        _drop_inner_titles(component, top=True)
        component["title"] = name.replace("-", "")
    return dict(sorted(schemas.items()))


def _models_by_name() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for cls in _subclasses(BaseModel):
        if cls.__module__.startswith(("ciq.", __name__)) and not cls.__name__.startswith("_"):
            found.setdefault(cls.__name__, cls)
    return found


def _component_models(
    schemas: dict[str, Any], names: dict[str, str]
) -> Iterable[tuple[dict[str, Any], type[BaseModel]]]:
    """(schema, model class) of each component that only answers describe (never a request)."""
    models = _models_by_name()
    requests = _reachable(schemas, [names[m.__name__] for m, mode in _MODELS if mode == "validation"])
    for name, schema in schemas.items():
        base, _, _suffix = name.partition("-")
        cls = models.get(base)
        if cls is not None and "properties" in schema and name not in requests:
            yield schema, cls


def _reachable(schemas: dict[str, Any], roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [
            ref.rsplit("/", 1)[1] for ref in re.findall(r'"\$ref": "([^"]+)"', json.dumps(schemas[name]))
        ]
    return seen


def _omitted_when_empty(schemas: dict[str, Any], names: dict[str, str]) -> None:
    """A field declared `absent_if_none()` is left out of the answer when it has no value: in an
    answer's schema it is optional and never null (TypeScript `field?: T`)."""
    for schema, cls in _component_models(schemas, names):
        for field_name, info in cls.model_fields.items():
            prop = schema["properties"].get(info.alias or field_name)
            if prop is not None and getattr(info, "exclude_if", None) is not None:
                _strip_null(prop)


def _always_present(schemas: dict[str, Any], names: dict[str, str]) -> None:
    """Every other field of an answer is always sent (its default included): required."""
    for schema, cls in _component_models(schemas, names):
        required = [
            info.alias or name
            for name, info in cls.model_fields.items()
            if getattr(info, "exclude_if", None) is None and (info.alias or name) in schema["properties"]
        ]
        schema["required"] = required


def _strip_null(prop: dict[str, Any]) -> None:
    prop.pop("default", None)
    if "anyOf" not in prop:
        return
    kept = [item for item in prop["anyOf"] if item != {"type": "null"}]
    if len(kept) == 1:
        prop.pop("anyOf")
        prop.update(kept[0])
    else:
        prop["anyOf"] = kept


def _not_nullable(schemas: dict[str, Any]) -> None:
    """In a mutation an optional field may be left out but is not null unless it can be cleared
    (`_Mutation.nullable`); pydantic renders `X | None = None` as nullable, so the null goes."""
    for cls in _subclasses(_Mutation):
        for name in (cls.__name__, f"{cls.__name__}-Input", *(_derived_of(cls))):
            properties = (schemas.get(name) or {}).get("properties") or {}
            for field_name, info in cls.model_fields.items():
                prop = properties.get(info.alias or field_name)
                if prop is None or field_name in cls.nullable or "anyOf" not in prop:
                    continue
                _strip_null(prop)


def _derived_of(cls: type[_Mutation]) -> list[str]:
    return [new for new, (model, _) in _DERIVED_BODIES.items() if model is cls]


def _drop_inner_titles(node: Any, *, top: bool = False) -> None:
    """pydantic titles every property ("Knowledgebaseid"); generators would name types after them.
    Only components keep a title (their own name)."""
    if isinstance(node, dict):
        if not top and isinstance(node.get("title"), str):
            node.pop("title")
        for key, value in node.items():
            # `properties` maps field names to schemas: a field called "title" is not a title.
            children = value.values() if key in {"properties", "$defs"} else [value]
            for child in children:
                _drop_inner_titles(child)
    elif isinstance(node, list):
        for item in node:
            _drop_inner_titles(item)


# -- operations -------------------------------------------------------------------------------------


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=ref)}}}


def _header(description: str, **schema: Any) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string", **schema}}


_NO_STORE = _header("`no-store`: answers about an account are never cached", enum=["no-store"])


def operation(facts: web_api.RouteFacts, secured: bool, resource: str) -> dict[str, Any]:
    parameters = _path_parameter_objects(resource)
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in facts.query
    ]
    if facts.writes:
        parameters += [
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": (
                    'the version this write expects: `"<version>"` as an ETag returned it (`W/"7"` and '
                    "`7` too). `*` or no header: no version check. Anything else is 412."
                ),
                "schema": {"type": "string"},
            },
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": (
                    "one per logical write, reused on its retries: a replay within 24 h answers the "
                    "first answer (with `Idempotent-Replayed: true`); the same key with a different "
                    "JSON body is 422 idempotency_key_reused"
                ),
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
            },
        ]
    if facts.minimal_answer:
        parameters.append({
            "name": "Prefer",
            "in": "header",
            "required": False,
            "description": (
                "`return=minimal` answers what the write changed (`" + facts.minimal_answer + "`) "
                "instead of the whole data; other preferences are ignored"
            ),
            "schema": {"type": "string"},
        })
    conditional = facts.versioned and facts.method == "GET"
    if conditional:
        parameters.append({
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": (
                '`"<version>"` (weak tags, lists and `*` too): 304 when the stored version is one the '
                "client holds; a value that is not such ETags is ignored"
            ),
            "schema": {"type": "string"},
        })
    status, answer = next(iter(facts.answers.items()))
    success: dict[str, Any] = {"description": facts.summary, "headers": _success_headers(facts)}
    if answer and facts.minimal_answer:
        refs = [{"$ref": REF.format(model=model)} for model in (answer, facts.minimal_answer)]
        success["content"] = {"application/json": {"schema": {"oneOf": refs}}}
    elif answer:
        success["content"] = _json(answer)
    responses: dict[str, Any] = {str(status): success, **_error_responses(facts, secured)}
    if conditional:
        responses["304"] = {
            "description": "not modified: the client holds the current version (no body)",
            "headers": {k: v for k, v in _success_headers(facts).items() if k in {"ETag", "Cache-Control"}},
        }
    built: dict[str, Any] = {
        "operationId": _operation_id(facts.method, resource),
        "summary": facts.summary,
        "tags": [resource.split("/")[2]],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}] if secured else [],
    }
    if facts.description:
        built["description"] = facts.description
    if parameters:
        built["parameters"] = parameters
    if facts.body:
        built["requestBody"] = {"required": True, "content": _json(facts.body)}
    built["responses"] = dict(sorted(responses.items()))
    return built


def _success_headers(facts: web_api.RouteFacts) -> dict[str, Any]:
    headers: dict[str, Any] = {"Cache-Control": _NO_STORE}
    if facts.versioned:
        headers["ETag"] = _header(
            'the account version after this request, `"<version>"`', pattern='^"[0-9]+"$'
        )
    if facts.writes:
        headers["Idempotent-Replayed"] = _header(
            "`true` when this is the stored answer of an earlier request with the same Idempotency-Key",
            enum=["true"],
        )
    if facts.sets_cookie:
        headers["Set-Cookie"] = _header("the session cookie (set by verify, cleared by sign-out)")
    return headers


def _error_responses(facts: web_api.RouteFacts, secured: bool) -> dict[str, Any]:
    raised: list[type[errors.AppError]] = [*_ANY_ROUTE, *facts.errors]
    if facts.body:
        raised += _WITH_BODY
    if secured:
        raised += _WITH_SESSION
    if facts.writes:
        raised += _WRITES
    by_status: dict[int, set[str]] = {}
    for cls in raised:
        by_status.setdefault(cls.status, set()).add(cls.code)
    by_status.setdefault(413, set()).add(errors.PayloadTooLarge.code)  # API Gateway's 10 MB, any route
    by_status[504] = {errors.DependencyUnavailable.code}  # INTEGRATION_TIMEOUT
    responses: dict[str, Any] = {}
    for status, codes in sorted(by_status.items()):
        listed = ", ".join(f"`{code}`" for code in sorted(codes))
        response: dict[str, Any] = {"description": f"{_STATUS_TEXT[status]}: {listed}"}
        headers: dict[str, Any] = {}
        if status in _RETRY_AFTER:
            headers["Retry-After"] = _header("seconds to wait before retrying", pattern="^[0-9]+$")
        headers["Cache-Control"] = _NO_STORE
        if headers:
            response["headers"] = headers
        response["content"] = _json("ErrorBody")
        responses[str(status)] = response
    responses["502"] = {
        "description": _STATUS_TEXT[502],
        "headers": {"Cache-Control": _NO_STORE},
        "content": _json("ErrorBody"),
    }
    return responses


def _preflight(resource: str, methods: list[str]) -> dict[str, Any]:
    cors = {
        "Access-Control-Allow-Origin": _header("the request's Origin, when the stage's allow-list has it"),
        "Access-Control-Allow-Credentials": _header("`true`", enum=["true"]),
        "Access-Control-Allow-Methods": _header(f"`{', '.join(methods)}`"),
        "Access-Control-Allow-Headers": _header(f"`{ALLOW_HEADERS}`"),
        "Access-Control-Max-Age": _header("seconds a browser may cache this answer"),
    }
    built: dict[str, Any] = {
        "operationId": _operation_id("OPTIONS", resource),
        "summary": "CORS preflight (no session needed)",
        "description": (
            "Answers 204 to every origin; the CORS headers are present only for an origin of the "
            "stage's allow-list. Browsers send it themselves."
        ),
        "tags": ["cors"],
        "security": [],
    }
    if parameters := _path_parameter_objects(resource):
        built["parameters"] = parameters
    built["responses"] = {"204": {"description": "the CORS headers for an allowed origin", "headers": cors}}
    return built


def _path_parameter_objects(resource: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _path_parameters(resource)
    ]


def _path_parameters(resource: str) -> list[str]:
    return [part[1:-1] for part in resource.split("/") if part.startswith("{") and part.endswith("}")]


def _operation_id(method: str, resource: str) -> str:
    parts = [p.strip("{}") for p in resource.split("/")[2:]]
    words = [w for p in parts for w in p.replace("-", " ").replace("_", " ").split()]
    return f"{method.lower()}{''.join(w[:1].upper() + w[1:] for w in words)}"


def _method_not_allowed() -> dict[str, Any]:
    return {
        "description": (
            "A known path with a method it does not have (after the authorizer, on routes that need "
            "a session): `method_not_allowed`."
        ),
        "headers": {
            "Allow": _header("the methods of this path, `OPTIONS` included, e.g. `GET, OPTIONS, POST, PUT`"),
            "Cache-Control": _NO_STORE,
        },
        "content": _json("ErrorBody"),
    }


def _servers() -> list[dict[str, Any]]:
    servers: list[dict[str, Any]] = [
        {"url": LOCAL_URL, "description": "the local run (`make run`; PORT=...)"}
    ]
    config = tomllib.loads(SAMCONFIG.read_text())
    for environment, sections in config.items():
        if not isinstance(sections, dict):
            continue  # `version`
        overrides = ((sections.get("deploy") or {}).get("parameters") or {}).get("parameter_overrides") or []
        stage = next((o.split("=", 1)[1] for o in overrides if o.startswith("Stage=")), None)
        if stage is None:
            continue
        servers.append(
            {
                "url": f"https://{{apiId}}.execute-api.{{region}}.amazonaws.com/{stage}",
                "description": f"the {stage} stage (`sam deploy --config-env {environment}`, its ApiUrl)",
                "variables": {
                    "apiId": {"default": "apiId", "description": "the API's id (the stack's ApiUrl output)"},
                    "region": {"default": "us-east-1", "description": "the region the stack is deployed in"},
                },
            }
        )
    return servers


def build(template_path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    stack = read_template_stack(template_path)
    routes = [(route.method, route.resource, route.authorizer is not None) for route in stack.routes]
    facts = declared_routes(stack)
    in_template = {(method, resource) for method, resource, _ in routes if method not in {"OPTIONS", "ANY"}}
    if in_template != set(facts):
        undeclared, gone = sorted(in_template - set(facts)), sorted(set(facts) - in_template)
        raise SystemExit(
            f"routes declared in functions/*/app.py and template.yaml disagree: not declared {undeclared}, "
            f"not in the template {gone}"
        )
    paths: dict[str, dict[str, Any]] = {}
    for method, resource, secured in sorted(routes, key=lambda r: (r[1], r[0])):
        if method not in {"OPTIONS", "ANY"}:
            paths.setdefault(resource, {})[method.lower()] = operation(
                facts[(method, resource)], secured, resource
            )
    for resource, item in paths.items():  # every path answers a preflight (OPTIONS, or ANY without a session)
        methods = sorted({*(m.upper() for m in item), "OPTIONS"})
        item["options"] = _preflight(resource, methods)
        paths[resource] = dict(sorted(item.items()))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ConversionIQ API",
            "version": "1",
            "description": (
                "Generated by `make openapi` (local/openapi.py) from template.yaml, the route facts "
                "declared beside each handler and the pydantic contract models; do not edit by hand. "
                "Errors are `{error: {code, message, details}}` (docs/api/errors.md), a failed "
                "function's 500/502 too (the template's DEFAULT_5XX gateway response). "
                "A known path with another method answers 405 `method_not_allowed` with `Allow` "
                "(`components.responses.MethodNotAllowed`). Browsers: CORS with credentials for the "
                f"stage's allow-list, allowing `{ALLOW_HEADERS}` and exposing `{EXPOSE_HEADERS}`."
            ),
        },
        "servers": _servers(),
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "tags": [
            {"name": "auth", "description": "docs/api/auth.md"},
            {"name": "user-data", "description": "docs/api/user-data.md"},
            {"name": "setup-status", "description": "docs/api/setup-status.md"},
            {"name": "live-agents", "description": "docs/api/live-agents.md"},
            {"name": "live", "description": "docs/api/live-updates.md"},
            {"name": "cors", "description": "preflights"},
        ],
        "paths": paths,
        "components": {
            "schemas": components(error_codes(stack)),
            "responses": {"MethodNotAllowed": _method_not_allowed()},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "the token of verify"},
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": _cookie_name(),
                    "description": "the session cookie verify sets (HttpOnly)",
                },
            },
        },
    }


def _cookie_name() -> str:
    from ciq.auth import cookies

    name: str = cookies.COOKIE_NAME
    return name


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/api/openapi.json is stale")
    arguments = parser.parse_args(argv)
    document = build()
    outputs = {OUTPUT: render(document), REFERENCE: render_reference(document)}
    for path, fresh in outputs.items():
        if arguments.check:
            if not path.exists() or path.read_text() != fresh:
                print(f"{path.relative_to(ROOT)} is stale: run `make openapi`", file=sys.stderr)
                return 1
            continue
        path.write_text(fresh)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
