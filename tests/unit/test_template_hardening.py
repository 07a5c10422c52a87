"""Second-review hardening of template.yaml, read as written (issue 10; docs/ops/security.md):
security headers on API Gateway's own answers, reserved concurrency for the authorizer, access logs
with an optional account-level role."""

from __future__ import annotations

from typing import Any

from local.template import load_template

SECURITY_HEADERS = {
    "X-Content-Type-Options": "'nosniff'",
    "Strict-Transport-Security": "'max-age=31536000; includeSubDomains'",
    "Cache-Control": "'no-store'",
}


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = load_template()["Resources"]
    return resources


def test_every_gateway_response_carries_nosniff_hsts_and_no_store() -> None:
    # Given API Gateway's own answers (a 401 on /api/auth/session had none of them)
    responses = _resources()["Api"]["Properties"]["GatewayResponses"]
    assert {"UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX", "AUTHORIZER_FAILURE"} <= set(
        responses
    )
    for kind, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        # Then each carries the headers every function answer carries
        assert {k: headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS, kind


def test_the_functions_send_the_same_security_headers_as_the_gateway() -> None:
    from ciq.web.api import SECURITY_HEADERS as FUNCTION_HEADERS

    assert {k: f"'{v}'" for k, v in FUNCTION_HEADERS.items()} == SECURITY_HEADERS


def test_the_authorizer_has_reserved_concurrency_unless_set_to_zero() -> None:
    template = load_template()
    reserved = _resources()["AuthorizerFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved == {
        "Fn::If": [
            "ReservesAuthorizerConcurrency",
            {"Ref": "AuthorizerReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert int(template["Parameters"]["AuthorizerReservedConcurrency"]["Default"]) > 0


def test_api_gateway_writes_access_logs_with_the_source_address() -> None:
    resources = _resources()
    setting = resources["Api"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    for variable in (
        "$context.identity.sourceIp",
        "$context.status",
        "$context.requestId",
        "$context.resourcePath",
    ):
        assert variable in setting["Format"]
    for secret_bearing in ("Authorization", "Cookie", "$input", "$context.authorizer.principalId"):
        assert secret_bearing not in setting["Format"]
    assert "RetentionInDays" in resources["ApiAccessLogGroup"]["Properties"]


def test_the_account_level_cloudwatch_role_is_optional() -> None:
    template = load_template()
    resources = template["Resources"]
    assert template["Parameters"]["CreateApiGatewayAccountRole"]["Default"] == "false"
    for name in ("ApiGatewayCloudWatchRole", "ApiGatewayAccount"):
        assert resources[name]["Condition"] == "CreatesApiGatewayAccountRole"
    assert resources["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }


def test_a_verification_lock_raises_an_alarm() -> None:
    from ciq.metrics import Event

    alarm = _resources()["VerificationLockedAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("ConversionIQ", Event.VERIFICATION_LOCKED.value)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "auth"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_an_optional_waf_rate_limits_auth_routes_per_address() -> None:
    template = load_template()
    resources = template["Resources"]
    assert template["Parameters"]["EnableWaf"]["Default"] == "false"
    assert template["Conditions"]["HasWaf"] == {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]}
    acl, association = resources["AuthWebAcl"], resources["AuthWebAclAssociation"]
    assert acl["Condition"] == association["Condition"] == "HasWaf"
    (rule,) = acl["Properties"]["Rules"]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP" and rule["Action"] == {"Block": {}}
    match = statement["ScopeDownStatement"]["ByteMatchStatement"]
    assert (match["SearchString"], match["PositionalConstraint"]) == ("/api/auth/", "STARTS_WITH")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["AuthWebAcl", "Arn"]}


def test_the_per_address_auth_limit_is_a_parameter_of_the_auth_function() -> None:
    template = load_template()
    variables = template["Resources"]["AuthFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["SOURCE_ADDRESS_AUTH_LIMIT"] == {"Ref": "SourceAddressAuthLimit"}
    assert int(template["Parameters"]["SourceAddressAuthLimit"]["Default"]) == 100


def test_the_local_run_does_not_limit_its_one_address() -> None:
    from local.config import LOCAL_FUNCTION_VARIABLES

    assert int(LOCAL_FUNCTION_VARIABLES["SOURCE_ADDRESS_AUTH_LIMIT"]) >= 1_000_000
    assert int(LOCAL_FUNCTION_VARIABLES["SOURCE_ADDRESS_EMAIL_CHALLENGE_LIMIT"]) >= 1_000_000
