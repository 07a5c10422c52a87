"""Putting the local run together, in the order the pieces depend on each other: template ->
environment -> embedded AWS (before any boto3 client exists) -> tables and secret -> handlers ->
HTTP server."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.aws import EmbeddedAws
from local.config import LocalRunError, parameter_values, pseudo_parameters
from local.environment import LocalEnvironment, apply, build_environment
from local.functions import LoadedFunction, add_layers, load_functions
from local.gateway import LocalGateway
from local.intrinsics import Resolver
from local.server import LocalHttpServer, log
from local.stack import Stack, read_stack, resource_references
from local.template import load_template

if TYPE_CHECKING:
    from local.config import LocalConfig

AUTH_SECRET_PARAMETER = "AuthSecretParameterName"


@dataclass(frozen=True)
class Plan:
    """Everything read from the template before anything starts."""

    template: dict[str, Any]
    parameters: dict[str, str]
    stack: Stack
    environment: LocalEnvironment


@dataclass
class LocalRun:
    server: LocalHttpServer
    aws: EmbeddedAws
    plan: Plan
    config: LocalConfig

    @property
    def url(self) -> str:
        # localhost, not 127.0.0.1: a frontend on http://localhost:<other port> is then same-site
        # with the API, so the session cookie works (CONTRACT §9 Browsers).
        return f"http://localhost:{self.server.port}"

    def close(self) -> None:
        self.server.server_close()
        self.aws.stop()


def plan(config: LocalConfig) -> Plan:
    template = load_template(config.template_path)
    parameters = parameter_values(template, config.parameter_overrides)
    base = Resolver(parameters, pseudo_parameters(config.region), conditions=template.get("Conditions") or {})
    resolver = resource_references(template, base, config.region)
    stack = read_stack(template, resolver, config.template_path.parent)
    environment = build_environment(stack.functions.values(), config, os.environ)
    return Plan(template=template, parameters=parameters, stack=stack, environment=environment)


def start(config: LocalConfig) -> LocalRun:
    planned = plan(config)
    for name, (shell, local) in planned.environment.replaced.items():
        log(f"note: {name}={shell!r} from your shell is {local!r} here (the template's value)", error=True)
    apply(planned.environment, os.environ)
    aws = EmbeddedAws(config.dynamodb_endpoint)
    aws.start()
    try:
        _prepare_aws(aws, planned)
        functions = _load_handlers(planned)
        gateway = LocalGateway(
            planned.stack,
            functions,
            cors_allow_list=_allow_list(planned.environment.shared.get("CORS_ALLOW_ORIGINS", "")),
            region=config.region,
            enforce_timeouts=config.enforce_timeouts,
        )
        server = LocalHttpServer(config.port, gateway)
    except BaseException:
        aws.stop()
        raise
    return LocalRun(server=server, aws=aws, plan=planned, config=config)


def _prepare_aws(aws: EmbeddedAws, planned: Plan) -> None:
    aws.create_tables(planned.template, planned.stack.table_names)
    if AUTH_SECRET_PARAMETER in planned.parameters:
        aws.seed_auth_secret(planned.parameters[AUTH_SECRET_PARAMETER])


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
    endpoint = run.config.dynamodb_endpoint
    dynamodb = f"{endpoint} (AWS_ENDPOINT_URL_DYNAMODB)" if endpoint else "embedded (moto)"
    tables = ", ".join(run.plan.stack.table_names.values())
    lines.append(f"  DynamoDB: {dynamodb}; SSM: embedded (moto); tables: {tables}")
    lines.append(f"  verification codes go to the outbox {run.config.outbox_path} and are printed here")
    return lines


def fail(error: LocalRunError) -> int:
    print(f"local run: {error}", file=sys.stderr, flush=True)
    return 2
