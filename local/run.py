"""Putting the local run together, in the order the pieces depend on each other: state folder ->
DynamoDB Local and the live-agents upstream (their addresses are inputs to the template) -> template
-> environment -> embedded AWS (before any boto3 client exists) -> tables and secrets -> handlers ->
HTTP server -> demo account."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from local import dynamodb_local
from local.aws import EmbeddedAws
from local.config import LocalRunError, parameter_values, pseudo_parameters
from local.demo import DEMO_CODE, DEMO_EMAIL, DemoSeedError, seed_demo_account
from local.environment import LocalEnvironment, apply, build_environment
from local.functions import LoadedFunction, add_layers, load_functions
from local.gateway import LocalGateway
from local.intrinsics import Resolver
from local.live import LocalLiveChannel
from local.server import LocalHttpServer, log
from local.stack import Stack, read_stack, resource_references
from local.state import LocalState, new_auth_secret
from local.template import load_template
from local.upstream import AgentDirectory, LocalUpstream

if TYPE_CHECKING:
    from local.config import LocalConfig

AUTH_SECRET_PARAMETER = "AuthSecretParameterName"
UPSTREAM_KEY_PARAMETER = "/ciq/local/live-agents-api-key"


@dataclass(frozen=True)
class Plan:
    """Everything read from the template before anything starts."""

    template: dict[str, Any]
    parameters: dict[str, str]
    stack: Stack
    environment: LocalEnvironment


@dataclass
class Backing:
    """What the run starts beside the API and stops after it."""

    state: LocalState | None = None
    engine: dynamodb_local.RunningEngine | None = None
    upstream: LocalUpstream | None = None
    aws: EmbeddedAws | None = None
    live: LocalLiveChannel | None = None
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        for part in (self.live, self.aws, self.upstream, self.engine, self.state):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()


@dataclass
class LocalRun:
    server: LocalHttpServer
    backing: Backing
    plan: Plan
    config: LocalConfig

    @property
    def url(self) -> str:
        # localhost, not 127.0.0.1: a frontend on http://localhost:<other port> is then same-site
        # with the API, so the session cookie works (CONTRACT §9 Browsers).
        return f"http://localhost:{self.server.port}"

    def close(self) -> None:
        self.server.server_close()
        self.backing.stop()


def plan(config: LocalConfig) -> Plan:
    template = load_template(config.template_path)
    parameters = parameter_values(template, config.parameter_overrides)
    base = Resolver(parameters, pseudo_parameters(config.region), conditions=template.get("Conditions") or {})
    resolver = resource_references(template, base, config.region)
    stack = read_stack(template, resolver, config.template_path.parent)
    environment = build_environment(stack.functions.values(), config, os.environ)
    return Plan(template=template, parameters=parameters, stack=stack, environment=environment)


def start(config: LocalConfig) -> LocalRun:
    backing = Backing()
    try:
        config = _start_backing(config, backing)
        planned = plan(config)
        for name, (shell, local) in planned.environment.replaced.items():
            log(
                f"note: {name}={shell!r} from your shell is {local!r} here (the template's value)", error=True
            )
        apply(planned.environment, os.environ)
        os.environ.update(_engine_environment(backing))
        _reserve_live_channel(backing, planned, config)
        backing.aws = EmbeddedAws(config.dynamodb_endpoint or _engine_url(backing))
        backing.aws.start()
        _prepare_aws(backing, planned)
        functions = _load_handlers(planned)
        if backing.live is not None and planned.stack.socket_function is not None:
            backing.live.start(functions[planned.stack.socket_function])
        gateway = LocalGateway(
            planned.stack,
            functions,
            cors_allow_list=_allow_list(planned.environment.shared.get("CORS_ALLOW_ORIGINS", "")),
            region=config.region,
            enforce_timeouts=config.enforce_timeouts,
        )
        if config.demo:
            _seed_demo(gateway, backing)
        server = LocalHttpServer(config.port, gateway)
    except BaseException:
        backing.stop()
        raise
    return LocalRun(server=server, backing=backing, plan=planned, config=config)


def _start_backing(config: LocalConfig, backing: Backing) -> LocalConfig:
    """The state folder, DynamoDB Local and the upstream; returns the config the template sees."""
    if config.persistent:
        backing.state = LocalState.open(config.state_dir)
    if config.store == "disk" and config.dynamodb_endpoint is None:
        assert backing.state is not None
        if backing.state.created:
            log(
                f"first run: new state folder {config.state_dir} (data, sessions and secrets live there)"
            )
        try:
            backing.engine = dynamodb_local.start(backing.state.engine_log, backing.state.db_path, say=log)
        except dynamodb_local.DynamoDBLocalError as error:
            raise LocalRunError(f"{error}\n(LOCAL_STORE=memory runs without it, keeping nothing)") from error
    if config.upstream is None:
        return config
    directory = AgentDirectory(backing.state.folder / "upstream-agents.json" if backing.state else None)
    backing.upstream = LocalUpstream(secrets.token_urlsafe(24), config.upstream, directory)
    backing.upstream.start()
    overrides = {
        "LiveAgentsApiUrl": backing.upstream.base_url,
        "LiveAgentsApiKeyParameterName": UPSTREAM_KEY_PARAMETER,
        **config.parameter_overrides,
    }
    return replace(config, parameter_overrides=overrides)


def _reserve_live_channel(backing: Backing, planned: Plan, config: LocalConfig) -> None:
    """The WebSocket server's port is bound before any function reads its settings, so tickets name
    it (docs/api/live-updates.md, "In the local run")."""
    if planned.stack.socket_function is None:
        return
    backing.live = LocalLiveChannel(config.region, planned.parameters.get("Stage", "local"))
    os.environ["LIVE_SOCKET_URL"] = backing.live.url
    os.environ["LIVE_SOCKET_ENDPOINT"] = ""  # notices go straight to the local sockets


def _engine_url(backing: Backing) -> str | None:
    return backing.engine.endpoint_url if backing.engine else None


def _engine_environment(backing: Backing) -> dict[str, str]:
    """Our DynamoDB Local keeps one database per access key id: the state's random one names ours."""
    if backing.engine is None or backing.state is None:
        return {}
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": backing.engine.endpoint_url,
        "AWS_ACCESS_KEY_ID": backing.state.access_key_id,
    }


