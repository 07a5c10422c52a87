"""The parts of template.yaml the local run serves, read once at start: functions (code, handler,
environment, limits), REST APIs (stage, binary media types, gateway responses, authorizers) and the
routes their `Api` events declare. There is no second list of routes anywhere: this is it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from local.config import ACCOUNT_ID, LocalRunError
from local.intrinsics import Resolver, Unresolvable
from local.template import resources_of_type

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

FUNCTION = "AWS::Serverless::Function"
WEBSOCKET_API = "AWS::ApiGatewayV2::Api"
REST_API = "AWS::Serverless::Api"
LAYER = "AWS::Serverless::LayerVersion"
TABLE = "AWS::DynamoDB::Table"
IMPLICIT_API = "ServerlessRestApi"  # SAM's name for the API of events without RestApiId


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    layer_dirs: tuple[Path, ...]
    timeout_seconds: float
    memory_mb: int


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    function_id: str
    payload_type: Literal["REQUEST", "TOKEN"]
    identity_headers: tuple[str, ...]
    identity_query_strings: tuple[str, ...]
    token_header: str


@dataclass(frozen=True)
class GatewayResponseSpec:
    status: int | None
    headers: dict[str, str]  # header name -> mapping expression ('static' or method.request.*)
    templates: dict[str, str]  # content type -> body template


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    stage: str
    binary_media_types: tuple[str, ...]
    gateway_responses: dict[str, GatewayResponseSpec]
    minimum_compression_size: int | None = None  # MinimumCompressionSize: gzip answers this large


@dataclass(frozen=True)
class Route:
    resource: str  # API Gateway resource path, e.g. /api/live-agents/{agentId}
    method: str  # GET, POST, ..., or ANY
    function_id: str
    api_id: str
    authorizer: AuthorizerSpec | None
    event_name: str


@dataclass(frozen=True)
class Stack:
    functions: dict[str, FunctionSpec]
    apis: dict[str, ApiSpec]
    routes: tuple[Route, ...]
    table_names: dict[str, str]  # table logical id -> local table name
    # The function behind the WebSocket API's integration, and those fed by a table's stream (an
    # AWS::Lambda::EventSourceMapping): the local run's live-updates channel (local/live.py).
    socket_function: str | None = None
    stream_functions: tuple[str, ...] = ()


def read_stack(template: dict[str, Any], resolver: Resolver, template_dir: Path) -> Stack:
    try:
        functions = {
            logical_id: _function(template, logical_id, resource, resolver, template_dir)
            for logical_id, resource in resources_of_type(template, FUNCTION).items()
        }
        apis, authorizers = _apis(template, resolver)
        routes = tuple(_routes(template, apis, authorizers))
    except Unresolvable as error:
        raise LocalRunError(f"template.yaml: {error}") from error
    _check_routes(routes, functions)
    return Stack(
        functions=functions,
        apis=apis,
        routes=routes,
        table_names=table_names(template, resolver),
        socket_function=_socket_function(template, functions),
        stream_functions=_stream_functions(template, functions),
    )


def _function_named(reference: Any, functions: Mapping[str, FunctionSpec]) -> str | None:
    """`!Ref F`, `!Ref F.Alias` or `!GetAtt F.Arn` of a function of the template, else None."""
    if isinstance(reference, dict):
        target = reference.get("Ref") or reference.get("Fn::GetAtt")
        name = target[0] if isinstance(target, list) else str(target or "").split(".")[0]
        return name if name in functions else None
    return None


def _socket_function(template: dict[str, Any], functions: Mapping[str, FunctionSpec]) -> str | None:
    for resource in resources_of_type(template, "AWS::ApiGatewayV2::Integration").values():
        uri = (resource.get("Properties") or {}).get("IntegrationUri")
        parts = uri["Fn::Join"][1] if isinstance(uri, dict) and "Fn::Join" in uri else [uri]
        for part in parts:
            if (found := _function_named(part, functions)) is not None:
                return found
    return None


def _stream_functions(template: dict[str, Any], functions: Mapping[str, FunctionSpec]) -> tuple[str, ...]:
    found = []
    for resource in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values():
        name = _function_named((resource.get("Properties") or {}).get("FunctionName"), functions)
        if name is not None:
            found.append(name)
    return tuple(found)


def table_names(template: dict[str, Any], resolver: Resolver) -> dict[str, str]:
    return {
        logical_id: _table_name(logical_id, resource, resolver)
        for logical_id, resource in resources_of_type(template, TABLE).items()
    }


def resource_references(template: dict[str, Any], resolver: Resolver, region: str) -> Resolver:
    """A resolver that also knows `!Ref`/`!GetAtt` of the resources whose local identity is
    meaningful: tables (their local name and ARN) and functions (their name and ARN)."""
    references: dict[str, str] = {}
    attributes: dict[tuple[str, str], str] = {}
    for logical_id, resource in resources_of_type(template, TABLE).items():
        name = _table_name(logical_id, resource, resolver)
        references[logical_id] = name
        attributes[(logical_id, "Arn")] = arn = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}"
        attributes[(logical_id, "StreamArn")] = f"{arn}/stream/local"
    for logical_id, resource in resources_of_type(template, FUNCTION).items():
        name = _function_name(logical_id, resource, resolver)
        references[logical_id] = name
        attributes[(logical_id, "Arn")] = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
    # A WebSocket API has no local identity: its id only builds URLs the local run replaces with its
    # own (LIVE_SOCKET_URL, LIVE_SOCKET_ENDPOINT: local/live.py).
    for logical_id in resources_of_type(template, WEBSOCKET_API):
        references[logical_id] = f"local-{logical_id}"
    return Resolver(
        parameters=resolver.parameters,
        pseudo_parameters=resolver.pseudo_parameters,
        references=references,
        attributes=attributes,
        conditions=resolver.conditions,
    )


def _table_name(logical_id: str, resource: dict[str, Any], resolver: Resolver) -> str:
    declared = (resource.get("Properties") or {}).get("TableName")
    if declared is None:
        return f"ciq-local-{logical_id}"
    return resolver.resolve_string(declared, f"{logical_id}.TableName")


def _function_name(logical_id: str, resource: dict[str, Any], resolver: Resolver) -> str:
    declared = (resource.get("Properties") or {}).get("FunctionName")
    return logical_id if declared is None else resolver.resolve_string(declared, f"{logical_id}.FunctionName")


def _globals(template: dict[str, Any], kind: str) -> dict[str, Any]:
    value: dict[str, Any] = (template.get("Globals") or {}).get(kind) or {}
    return value


def _function(
    template: dict[str, Any],
    logical_id: str,
    resource: dict[str, Any],
    resolver: Resolver,
    template_dir: Path,
) -> FunctionSpec:
    defaults = _globals(template, "Function")
    props: dict[str, Any] = resource.get("Properties") or {}

    def prop(name: str, fallback: Any = None) -> Any:
        return props.get(name, defaults.get(name, fallback))

    if "CodeUri" not in props or not isinstance(props["CodeUri"], str):
        raise LocalRunError(f"{logical_id}: only a local folder CodeUri is supported by the local run")
    environment = {
        **_variables(defaults, resolver, "Globals.Function"),
        **_variables(props, resolver, logical_id),
    }
    return FunctionSpec(
        logical_id=logical_id,
        name=_function_name(logical_id, resource, resolver),
        code_dir=(template_dir / props["CodeUri"]).resolve(),
        handler=str(prop("Handler")),
        environment=environment,
        layer_dirs=_layer_dirs(
            template, [*defaults.get("Layers", []), *props.get("Layers", [])], template_dir
        ),
        timeout_seconds=float(prop("Timeout", 3)),
        memory_mb=int(prop("MemorySize", 128)),
    )


def _variables(props: dict[str, Any], resolver: Resolver, where: str) -> dict[str, str]:
    variables: dict[str, Any] = ((props.get("Environment") or {}).get("Variables")) or {}
    return {name: resolver.resolve_string(value, f"{where} {name}") for name, value in variables.items()}


def _layer_dirs(template: dict[str, Any], layers: list[Any], template_dir: Path) -> tuple[Path, ...]:
    """Layers of this template become folders on sys.path (what /opt/python is in Lambda)."""
    local_layers = resources_of_type(template, LAYER)
    dirs = []
    for layer in layers:
        logical_id = layer.get("Ref") if isinstance(layer, dict) else None
        if logical_id not in local_layers:
            raise LocalRunError(f"layer {layer!r}: only layers defined in the template run locally")
        dirs.append((template_dir / local_layers[logical_id]["Properties"]["ContentUri"]).resolve())
    return tuple(dirs)


def _apis(
    template: dict[str, Any], resolver: Resolver
) -> tuple[dict[str, ApiSpec], dict[str, dict[str, AuthorizerSpec]]]:
    declared = dict(resources_of_type(template, REST_API))
    declared.setdefault(IMPLICIT_API, {"Properties": {"StageName": "Prod", **_globals(template, "Api")}})
    apis, authorizers = {}, {}
    for logical_id, resource in declared.items():
        props = resource.get("Properties") or {}
        apis[logical_id] = ApiSpec(
            logical_id=logical_id,
            stage=resolver.resolve_string(props.get("StageName", "Prod"), f"{logical_id}.StageName"),
            binary_media_types=tuple(
                resolver.resolve_string(item, f"{logical_id}.BinaryMediaTypes").replace("~1", "/")
                for item in props.get("BinaryMediaTypes", [])
            ),
            gateway_responses=_gateway_responses(props.get("GatewayResponses") or {}, resolver, logical_id),
            minimum_compression_size=_compression(props, resolver, logical_id),
        )
        authorizers[logical_id] = _authorizers(props.get("Auth") or {}, logical_id)
    return apis, authorizers


def _compression(props: dict[str, Any], resolver: Resolver, api_id: str) -> int | None:
    declared = props.get("MinimumCompressionSize")
    if declared is None:
        return None
    return int(resolver.resolve_string(declared, f"{api_id}.MinimumCompressionSize"))


def _gateway_responses(
    declared: dict[str, Any], resolver: Resolver, api_id: str
) -> dict[str, GatewayResponseSpec]:
    responses = {}
    for kind, spec in declared.items():
        parameters = spec.get("ResponseParameters") or {}
        headers = {
            name: resolver.resolve_string(value, f"{api_id}.GatewayResponses.{kind}.{name}")
            for name, value in (parameters.get("Headers") or {}).items()
        }
        status = spec.get("StatusCode")
        responses[kind] = GatewayResponseSpec(
            status=None if status is None else int(resolver.resolve_string(status, f"{kind}.StatusCode")),
            headers=headers,
            templates={k: str(v) for k, v in (spec.get("ResponseTemplates") or {}).items()},
        )
    return responses


def _authorizers(auth: dict[str, Any], api_id: str) -> dict[str, AuthorizerSpec]:
    found = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        function_id = _authorizer_function(spec.get("FunctionArn"), f"{api_id} authorizer {name}")
        identity = spec.get("Identity") or {}
        payload = str(spec.get("FunctionPayloadType", "TOKEN")).upper()
        if payload not in {"REQUEST", "TOKEN"}:
            raise LocalRunError(f"{api_id} authorizer {name}: FunctionPayloadType {payload} is not supported")
        found[name] = AuthorizerSpec(
            name=name,
            function_id=function_id,
            payload_type="REQUEST" if payload == "REQUEST" else "TOKEN",
            identity_headers=tuple(identity.get("Headers", [])),
            identity_query_strings=tuple(identity.get("QueryStrings", [])),
            token_header=str(identity.get("Header", "Authorization")),
        )
    return found


def _authorizer_function(arn: Any, where: str) -> str:
    """`!GetAtt <Function>.Arn` ($LATEST) or `!Ref <Function>.Alias` (SAM's AutoPublishAlias: the
    published version deployed stages call); locally both are the function's current code."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    reference = arn.get("Ref") if isinstance(arn, dict) else None
    if isinstance(reference, str) and reference.endswith(".Alias"):
        return reference.removesuffix(".Alias")
    raise LocalRunError(f"{where}: FunctionArn must be !GetAtt <Function>.Arn or !Ref <Function>.Alias")


