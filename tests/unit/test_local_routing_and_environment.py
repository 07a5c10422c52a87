"""Route matching as API Gateway REST does it, and the shared process environment of the local run."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.config import LocalConfig, LocalRunError
from local.environment import apply, build_environment
from local.routing import RouteTable
from local.stack import FunctionSpec, Route


def route(resource: str, method: str, function_id: str = "F") -> Route:
    return Route(
        resource=resource,
        method=method,
        function_id=function_id,
        api_id="Api",
        authorizer=None,
        event_name="E",
    )


TABLE = RouteTable(
    [
        route("/items", "GET", "List"),
        route("/items", "ANY", "ItemsOther"),
        route("/items/{id}", "GET", "One"),
        route("/items/search", "GET", "Search"),
        route("/files/{path+}", "ANY", "Files"),
        route("/", "GET", "Root"),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "function_id", "parameters"),
    [
        ("GET", "/items", "List", {}),
        ("DELETE", "/items", "ItemsOther", {}),
        ("GET", "/items/search", "Search", {}),
        ("GET", "/items/42", "One", {"id": "42"}),
        ("POST", "/files/a/b.txt", "Files", {"path": "a/b.txt"}),
        ("GET", "/", "Root", {}),
    ],
)
def test_the_most_specific_resource_and_then_its_method_or_any_answers(
    method: str, path: str, function_id: str, parameters: dict[str, str]
) -> None:
    # Given routes with literal, parameter and greedy segments; When a request is matched
    match = TABLE.match(path, method)
    # Then the route API Gateway would pick answers, with its path parameters
    assert match is not None
    assert (match.route.function_id, match.path_parameters) == (function_id, parameters)


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/items/42"), ("GET", "/nowhere"), ("GET", "/items/42/x")]
)
def test_no_route_means_no_match(method: str, path: str) -> None:
    # Given a path or method the routes do not declare; When matched; Then nothing answers
    assert TABLE.match(path, method) is None


def function(logical_id: str, **environment: str) -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        name=logical_id,
        code_dir=Path("/nowhere"),
        handler="app.lambda_handler",
        environment=environment,
        layer_dirs=(),
        timeout_seconds=3,
        memory_mb=128,
    )


def config(**environ: str) -> LocalConfig:
    return LocalConfig.from_environ(environ)


def test_functions_share_one_environment_and_local_values() -> None:
    # Given two functions with Globals-like shared variables and their own
    functions = [function("A", STAGE="local", ONLY_A="1"), function("B", STAGE="local", EMAIL_SENDER="ses")]
    # When the local environment is built from a shell with AWS_PROFILE and a foreign endpoint
    shell = {"AWS_PROFILE": "work", "AWS_ENDPOINT_URL": "http://elsewhere", "STAGE": "dev"}
    environment = build_environment(functions, config(), shell)
    # Then it is the union, with the local-only values and fake credentials
    assert environment.shared["ONLY_A"] == "1"
    assert environment.shared["EMAIL_SENDER"] == "outbox"
    assert environment.shared["AWS_ACCESS_KEY_ID"] == "local"
    assert environment.shared["POWERTOOLS_TRACE_DISABLED"] == "true"
    # And the profile and the global endpoint are removed (SSM and the rest stay embedded)
    assert set(environment.removed) == {"AWS_PROFILE", "AWS_ENDPOINT_URL"}
    # And the developer is told which shell values the template replaced
    assert environment.replaced["STAGE"] == ("dev", "local")


def test_different_values_for_one_variable_refuse_to_start() -> None:
    # Given two functions disagreeing on TABLE_NAME; When the environment is built; Then it refuses
    with pytest.raises(LocalRunError, match="TABLE_NAME: A='a' but B='b'"):
        build_environment([function("A", TABLE_NAME="a"), function("B", TABLE_NAME="b")], config(), {})


def test_the_service_name_is_per_function_at_import_time_only() -> None:
    # Given functions with their own POWERTOOLS_SERVICE_NAME (read when Logger() is created)
    functions = [
        function("A", POWERTOOLS_SERVICE_NAME="auth"),
        function("B", POWERTOOLS_SERVICE_NAME="user-data"),
    ]
    # When the environment is built and applied
    environment = build_environment(functions, config(), {})
    environ = {"POWERTOOLS_SERVICE_NAME": "stale"}
    apply(environment, environ)
    # Then it is no conflict: each function gets its own value while it is imported, none afterwards
    assert environment.import_time == {
        "A": {"POWERTOOLS_SERVICE_NAME": "auth"},
        "B": {"POWERTOOLS_SERVICE_NAME": "user-data"},
    }
    assert "POWERTOOLS_SERVICE_NAME" not in environ


def test_real_credentials_are_kept_only_for_a_dynamodb_endpoint() -> None:
    # Given a shell with credentials and an endpoint for another DynamoDB
    shell = {
        "AWS_ACCESS_KEY_ID": "AKIA...",
        "AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.eu-west-1.amazonaws.com",
    }
    # When the environment is built; Then the developer's credentials stay (that DynamoDB needs them)
    with_endpoint = build_environment([], config(**shell), shell)
    assert "AWS_ACCESS_KEY_ID" not in with_endpoint.shared
    # And without the endpoint the credentials are always the fake ones
    assert (
        build_environment([], config(), {"AWS_ACCESS_KEY_ID": "AKIA..."}).shared["AWS_ACCESS_KEY_ID"]
        == "local"
    )


def test_port_and_defaults_come_from_the_environment() -> None:
    # Given no PORT, then PORT=0 and a bad PORT
    # Then 4000 is the default, 0 means "any free port", and garbage is refused
    assert config().port == 4000
    assert config(PORT="0").port == 0
    assert config().outbox_path.endswith(".local-outbox/outbox.jsonl")
    with pytest.raises(LocalRunError):
        config(PORT="http")
