"""A small SAM template with tiny handlers, written to a temporary folder, so the local run is
tested on its own: routing, the authorizer contract, response mapping and limits, whatever the
product's functions do. It uses the real shared layer (the local run takes its CORS rule from it)."""

from __future__ import annotations

import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  CorsAllowOrigins:
    Type: String
    Default: "http://localhost:*"
  GatewayResponseOrigin:
    Type: String
    Default: reflect
  AuthSecretParameterName:
    Type: String
    Default: /ciq/dev/auth-secret
Conditions:
  ReflectsGatewayOrigin: !Equals [!Ref GatewayResponseOrigin, reflect]
Globals:
  Function:
    Runtime: python3.13
    Timeout: 10
    MemorySize: 256
    Layers: [!Ref SharedLayer]
    Environment:
      Variables:
        STAGE: !Ref Stage
        TABLE_NAME: !Ref DataTable
        TABLE_ARN: !GetAtt DataTable.Arn
        CORS_ALLOW_ORIGINS: !Ref CorsAllowOrigins
        AUTH_SECRET_PARAM: !Ref AuthSecretParameterName
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: "{layer}"
  DataTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub throwaway-${{Stage}}-data
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {{AttributeName: pk, AttributeType: S}}
        - {{AttributeName: sk, AttributeType: S}}
      KeySchema:
        - {{AttributeName: pk, KeyType: HASH}}
        - {{AttributeName: sk, KeyType: RANGE}}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      BinaryMediaTypes: ["*~1*"]
      Auth:
        DefaultAuthorizer: TestAuthorizer
        Authorizers:
          TestAuthorizer:
            FunctionPayloadType: REQUEST
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            Identity:
              ReauthorizeEvery: 0
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: 401
          ResponseParameters: &Cors
            Headers:
              Access-Control-Allow-Origin: !If
                - ReflectsGatewayOrigin
                - method.request.header.Origin
                - !Sub "'${{GatewayResponseOrigin}}'"
              Access-Control-Allow-Credentials: "'true'"
              X-Request-Echo: method.request.header.X-Trace
          ResponseTemplates:
            application/json: '{{"error":{{"code":"unauthorized","message":"no session","details":[]}}}}'
        ACCESS_DENIED:
          StatusCode: 403
          ResponseParameters: *Cors
          ResponseTemplates:
            application/json: '{{"error":{{"code":"forbidden","message":"denied","details":[]}}}}'
        MISSING_AUTHENTICATION_TOKEN:
          StatusCode: 404
          ResponseParameters: *Cors
          ResponseTemplates:
            application/json: '{{"error":{{"code":"not_found","message":"no such route","details":[]}}}}'
        REQUEST_TOO_LARGE:
          StatusCode: 413
          ResponseParameters: *Cors
          ResponseTemplates:
            application/json: '{{"error":{{"code":"payload_too_large","message":"too large","details":[]}}}}'
        AUTHORIZER_FAILURE:
          StatusCode: 503
          ResponseParameters: *Cors
          ResponseTemplates:
            application/json: '{{"error":{{"code":"dependency_unavailable","message":"retry","details":[]}}}}'
        DEFAULT_5XX:
          ResponseParameters: *Cors
          ResponseTemplates:
            application/json: >-
              {{"error":{{"code":"internal_error","message":$context.error.messageString,
              "type":"$context.error.responseType"}}}}
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: authorizer/
      Handler: app.lambda_handler
      Timeout: 5
      Environment:
        Variables:
          POWERTOOLS_SERVICE_NAME: authorizer
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub throwaway-${{Stage}}-echo
      CodeUri: echo/
      Handler: app.lambda_handler
      Environment:
        Variables:
          POWERTOOLS_SERVICE_NAME: echo
      Events:
        Items:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /items, Method: GET}}
        ItemsPreflight:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /items
            Method: OPTIONS
            Auth: &Public {{Authorizer: NONE}}
        ItemsOther:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /items, Method: ANY}}
        Item:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: "/items/{{itemId}}", Method: GET}}
        ItemsSearch:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /items/search, Method: GET, Auth: *Public}}
        Echo:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /public/echo, Method: ANY, Auth: *Public}}
        Cookies:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /public/cookies, Method: GET, Auth: *Public}}
        Gzip:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /public/gzip, Method: GET, Auth: *Public}}
        Boom:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /public/boom, Method: GET, Auth: *Public}}
        Malformed:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /public/malformed, Method: GET, Auth: *Public}}
        Barrier:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /public/barrier, Method: GET, Auth: *Public}}
        Claim:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: "/public/claim/{{key}}", Method: POST, Auth: *Public}}
        Files:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: "/files/{{path+}}", Method: ANY, Auth: *Public}}
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: slow/
      Handler: app.lambda_handler
      Timeout: 1
      Events:
        Slow:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /public/slow, Method: GET, Auth: *Public}}
  BrokenFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: broken/
      Handler: app.lambda_handler
      Events:
        Broken:
          Type: Api
          Properties: {{RestApiId: !Ref Api, Path: /public/broken, Method: GET, Auth: *Public}}