def _prepare_aws(backing: Backing, planned: Plan) -> None:
    assert backing.aws is not None
    backing.aws.create_tables(planned.template, planned.stack.table_names)
    if AUTH_SECRET_PARAMETER in planned.parameters:
        # Kept in the state folder when the run is persistent, so sessions and the email index
        # (HMAC with the pepper) stay valid across restarts; fresh otherwise.
        secret = backing.state.auth_secret if backing.state else new_auth_secret()
        backing.aws.put_secret(planned.parameters[AUTH_SECRET_PARAMETER], secret)
    if backing.upstream is not None:
        backing.aws.put_secret(UPSTREAM_KEY_PARAMETER, backing.upstream.api_key)


def _seed_demo(gateway: LocalGateway, backing: Backing) -> None:
    try:
        created = seed_demo_account(gateway)
    except DemoSeedError as error:
        raise LocalRunError(str(error)) from error
    verb = "created" if created else "already there"
    backing.notes.append(f"  demo account {verb}: sign in as {DEMO_EMAIL} with the code {DEMO_CODE}")


def _load_handlers(planned: Plan) -> dict[str, LoadedFunction]:
    add_layers(planned.stack.functions.values())
    functions = load_functions(planned.stack.functions.values(), planned.environment.import_time)
    for loaded in functions.values():
        if loaded.error:
            note = f"warning: {loaded.spec.logical_id} did not load; its routes answer 502:\n{loaded.error}"
            log(note, error=True)
    return functions


def _allow_list(value: str) -> tuple[str, ...]:
    return tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())


def describe(run: LocalRun) -> list[str]:
    """What the developer sees before the URL: the routes and what backs them."""
    gateway = run.server.gateway
    lines = [f"ConversionIQ local API: {run.config.template_path.name}, stage {gateway.default_api.stage}"]
    for route in gateway.routes.routes():
        auth = route.authorizer.name if route.authorizer else "public"
        lines.append(f"  {route.method:<7} {route.resource:<32} -> {route.function_id} [{auth}]")
    tables = ", ".join(run.plan.stack.table_names.values())
    lines.append(f"  DynamoDB: {_dynamodb_description(run)}; SSM: embedded (moto); tables: {tables}")
    if run.backing.upstream is not None:
        lines.append(f"  live agents: local upstream {run.backing.upstream.base_url} ({run.config.upstream})")
    else:
        lines.append("  live agents: store mode (LOCAL_UPSTREAM=on starts a local upstream)")
    if run.backing.live is not None:
        lines.append(f"  live updates: {run.backing.live.url} (opened with a ticket: POST /api/live/ticket)")
    lines.append(f"  verification codes go to the outbox {run.config.outbox_path} and are printed here")
    if not run.config.json_logs:
        lines.append(f"  the functions' JSON logs and metrics: {run.config.function_log} (LOCAL_LOG=json)")
    lines.extend(run.backing.notes)
    lines.append(
        "  the session cookie travels only when the app's page and the API use the same host name "
        f"(a page on http://localhost:<port> with {run.url}; a page on 127.0.0.1 gets 401)"
    )
    return lines


def fail(error: LocalRunError) -> int:
    print(f"local run: {error}", file=sys.stderr, flush=True)
    return 2


def _dynamodb_description(run: LocalRun) -> str:
    if run.config.dynamodb_endpoint:
        return f"{run.config.dynamodb_endpoint} (AWS_ENDPOINT_URL_DYNAMODB)"
    if run.backing.engine is not None:
        return f"DynamoDB Local on disk in {run.config.state_dir} (LOCAL_STORE=memory: in memory)"
    return "in memory (moto; LOCAL_STORE=memory: nothing survives a restart)"
