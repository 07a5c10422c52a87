"""What makes a run "local": the template parameter values of the `local` stage and the variables
that exist only here (outbox, fake credentials, embedded AWS). Every variable is documented in
docs/ops/local-run.md."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.template import ROOT

if TYPE_CHECKING:
    from collections.abc import Mapping

HOST = "127.0.0.1"  # never another interface: the local run has fixed codes and fake secrets
DEFAULT_PORT = 4000  # not 3000: that is the Next.js dev server's
DEFAULT_STATE_DIR = ".local-state"
STORES = ("disk", "memory")
UPSTREAM_BEHAVIOURS = ("ok", "slow", "fail", "throttle")
DEFAULT_OUTBOX = ".local-outbox/outbox.jsonl"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account, so ARNs match what moto reports

# Template parameter values of the local stage (the rest keep their template defaults).
LOCAL_PARAMETERS: dict[str, str] = {
    "Stage": "local",
    "VerificationMode": "fixed",
    "CorsAllowOrigins": "http://localhost:*,http://127.0.0.1:*",
    "AuthSecretParameterName": "/ciq/local/auth-secret",
    "EmailSender": "log",  # what the template's Rules require with fixed codes (outbox replaces it below)
}

# Variables a handler sees only in the local run. EMAIL_SENDER replaces the template's EmailSender.
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
    store: str = "disk"  # disk: DynamoDB Local in state_dir; memory: moto, nothing survives
    state_dir: Path = ROOT / DEFAULT_STATE_DIR
    demo: bool = False  # seed the demo account (local/demo.py)
    upstream: str | None = None  # a local live-agents upstream: None, or one of UPSTREAM_BEHAVIOURS
    json_logs: bool = False  # the functions' own Powertools/EMF JSON lines, instead of one line per request

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
            store=_choice("LOCAL_STORE", environ.get("LOCAL_STORE") or "disk", STORES),
            state_dir=Path(environ.get("LOCAL_STATE_DIR") or ROOT / DEFAULT_STATE_DIR).resolve(),
            demo=_switch(environ.get("LOCAL_DEMO", "")),
            upstream=_upstream(environ.get("LOCAL_UPSTREAM", "")),
            json_logs=(environ.get("LOCAL_LOG") or "lines").lower() == "json",
        )

    @property
    def function_log(self) -> Path:
        return self.state_dir / "functions.log"

    @property
    def persistent(self) -> bool:
        """Data survives a restart: DynamoDB Local on disk, or another DynamoDB the developer names."""
        return self.store == "disk" or self.dynamodb_endpoint is not None


def _switch(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value.lower() not in allowed:
        raise LocalRunError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value.lower()


def _upstream(value: str) -> str | None:
    """LOCAL_UPSTREAM: empty/off = store mode (the default); on = a healthy local upstream; or how it
    misbehaves (slow, fail, throttle) to show the degraded path."""
    value = value.strip().lower()
    if value in {"", "0", "off", "false", "no"}:
        return None
    if value in {"1", "on", "true", "yes"}:
        return "ok"
    return _choice("LOCAL_UPSTREAM", value, UPSTREAM_BEHAVIOURS)


def _port(value: str) -> int:
    """PORT as the contract says (default 4000); 0 asks the OS for a free port (the tests use it)."""
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


def parameter_values(
    template: dict[str, Any], overrides: Mapping[str, str], stage_values: Mapping[str, str] = LOCAL_PARAMETERS
) -> dict[str, str]:
    """Template defaults, then the stage's values (the local stage's unless told), then the
    overrides; each one checked against the parameter's AllowedValues/AllowedPattern like
    CloudFormation would. local/stages.py passes samconfig.toml's values as the overrides and no
    stage values, which is what `sam deploy --config-env <stage>` hands CloudFormation."""
    declared: dict[str, Any] = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise LocalRunError(
            f"LOCAL_PARAMETER_OVERRIDES names parameters the template does not have: {unknown}"
        )
    values: dict[str, str] = {}
    for name, spec in declared.items():
        chosen = overrides.get(name, stage_values.get(name, spec.get("Default")))
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
