"""Least privilege and browser rules of template.yaml, read as written (docs/ops/security.md).

Every IAM statement of every function names its actions one by one (no `*` in an action), never
grants anything on the resource `*`, and a resource ARN with a wildcard is allowed only where the
statement narrows it (a Condition) or the wildcard is listed and justified below."""

from __future__ import annotations

from typing import Any

import pytest

from local.template import load_template

# Actions whose resource may carry a wildcard without a Condition, each with why it is needed.
WILDCARD_RESOURCE_ALLOWED = {
    # SES authorizes SendEmail on every identity the message involves (the sender address and its
    # domain); which one ops verify is their choice, so the ARN stays on this account's identities.
    "ses:SendEmail",
    # Lambda's stream poller lists the table's streams: the ARN is the table's, any stream label.
    "dynamodb:ListStreams",
    # The notifier posts to connections whose ids exist only at run time; the ARN names this
    # WebSocket API, its stage and the POST @connections operation.
    "execute-api:ManageConnections",
}
# Managed policies or SAM policy templates would hide their actions from this test.
ALLOWED_POLICY_STRINGS: set[str] = set()


def _unwrap(node: Any) -> list[Any]:
    """A statement list entry as CloudFormation sees it: `!If [cond, a, b]` yields a and b
    (AWS::NoValue dropped)."""
    if isinstance(node, dict) and "Fn::If" in node:
        _, yes, no = node["Fn::If"]
        return [n for branch in (yes, no) for n in _unwrap(branch)]
    if node == {"Ref": "AWS::NoValue"}:
        return []
    return [node]


def _text(value: Any) -> str:
    """A resource as the text it becomes: `!Sub` strings as written, other intrinsics as a
    placeholder that holds no wildcard (a !GetAtt or !Ref is one named resource)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else str(sub[0])
    return "<named>"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_statements() -> list[tuple[str, dict[str, Any]]]:
    template = load_template()
    found: list[tuple[str, dict[str, Any]]] = []
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            if isinstance(policy, str):
                assert policy in ALLOWED_POLICY_STRINGS, f"{name}: managed policy {policy!r}"
                continue
            assert set(policy) == {"Statement"}, f"{name}: policy template {sorted(policy)}"
            for entry in policy["Statement"]:
                found.extend((name, statement) for statement in _unwrap(entry))
    return found


STATEMENTS = function_statements()


def test_every_function_has_inline_statements_only() -> None:
    functions = {name for name, _ in STATEMENTS}
    assert functions == {
        "AuthorizerFunction",
        "AuthFunction",
        "UserDataFunction",
        "SetupStatusFunction",
        "LiveAgentsFunction",
        "LiveFunction",
        "LiveNotifyFunction",
    }


@pytest.mark.parametrize(
    ("function", "statement"), STATEMENTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(STATEMENTS)]
)
def test_no_statement_has_a_wildcard_action_or_a_data_action_on_any_resource(
    function: str, statement: dict[str, Any]
) -> None:
    assert statement["Effect"] == "Allow"
    assert "NotAction" not in statement and "NotResource" not in statement
    actions = _as_list(statement["Action"])
    for action in actions:
        assert isinstance(action, str) and "*" not in action, f"{function}: wildcard action {action!r}"
    for resource in map(_text, _as_list(statement["Resource"])):
        assert resource.strip() != "*", f"{function}: {actions} on every resource"
        if "*" in resource:
            narrowed = "Condition" in statement or set(actions) <= WILDCARD_RESOURCE_ALLOWED
            assert narrowed, f"{function}: {actions} on {resource} without a Condition"


def test_kms_decrypt_is_only_through_ssm_and_only_for_the_parameter_read() -> None:
    decrypts = [(n, s) for n, s in STATEMENTS if "kms:Decrypt" in _as_list(s["Action"])]
    assert {n for n, _ in decrypts} == {"AuthorizerFunction", "AuthFunction", "LiveAgentsFunction"}
    for function, statement in decrypts:
        condition = statement["Condition"]["StringEquals"]
        assert _text(condition["kms:ViaService"]) == "ssm.${AWS::Region}.amazonaws.com", function
        parameter_arn = _text(condition["kms:EncryptionContext:PARAMETER_ARN"])
        reads = [
            _text(s["Resource"]) for n, s in STATEMENTS if n == function and "ssm:GetParameter" in s["Action"]
        ]
        assert reads == [parameter_arn], function


def test_only_the_auth_function_writes_sessions_and_sends_email() -> None:
    senders = {n for n, s in STATEMENTS if "ses:SendEmail" in _as_list(s["Action"])}
    assert senders == {"AuthFunction"}
    authorizer = [a for n, s in STATEMENTS if n == "AuthorizerFunction" for a in _as_list(s["Action"])]
    assert sorted(authorizer) == ["dynamodb:GetItem", "kms:Decrypt", "ssm:GetParameter"]


def test_cors_never_allows_every_origin_and_preflights_skip_the_authorizer() -> None:
    template = load_template()
    assert "*" not in template["Parameters"]["CorsAllowOrigins"]["Default"].replace("localhost:*", "")
    api = template["Resources"]["Api"]["Properties"]
    assert api["Auth"]["AddDefaultAuthorizerToCorsPreflight"] is False
    for name, response in api["GatewayResponses"].items():
        headers = response["ResponseParameters"]["Headers"]
        origin = headers["Access-Control-Allow-Origin"]
        # One stage's allowed origin, or the request's own (GatewayResponseOrigin=reflect; never
        # prod): tests/unit/test_stages.py renders both
        reflect_or_fixed = ["ReflectsGatewayOrigin", "method.request.header.Origin"]
        assert origin == {"Fn::If": [*reflect_or_fixed, {"Fn::Sub": "'${GatewayResponseOrigin}'"}]}, name
        assert headers["Access-Control-Allow-Credentials"] == "'true'", name
    for resource in template["Resources"].values():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            props = event["Properties"]
            if props.get("Method") == "OPTIONS":
                assert props["Auth"] == {"Authorizer": "NONE"}, props["Path"]