def _routes(
    template: dict[str, Any],
    apis: Mapping[str, ApiSpec],
    authorizers: Mapping[str, dict[str, AuthorizerSpec]],
) -> list[Route]:
    routes = []
    for function_id, resource in resources_of_type(template, FUNCTION).items():
        for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            api_id = _api_of(props, apis, f"{function_id}.{event_name}")
            routes.append(
                Route(
                    resource=str(props["Path"]),
                    method=str(props["Method"]).upper(),
                    function_id=function_id,
                    api_id=api_id,
                    authorizer=_route_authorizer(template, props, api_id, authorizers[api_id], event_name),
                    event_name=event_name,
                )
            )
    return routes


def _api_of(props: dict[str, Any], apis: Mapping[str, ApiSpec], where: str) -> str:
    reference = props.get("RestApiId")
    if reference is None:
        return IMPLICIT_API
    api_id = reference.get("Ref") if isinstance(reference, dict) else None
    if api_id not in apis:
        raise LocalRunError(f"{where}: RestApiId must be !Ref of an AWS::Serverless::Api in the template")
    return str(api_id)


def _route_authorizer(
    template: dict[str, Any],
    props: dict[str, Any],
    api_id: str,
    api_authorizers: Mapping[str, AuthorizerSpec],
    event_name: str,
) -> AuthorizerSpec | None:
    """The event's own `Auth.Authorizer`, else the API's DefaultAuthorizer; `NONE` means public."""
    api_props = (template["Resources"].get(api_id) or {}).get("Properties") or _globals(template, "Api")
    default = (api_props.get("Auth") or {}).get("DefaultAuthorizer")
    chosen = (props.get("Auth") or {}).get("Authorizer", default)
    if chosen is None or chosen == "NONE":
        return None
    if chosen not in api_authorizers:
        raise LocalRunError(f"event {event_name}: authorizer {chosen} is not defined on {api_id}")
    return api_authorizers[chosen]


def _check_routes(routes: tuple[Route, ...], functions: Mapping[str, FunctionSpec]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for route in routes:
        key = (route.resource, route.method)
        if key in seen:
            raise LocalRunError(
                f"{route.method} {route.resource} is declared twice ({seen[key]}, {route.event_name})"
            )
        seen[key] = route.event_name
        if route.authorizer and route.authorizer.function_id not in functions:
            raise LocalRunError(
                f"authorizer {route.authorizer.name}: {route.authorizer.function_id} is not a function"
            )
