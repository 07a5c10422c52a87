"""What makes a run "local": the template parameter values of the `local` stage and the variables
that exist only here (outbox, fake credentials, embedded AWS). Every variable is documented in
docs/ops/local-run.md."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.template import ROOT

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

HOST = "127.0.0.1"  # never another interface: the local run has fixed codes and fake secrets
DEFAULT_PORT = 3000
DEFAULT_OUTBOX = ".local-outbox/outbox.jsonl"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account, so ARNs match what moto reports

# Template parameter values of the local stage (the rest keep their template defaults).
LOCAL_PARAMETERS: dict[str, str] = {
    "Stage": "local",
    "VerificationMode": "fixed",
    "CorsAllowOrigins": "http://localhost:*,http://127.0.0.1:*",
    "AuthSecretParameterName": "/ciq/local/auth-secret",
}

# Variables a handler sees only in the local run. EMAIL_SENDER replaces the template's `ses`.
LOCAL_FUNCTION_VARIABLES: dict[str, str] = {
    "EMAIL_SENDER": "outbox",
    # Every local caller is 127.0.0.1, and the test suites create thousands of accounts from it:
    # the per-address auth limit (100 per 15 min by default) would refuse them.
    "SOURCE_ADDRESS_AUTH_LIMIT": "100000000",
    "SOURCE_ADDRESS_EMAIL_CHALLENGE_LIMIT": "100000000",
    # No X-Ray daemon here; Powertools' Tracer would otherwise try to send segments.
    "POWERTOOLS_TRACE_DISABLED": "true",
}

FAKE_CREDENTIALS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


class LocalRunError(RuntimeError):
    """A configuration problem: the local run prints it and exits instead of serving wrong answers."""


@dataclass(frozen=True)
class LocalConfig:
    template_path: Path
    port: int
    outbox_path: str
    dynamodb_endpoint: str | None
    parameter_overrides: dict[str, str]
    enforce_timeouts: bool
    region: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], template_path: Path | None = None) -> LocalConfig:
        return cls(
            template_path=(template_path or ROOT / "template.yaml").resolve(),
            port=_port(environ.get("PORT", "")),
            outbox_path=environ.get("LOCAL_OUTBOX_PATH") or str(ROOT / DEFAULT_OUTBOX),
            dynamodb_endpoint=environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None,
            parameter_overrides=parse_parameter_overrides(environ.get("LOCAL_PARAMETER_OVERRIDES", "")),
            enforce_timeouts=environ.get("LOCAL_FUNCTION_TIMEOUTS", "on").lower()
            not in {"off", "0", "false"},
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or REGION,
        )


def _port(value: str) -> int:
    """PORT as the contract says (default 3000); 0 asks the OS for a free port (the tests use it)."""
    if not value.strip():
        return DEFAULT_PORT
    if not (value.strip().isascii() and value.strip().isdigit()) or int(value) > 65535:
        raise LocalRunError(f"PORT={value!r} is not a port number")
    return int(value)


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """`Key=Value Key2="a value"`, the format of `sam deploy --parameter-overrides`."""
    overrides = {}
    for item in shlex.split(text):
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise LocalRunError(f"LOCAL_PARAMETER_OVERRIDES: {item!r} is not Key=Value")
        overrides[key] = value
    return overrides


def parameter_values(template: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Template defaults, then the local stage's values, then the developer's overrides; each one
    checked against the parameter's AllowedValues/AllowedPattern like CloudFormation would."""
    declared: dict[str, Any] = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise LocalRunError(
            f"LOCAL_PARAMETER_OVERRIDES names parameters the template does not have: {unknown}"
        )
    values: dict[str, str] = {}
    for name, spec in declared.items():
        chosen = overrides.get(name, LOCAL_PARAMETERS.get(name, spec.get("Default")))
        if chosen is None:
            raise LocalRunError(f"template parameter {name} has no default and no local value")
        values[name] = _checked(name, str(chosen), spec)
    return values


def _checked(name: str, value: str, spec: Mapping[str, Any]) -> str:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in {str(item) for item in allowed}:
        raise LocalRunError(f"parameter {name}={value!r} is not one of {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise LocalRunError(f"parameter {name}={value!r} does not match {pattern}")
    return value


def pseudo_parameters(region: str) -> dict[str, str]:
    return {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::StackName": "ciq-local",
        "AWS::URLSuffix": "amazonaws.com",
    }