"""

AUTHORIZER = '''
"""Decides by the Authorization header; appends every event it gets to $AUTHORIZER_LOG."""
import json
import os

import helpers

SERVICE_AT_IMPORT = os.environ.get("POWERTOOLS_SERVICE_NAME")


def lambda_handler(event, context):
    with open(os.environ["AUTHORIZER_LOG"], "a") as log:
        log.write(json.dumps({"event": event, "helper": helpers.NAME, "service": SERVICE_AT_IMPORT}) + "\\n")
    token = next((v for k, v in (event.get("headers") or {}).items() if k.lower() == "authorization"), "")
    if token == "Bearer allow":
        context = {"userId": "u-1", "sessionId": "s-1", "n": 7, "flag": True}
        return policy("Allow", event["methodArn"], context)
    if token == "Bearer allow-other-route":
        return policy("Allow", event["methodArn"].rsplit("/", 2)[0] + "/GET/nothing-here", {})
    if token == "Bearer deny":
        return policy("Deny", event["methodArn"], {})
    if token == "Bearer boom":
        raise RuntimeError("the session store is down")
    if token == "Bearer malformed":
        return {"principalId": "u-1"}
    raise Exception("Unauthorized")


def policy(effect, resource, context):
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    return {
        "principalId": "u-1",
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": context,
    }
'''

ECHO = '''
"""Answers by resource path; most routes echo the proxy event back as JSON."""
import base64
import gzip
import json
import os
import threading

import boto3
import helpers

SERVICE_AT_IMPORT = os.environ.get("POWERTOOLS_SERVICE_NAME")
_barriers = {}
_barriers_lock = threading.Lock()
_dynamodb = None


def lambda_handler(event, context):
    return ROUTES.get(event["resource"], echo)(event, context)


def respond(status, body, headers=None, multi=None):
    response = {"statusCode": status, "body": json.dumps(body), "headers": headers or {}}
    if multi:
        response["multiValueHeaders"] = multi
    return response


def echo(event, context):
    return respond(200, {
        "event": event,
        "helper": helpers.NAME,
        "serviceAtImport": SERVICE_AT_IMPORT,
        "serviceNow": os.environ.get("POWERTOOLS_SERVICE_NAME"),
        "functionName": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remainingMs": context.get_remaining_time_in_millis(),
        "tableName": os.environ.get("TABLE_NAME"),
        "tableArn": os.environ.get("TABLE_ARN"),
        "stage": os.environ.get("STAGE"),
        "emailSender": os.environ.get("EMAIL_SENDER"),
        "authSecret": auth_secret_shape(),
    })


def auth_secret_shape():
    """The seeded SecureString, read the way the product reads it (decrypted); only its shape."""
    value = boto3.client("ssm").get_parameter(Name=os.environ["AUTH_SECRET_PARAM"], WithDecryption=True)
    secret = json.loads(value["Parameter"]["Value"])
    key = base64.urlsafe_b64decode(secret["keys"][secret["activeKid"]])
    return {"activeKid": secret["activeKid"], "keyBytes": len(key), "hasPepper": bool(secret["pepper"])}


def items(event, context):
    if event["httpMethod"] == "GET":
        return echo(event, context)
    if event["httpMethod"] == "OPTIONS":
        return {"statusCode": 204, "headers": {"Access-Control-Allow-Methods": "GET, OPTIONS"}, "body": ""}
    return respond(405, {"error": {"code": "method_not_allowed"}}, {"Allow": "GET, OPTIONS"})


def cookies(event, context):
    return respond(
        200, {"ok": True}, {"X-Single": "one", "Set-Cookie": "c=3; Path=/"},
        {"Set-Cookie": ["a=1; Path=/; HttpOnly", "b=2; Path=/"], "X-Multi": ["x", "y"]},
    )


def gzip_body(event, context):
    raw = json.dumps({"big": "x" * 5000}).encode()
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        "body": base64.b64encode(gzip.compress(raw)).decode(),
        "isBase64Encoded": True,
    }


def boom(event, context):
    raise RuntimeError("the handler blew up")


def malformed(event, context):
    return {"statusCode": 200, "body": {"not": "a string"}}


def barrier(event, context):
    """Waits up to `timeout` seconds for `parties` invocations of `group` to be inside handlers at
    once; answers whether they met. A broken barrier (timed out) stays broken for its group."""
    query = event.get("queryStringParameters") or {}
    group, parties = query.get("group"), int(query.get("parties", "2"))
    with _barriers_lock:
        waiting = _barriers.setdefault(group, threading.Barrier(parties))
    try:
        waiting.wait(timeout=float(query.get("timeout", "1")))
    except threading.BrokenBarrierError:
        return respond(200, {"met": False, "requestId": event["requestContext"]["requestId"]})
    return respond(200, {"met": True, "requestId": event["requestContext"]["requestId"]})


def claim(event, context):
    global _dynamodb
    if _dynamodb is None:
        _dynamodb = boto3.client("dynamodb")
    key = event["pathParameters"]["key"]
    me = event["requestContext"]["requestId"]
    mode = (event.get("queryStringParameters") or {}).get("mode", "put")
    table = os.environ["TABLE_NAME"]
    condition = "attribute_not_exists(#o)"
    try:
        if mode == "update":
            _dynamodb.update_item(
                TableName=table, Key={"pk": {"S": key}, "sk": {"S": "claim"}},
                UpdateExpression="SET #o = :me", ConditionExpression=condition,
                ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":me": {"S": me}},
            )
        elif mode == "transact":
            _dynamodb.transact_write_items(TransactItems=[
                {"Put": {
                    "TableName": table,
                    "Item": {"pk": {"S": key}, "sk": {"S": "claim"}, "owner": {"S": me}},
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#o": "owner"},
                }},
                {"Put": {"TableName": table, "Item": {"pk": {"S": key}, "sk": {"S": "by-" + me}}}},
            ])
        else:
            _dynamodb.put_item(
                TableName=table, Item={"pk": {"S": key}, "sk": {"S": "claim"}, "owner": {"S": me}},
                ConditionExpression=condition, ExpressionAttributeNames={"#o": "owner"},
            )
    except _dynamodb.exceptions.ConditionalCheckFailedException:
        return respond(409, {"won": False})
    except _dynamodb.exceptions.TransactionCanceledException:
        return respond(409, {"won": False})
    return respond(201, {"won": True, "owner": me})


ROUTES = {
    "/items": items,
    "/public/cookies": cookies,
    "/public/gzip": gzip_body,
    "/public/boom": boom,
    "/public/malformed": malformed,
    "/public/barrier": barrier,
    "/public/claim/{key}": claim,
}
'''

SLOW = """
import time


def lambda_handler(event, context):
    time.sleep(1.3)  # longer than the function's Timeout of 1 s
    return {"statusCode": 200, "body": "{}"}
"""

BROKEN = """
raise ImportError("this function cannot start")
"""


def write_throwaway_stack(directory: Path) -> Path:
    """Writes the template and the function folders; returns the template's path."""
    files = {
        "template.yaml": TEMPLATE.format(layer=ROOT / "layers" / "shared"),
        "authorizer/app.py": AUTHORIZER,
        "authorizer/helpers.py": 'NAME = "authorizer-helpers"\n',
        "echo/app.py": ECHO,
        "echo/helpers.py": 'NAME = "echo-helpers"\n',
        "slow/app.py": SLOW,
        "broken/app.py": BROKEN,
    }
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return directory / "template.yaml"
