"""`python -m local.invoke events/<name>.json`: one handler, one event, no Docker and no AWS.

The function comes from template.yaml (the route the event's `resource` and `httpMethod` name, or
the API's authorizer for an authorizer event with a `methodArn`, or `--function <LogicalId>`); its
environment, tables and auth secret are the local run's (embedded moto, `local/run.py`'s plan), so
the handler runs exactly as behind `make run`. Prints the handler's result as JSON on stdout (with
the base64 body decoded under `decodedBody` when it is text), and the function's own output on
stderr. `--signed-in` first signs a new account up through the auth function and the authorizer
and puts that session into the event's authorizer context (protected routes otherwise answer 401:
the sample events name a user that does not exist here). Exit 0 when the handler returned, 1 when
it raised or failed to import, 2 on a usage error.
docs/ops/local-run.md, "One handler, one event"."""

from __future__ import annotations

import argparse
import base64
import binascii
import gzip
import json
import os
import sys
import traceback
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.aws import EmbeddedAws
from local.config import LocalConfig, LocalRunError
from local.environment import apply
from local.events import lambda_context, with_body
from local.functions import add_layers, load_functions
from local.run import AUTH_SECRET_PARAMETER, plan
from local.state import new_auth_secret

FIXED_CODE = "123456"  # the local stage's VerificationMode=fixed code (ciq/auth/codes.py)

if TYPE_CHECKING:
    from local.run import Plan
    from local.stack import Stack


def function_for(stack: Stack, event: dict[str, Any]) -> str:
    """The logical id of the function that receives this event in the template."""
    if "methodArn" in event:
        authorizers = {route.authorizer.function_id for route in stack.routes if route.authorizer}
        if len(authorizers) != 1:
            raise LocalRunError(f"an authorizer event, but the template has {len(authorizers)} authorizers")
        return authorizers.pop()
    if "eventType" in (event.get("requestContext") or {}) and stack.socket_function:
        return stack.socket_function  # a WebSocket route ($connect, $disconnect, $default)
    if any(record.get("eventSource") == "aws:dynamodb" for record in event.get("Records") or []):
        if len(stack.stream_functions) != 1:
            count = len(stack.stream_functions)
            raise LocalRunError(f"a stream event, but the template has {count} stream functions")
        return stack.stream_functions[0]
    resource, method = str(event.get("resource")), str(event.get("httpMethod"))
    routes = {(route.resource, route.method): route.function_id for route in stack.routes}
    found = routes.get((resource, method)) or routes.get((resource, "ANY"))
    if found is None:
        raise LocalRunError(f"no route {method} {resource} in the template: name it with --function")
    return found


def invoke(planned: Plan, config: LocalConfig, function_id: str, event: dict[str, Any]) -> dict[str, Any]:
    if function_id not in planned.stack.functions:
        raise LocalRunError(f"no function {function_id} in the template: {sorted(planned.stack.functions)}")
    spec = planned.stack.functions[function_id]
    add_layers([spec])
    loaded = load_functions([spec], planned.environment.import_time)[function_id]
    if loaded.handler is None:
        raise LocalRunError(f"{function_id} failed to import:\n{loaded.error}")
    result: dict[str, Any] = loaded.handler(event, lambda_context(spec, config.region))
    return result


def signed_in(planned: Plan, config: LocalConfig, events_dir: Path) -> tuple[dict[str, str], str]:
    """A new account's authorizer context and token, made the real way: sign-up, verify with the local fixed
    code, then the authorizer on the session as a Bearer header (events/auth-*.json,
    authorizer-request.json). Bearer, not the cookie: a cookie session's writes are refused from an
    Origin outside the stage's allow-list (CSRF), and the sample events carry the app's origin."""

    def sample(name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((events_dir / f"{name}.json").read_text())
        return loaded

    started = invoke(planned, config, "AuthFunction", sample("auth-sign-up"))
    challenge = json.loads(started["body"])["challengeId"]
    verify = with_body(sample("auth-verify"), json.dumps({"challengeId": challenge, "code": FIXED_CODE}))
    token = json.loads(invoke(planned, config, "AuthFunction", verify)["body"])["token"]
    request = sample("authorizer-request")
    as_bearer(request, token)
    authorizer = function_for(planned.stack, request)
    context: dict[str, str] = invoke(planned, config, authorizer, request)["context"]
    return context, token


def as_bearer(event: dict[str, Any], token: str) -> None:
    """The event carries the session as a Bearer header, as the authorizer saw it (no cookie)."""
    for section in ("headers", "multiValueHeaders"):
        headers = event.get(section) or {}
        for name in [name for name in headers if name.lower() in {"cookie", "authorization"}]:
            del headers[name]
        headers["Authorization"] = f"Bearer {token}" if section == "headers" else [f"Bearer {token}"]
        event[section] = headers


def readable(result: Any) -> Any:
    """The result, plus its body as text when the body is base64 (gzip or deflate too) of UTF-8 text."""
    encoded = isinstance(result, dict) and result.get("isBase64Encoded")
    if not (encoded and isinstance(result.get("body"), str)):
        return result
    try:
        data = base64.b64decode(result["body"], validate=True)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        elif "deflate" in (result.get("multiValueHeaders") or {}).get("Content-Encoding", []):
            data = zlib.decompress(data)
        return {**result, "decodedBody": data.decode("utf-8")}
    except (binascii.Error, UnicodeDecodeError, OSError, zlib.error):
        return result


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.invoke", description="Invoke one handler on one event, locally."
    )
    parser.add_argument("event", type=Path, help="an API Gateway event, e.g. events/user-data-get.json")
    parser.add_argument("--function", help="the function's logical id (default: the event's route)")
    parser.add_argument("--template", type=Path, default=None, help="SAM template (default: template.yaml)")
    parser.add_argument(
        "--signed-in",
        action="store_true",
        help="sign a new account up first and put its session in the event's authorizer context",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    try:
        event = json.loads(arguments.event.read_text())
        config = LocalConfig.from_environ(os.environ, arguments.template)
        planned = plan(config)
        function_id = arguments.function or function_for(planned.stack, event)
    except (OSError, ValueError, LocalRunError) as error:
        print(f"local.invoke: {error}", file=sys.stderr)
        return 2
    apply(planned.environment, os.environ)
    aws = EmbeddedAws(config.dynamodb_endpoint)
    aws.start()
    try:
        aws.create_tables(planned.template, planned.stack.table_names)
        if AUTH_SECRET_PARAMETER in planned.parameters:
            aws.put_secret(planned.parameters[AUTH_SECRET_PARAMETER], new_auth_secret())
        # The function's own prints and logs go to stderr: stdout is the result alone.
        stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            if arguments.signed_in:
                context, token = signed_in(planned, config, arguments.event.resolve().parent)
                identity = {**context, "principalId": context["userId"]}
                event.setdefault("requestContext", {})["authorizer"] = identity
                as_bearer(event, token)
            result = invoke(planned, config, function_id, event)
        finally:
            sys.stdout = stdout
    except LocalRunError as error:
        print(f"local.invoke: {error}", file=sys.stderr)
        return 1
    except Exception:  # the handler raised: Lambda would report the error; so do we
        traceback.print_exc(file=sys.stderr)
        return 1
    finally:
        aws.stop()
    print(json.dumps(readable(result), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
