"""template.yaml rendered for each deployed stage with samconfig.toml's values (local/stages.py, the
local run's intrinsic resolver): the differences between dev and prod that matter, proven without
an AWS account. docs/ops/deploy.md, "Dev and prod", lists them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from local.events import IncomingRequest
from local.gateway_responses import gateway_response
from local.stages import StageTemplate, samconfig, stage_template
from local.template import load_template

if TYPE_CHECKING:
    from local.stack import ApiSpec

TEMPLATE = load_template()
STAGES = ("dev", "prod")


@pytest.fixture(scope="module")
def dev() -> StageTemplate:
    return stage_template(TEMPLATE, "dev")


@pytest.fixture(scope="module")
def prod() -> StageTemplate:
    return stage_template(TEMPLATE, "prod")


def from_origin(origin: str | None) -> IncomingRequest:
    headers = [("Host", "abc.execute-api.us-east-1.amazonaws.com")]
    if origin is not None:
        headers.append(("Origin", origin))
    return IncomingRequest("GET", "/api/user-data", "", headers, b"", "203.0.113.9")


def allow_origin(api: ApiSpec, kind: str, origin: str | None) -> str | None:
    return gateway_response(api, kind, from_origin(origin)).header("access-control-allow-origin")


def with_overrides(stage: str, **values: str) -> StageTemplate:
    config = samconfig()
    parameters = config[stage]["deploy"]["parameters"]
    kept = [item for item in parameters["parameter_overrides"] if item.split("=", 1)[0] not in values]
    parameters["parameter_overrides"] = kept + [f"{key}={value}" for key, value in values.items()]
    return stage_template(TEMPLATE, stage, config)


# -- the template's Rules -----------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_passes_the_templates_rules(stage: str) -> None:
    # Given a stage's samconfig values; When the Rules are evaluated; Then none is broken
    assert stage_template(TEMPLATE, stage).broken_rules() == []


@pytest.mark.parametrize(
    ("stage", "values", "rule"),
    [
        ("prod", {"VerificationMode": "fixed", "EmailSender": "log"}, "FixedCodesNeverInProd"),
        ("dev", {"VerificationMode": "random"}, "RandomCodesAreEmailed"),
        ("prod", {"EmailSender": "log"}, "RandomCodesAreEmailed"),
        ("dev", {"EmailSender": "ses"}, "FixedCodesSendNoEmail"),
        ("dev", {"GatewayResponseOrigin": "https://dev.app.conversioniq.ai"}, "GatewayOriginIsTheAllowList"),
        ("prod", {"GatewayResponseOrigin": "reflect"}, "NoOriginReflectionInProd"),
    ],
)
def test_a_stage_that_breaks_a_rule_is_refused(stage: str, values: dict[str, str], rule: str) -> None:
    # Given a stage with values that contradict each other
    broken = with_overrides(stage, **values).broken_rules()
    # Then CloudFormation would refuse it, naming the rule
    assert any(line.startswith(f"{rule}:") for line in broken), broken


# -- CORS of API Gateway's own answers (GatewayResponses) ---------------------------------------


@pytest.mark.parametrize(
    "origin", ["https://dev.app.conversioniq.ai", "http://localhost:5173", "http://localhost:3001"]
)
@pytest.mark.parametrize("kind", ["UNAUTHORIZED", "AUTHORIZER_FAILURE", "THROTTLED", "RESOURCE_NOT_FOUND"])
def test_dev_gateway_answers_carry_every_allowed_origin(dev: StageTemplate, kind: str, origin: str) -> None:
    # Given dev (several allowed origins, localhost on any port); When API Gateway answers itself
    # Then the browser's origin is in Access-Control-Allow-Origin, so the frontend sees the 401
    assert allow_origin(dev.api(), kind, origin) == origin


def test_dev_gateway_answers_reflect_any_origin_and_none_without_one(dev: StageTemplate) -> None:
    # Given dev's reflect mode; Then a foreign origin is echoed too (API Gateway cannot filter; the
    # accepted cost on dev, docs/ops/deploy.md) and a request without Origin gets no CORS origin
    assert allow_origin(dev.api(), "UNAUTHORIZED", "https://evil.example") == "https://evil.example"
    assert allow_origin(dev.api(), "UNAUTHORIZED", None) is None


@pytest.mark.parametrize("origin", ["https://app.conversioniq.ai", "http://localhost:5173", None])
def test_prod_gateway_answers_carry_prods_one_origin_only(prod: StageTemplate, origin: str | None) -> None:
    # Given prod, whose allow-list is one origin; When API Gateway answers itself, whoever asks
    # Then the header is that origin: a browser on any other origin cannot read the answer
    assert prod.parameters["CorsAllowOrigins"] == "https://app.conversioniq.ai"
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED", "INTEGRATION_FAILURE"):  # the last via DEFAULT_5XX
        assert allow_origin(prod.api(), kind, origin) == "https://app.conversioniq.ai"


# -- verification codes and email -----------------------------------------------------------------


def auth_variables(stage: StageTemplate) -> dict[str, Any]:
    variables: dict[str, Any] = stage.resource("AuthFunction")["Environment"]["Variables"]
    return variables


def auth_actions(stage: StageTemplate) -> list[str]:
    statements = stage.resource("AuthFunction")["Policies"][0]["Statement"]
    return [action for statement in statements for action in statement["Action"]]


def test_dev_uses_the_fixed_code_and_sends_no_email(dev: StageTemplate) -> None:
    variables = auth_variables(dev)
    assert (variables["VERIFICATION_MODE"], variables["EMAIL_SENDER"]) == ("fixed", "log")
    assert "ses:SendEmail" not in auth_actions(dev)


def test_prod_emails_random_codes_through_ses(prod: StageTemplate) -> None:
    variables = auth_variables(prod)
    assert (variables["VERIFICATION_MODE"], variables["EMAIL_SENDER"]) == ("random", "ses")
    assert variables["EMAIL_FROM_ADDRESS"] == "no-reply@conversioniq.ai"
    assert "ses:SendEmail" in auth_actions(prod)


# -- alarms -------------------------------------------------------------------------------------


def test_prod_alarms_notify_a_topic_cloudwatch_can_publish_to(prod: StageTemplate) -> None:
    # Given prod (AlarmEmail set): the topic exists, with the email subscribed
    assert prod.exists("AlarmTopic") and prod.exists("AlarmTopicKey")
    topic = prod.resource("AlarmTopic")
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": "ops@conversioniq.ai"}]
    # Then it is encrypted with the stack's own key (never alias/aws/sns, which CloudWatch cannot use)
    assert topic["KmsMasterKeyId"] == "<AlarmTopicKey>"
    statements = prod.resource("AlarmTopicKey")["KeyPolicy"]["Statement"]
    [cloudwatch] = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    # And every alarm notifies it
    for logical_id, resource in TEMPLATE["Resources"].items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            assert prod.resource(logical_id)["AlarmActions"] == ["<AlarmTopic>"], logical_id


def test_dev_alarms_exist_but_notify_nobody(dev: StageTemplate) -> None:
    assert not dev.exists("AlarmTopic") and not dev.exists("AlarmTopicKey")
    alarms = [lid for lid, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) >= 12
    for logical_id in alarms:
        assert "AlarmActions" not in dev.resource(logical_id), logical_id


# -- rollout --------------------------------------------------------------------------------------

ROLLBACK_ALARMS = [
    "ApiServerErrorsAlarm",
    "AuthorizerFailuresAlarm",
    "AuthErrorsAlarm",
    "UserDataErrorsAlarm",
    "SetupStatusErrorsAlarm",
    "LiveAgentsErrorsAlarm",
    "LiveErrorsAlarm",
    "LiveNotifyErrorsAlarm",
]


@pytest.mark.parametrize(("stage", "rollout"), [("dev", "AllAtOnce"), ("prod", "Canary10Percent10Minutes")])
def test_every_function_is_published_behind_an_alias_and_rolled_out_per_stage(
    stage: str, rollout: str
) -> None:
    # Given a stage; When SAM applies Globals.Function to every function
    rendered = stage_template(TEMPLATE, stage).function_globals()
    functions = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    # Then each deploy publishes a version behind `live`, shifted by CodeDeploy as the stage says,
    # and rolled back when the API's 5xx, the authorizer's failures or a function's crashes alarm
    assert rendered["AutoPublishAlias"] == "live"
    assert rendered["DeploymentPreference"]["Type"] == rollout
    assert rendered["DeploymentPreference"]["Alarms"] == [f"<{alarm}>" for alarm in ROLLBACK_ALARMS]
    assert all("AutoPublishAlias" not in f["Properties"] for f in functions)  # none opts out
    assert all("DeploymentPreference" not in f["Properties"] for f in functions)


def test_a_new_layer_publishes_a_new_version_of_every_function() -> None:
    # Given the business rules in the shared layer: SAM's AutoPublishAlias alone publishes a version
    # only when a function's own code changes, so a layer-only deploy would keep the old layer
    functions = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    # Then every function versions on any property change, and the layer asks for it
    assert all(f["Properties"]["AutoPublishAliasAllProperties"] is True for f in functions)
    assert TEMPLATE["Resources"]["SharedLayer"]["Properties"]["PublishLambdaVersion"] is True


def test_the_authorizer_is_invoked_through_its_alias() -> None:
    authorizer = TEMPLATE["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["SessionAuthorizer"]
    assert authorizer["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}
    # And the local run still finds the function behind it
    assert stage_template(TEMPLATE, "dev").api().stage == "dev"


# -- data, logs and the functions' CORS -------------------------------------------------------------


@pytest.mark.parametrize(("stage", "protected"), [("dev", False), ("prod", True)])
def test_the_table_is_kept_and_recoverable_and_only_prod_is_deletion_protected(
    stage: str, protected: bool
) -> None:
    rendered = stage_template(TEMPLATE, stage)
    table = rendered.resource("DataTable")
    assert table["DeletionProtectionEnabled"] is protected
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["TableName"] == f"ciq-{stage}-data"
    declared = TEMPLATE["Resources"]["DataTable"]
    assert (declared["DeletionPolicy"], declared["UpdateReplacePolicy"]) == ("Retain", "Retain")


@pytest.mark.parametrize(("stage", "days"), [("dev", 14), ("prod", 90)])
def test_every_function_logs_to_its_own_group_kept_for_the_stages_retention(stage: str, days: int) -> None:
    rendered = stage_template(TEMPLATE, stage)
    functions = [lid for lid, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    for function in functions:
        group = rendered.resource(function)["LoggingConfig"]["LogGroup"].strip("<>")
        assert int(rendered.resource(group)["RetentionInDays"]) == days, function  # a Number parameter
        name = rendered.resource(function)["FunctionName"]
        assert rendered.resource(group)["LogGroupName"] == f"/aws/lambda/{name}"


@pytest.mark.parametrize(
    ("stage", "origins"),
    [
        ("dev", "https://dev.app.conversioniq.ai,http://localhost:*"),
        ("prod", "https://app.conversioniq.ai"),
    ],
)
def test_the_functions_allow_the_stages_origins_only(stage: str, origins: str) -> None:
    rendered = stage_template(TEMPLATE, stage)
    assert rendered.function_globals()["Environment"]["Variables"]["CORS_ALLOW_ORIGINS"] == origins
    assert "*" not in origins.replace("localhost:*", "")
    assert ("localhost" in origins) is (stage != "prod")
