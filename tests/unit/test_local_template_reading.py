"""How the local run reads template.yaml: intrinsic functions, parameter values, and the stack
(functions, environment, routes, authorizer, gateway responses) of the real template."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.config import LocalRunError, parameter_values, parse_parameter_overrides, pseudo_parameters
from local.intrinsics import Resolver, Unresolvable
from local.stack import Stack, read_stack, resource_references
from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def resolver(**parameters: str) -> Resolver:
    return Resolver(
        parameters=parameters,
        pseudo_parameters=pseudo_parameters("eu-west-1"),
        references={"Table": "t-local"},
        attributes={("Table", "Arn"): "arn:table"},
        conditions={"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    )


def test_intrinsics_resolve_like_cloudformation() -> None:
    # Given a resolver for Stage=local
    r = resolver(Stage="local")
    # When the usual intrinsic functions are evaluated; Then they give CloudFormation's values
    assert r.resolve({"Ref": "Stage"}) == "local"
    assert r.resolve({"Fn::Sub": "ciq-${Stage}-${AWS::Region}"}) == "ciq-local-eu-west-1"
    assert r.resolve({"Fn::Sub": ["${A}/${Table.Arn}/${!Literal}", {"A": {"Ref": "Table"}}]}) == (
        "t-local/arn:table/${Literal}"
    )
    assert r.resolve({"Fn::GetAtt": ["Table", "Arn"]}) == "arn:table"
    assert r.resolve({"Fn::Join": [",", ["a", {"Ref": "Stage"}]]}) == "a,local"
    assert r.resolve({"Fn::If": ["IsProd", "yes", "no"]}) == "no"
    assert r.resolve({"Fn::Select": ["1", ["a", "b"]]}) == "b"
    assert r.resolve({"A": {"Ref": "AWS::NoValue"}, "B": 1}) == {"B": 1}


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "Unknown"},
        {"Fn::GetAtt": ["Table", "StreamArn"]},
        {"Fn::ImportValue": "x"},
        {"Fn::If": ["Nope", 1, 2]},
    ],
)
def test_what_cannot_be_resolved_locally_is_an_error(value: object) -> None:
    # Given a value the local run cannot compute; When it is resolved; Then it is refused, never guessed
    with pytest.raises(Unresolvable):
        resolver(Stage="local").resolve(value)


def test_parameter_values_are_template_defaults_then_local_values_then_overrides() -> None:
    # Given the real template
    template = load_template(ROOT / "template.yaml")
    # When the local values are computed with one override
    values = parameter_values(template, {"LogLevel": "DEBUG"})
    # Then the local stage's values replace the defaults, and the override wins
    assert values["Stage"] == "local"
    assert values["VerificationMode"] == "fixed"
    assert values["CorsAllowOrigins"] == "http://localhost:*,http://127.0.0.1:*"
    assert values["AuthSecretParameterName"] == "/ciq/local/auth-secret"
    assert values["LogLevel"] == "DEBUG"
    assert values["LogRetentionDays"] == "14"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"VerificationMode": "sometimes"}, "is not one of"),
        ({"Stage": "Bad Stage"}, "does not match"),
        ({"NoSuchParameter": "x"}, "does not have"),
    ],
)
def test_parameter_values_are_checked_like_cloudformation(overrides: dict[str, str], message: str) -> None:
    # Given an override CloudFormation would refuse; When it is applied; Then the local run refuses it too
    with pytest.raises(LocalRunError, match=message):
        parameter_values(load_template(ROOT / "template.yaml"), overrides)


def test_parameter_overrides_use_sams_format() -> None:
    # Given the `sam deploy --parameter-overrides` format, quoting included
    # When it is parsed; Then each Key=Value is one override
    assert parse_parameter_overrides('LogLevel=DEBUG CorsAllowOrigins="http://a:1,http://b:2"') == {
        "LogLevel": "DEBUG",
        "CorsAllowOrigins": "http://a:1,http://b:2",
    }
    with pytest.raises(LocalRunError):
        parse_parameter_overrides("JustAWord")


def read_real_stack() -> Stack:
    template = load_template(ROOT / "template.yaml")
    base = Resolver(
        parameter_values(template, {}), pseudo_parameters("us-east-1"), conditions=template["Conditions"]
    )
    return read_stack(template, resource_references(template, base, "us-east-1"), ROOT)


def test_the_real_templates_functions_get_their_resolved_environment() -> None:
    # Given the real template read for the local stage
    stack = read_real_stack()
    auth = stack.functions["AuthFunction"]
    # Then Globals and the function's own variables are merged and resolved
    assert auth.environment["STAGE"] == "local"
    assert auth.environment["TABLE_NAME"] == "ciq-local-data"
    assert auth.environment["AUTH_SECRET_PARAM"] == "/ciq/local/auth-secret"
    assert auth.environment["VERIFICATION_MODE"] == "fixed"
    assert auth.environment["POWERTOOLS_SERVICE_NAME"] == "auth"
    assert auth.code_dir == ROOT / "functions" / "auth"
    assert auth.layer_dirs == (ROOT / "layers" / "shared",)
    assert auth.name == "ciq-local-auth"
    assert (auth.timeout_seconds, auth.memory_mb) == (10, 512)
    assert stack.functions["AuthorizerFunction"].timeout_seconds == 5
    assert stack.table_names == {"DataTable": "ciq-local-data"}


def test_the_real_templates_routes_carry_the_authorizer_unless_auth_is_none() -> None:
    # Given the real template
    stack = read_real_stack()
    by_key = {(route.resource, route.method): route for route in stack.routes}
    # Then the default authorizer guards routes without Auth, and Authorizer NONE makes them public
    assert by_key[("/api/user-data", "GET")].authorizer is not None
    assert by_key[("/api/user-data", "GET")].authorizer.function_id == "AuthorizerFunction"
    assert by_key[("/api/user-data", "OPTIONS")].authorizer is None
    assert by_key[("/api/auth/sign-up", "POST")].authorizer is None
    assert by_key[("/api/auth/session", "ANY")].authorizer is not None


def test_the_real_templates_api_gives_stage_binary_types_and_gateway_responses() -> None:
    # Given the real template's Api
    api = read_real_stack().apis["Api"]
    # Then the stage is local, */* is a binary media type, and gateway responses are resolved
    assert api.stage == "local"
    assert api.binary_media_types == ("*/*",)
    unauthorized = api.gateway_responses["UNAUTHORIZED"]
    assert unauthorized.status == 401
    # (the local stage keeps the template's default GatewayResponseOrigin, reflect)
    assert unauthorized.headers["Access-Control-Allow-Origin"] == "method.request.header.Origin"
    assert '"code":"unauthorized"' in unauthorized.templates["application/json"]
    assert api.gateway_responses["DEFAULT_4XX"].status is None
