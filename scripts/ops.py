#!/usr/bin/env python3
"""Operations on a deployed stage, with boto3 (the SAM CLI's environment has it: `make secret`,
`make deploy` and `make smoke STAGE=...` run this with .venv-sam/bin/python). docs/ops/deploy.md is
the checklist that uses it.

    ops.py secret --stage dev              create the auth secret if missing, else show its state
    ops.py secret --stage dev rotate       add a signing key, make it active, keep the old ones
    ops.py secret --stage dev retire       remove the inactive keys, once no token they signed lives
    ops.py preflight --stage prod          what a first deploy needs: the secret, SES for emailed codes
    ops.py api-url --stage dev             the deployed stack's ApiUrl output

The stage's region, stack name and parameter values come from samconfig.toml, like `sam deploy
--config-env <stage>`. The secret's format is the layer's (ciq/auth/secret.py): {"activeKid",
"keys": {kid: base64url of 32 random bytes}, "pepper"}. The pepper is created once and never
changed (it addresses every account's email item). No key or pepper value is ever printed.

Exit codes: 0 done, 1 refused or not ready (the message says what to do), 2 usage error."""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import shlex
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parent.parent
SAMCONFIG = ROOT / "samconfig.toml"
KEY_BYTES = 32
# A token lives SESSION_TTL_SECONDS (12 h, the template leaves the default), and a warm sandbox may
# keep signing with the previous active key for SECRETS_MAX_AGE_SECONDS (300 s) after a rotation.
SESSION_LIFETIME = timedelta(hours=12)
SECRET_CACHE_AGE = timedelta(seconds=300)
RETIRE_AFTER = SESSION_LIFETIME + SECRET_CACHE_AGE
_KID = re.compile(r"^k(\d+)$")


class NotReady(Exception):
    """Refused, or the stage is not ready: the message says what to do."""


@dataclass(frozen=True)
class Stage:
    name: str
    region: str
    stack_name: str
    parameters: dict[str, str]

    @property
    def secret_name(self) -> str:
        return self.parameters.get("AuthSecretParameterName", f"/ciq/{self.name}/auth-secret")


def stage_of(name: str, samconfig: Path = SAMCONFIG) -> Stage:
    config = tomllib.loads(samconfig.read_text())
    try:
        deploy = config[name]["deploy"]["parameters"]
    except KeyError:
        raise NotReady(f"samconfig.toml has no [{name}.deploy.parameters]: STAGE is dev or prod") from None
    overrides = deploy.get("parameter_overrides", [])
    items = shlex.split(overrides) if isinstance(overrides, str) else list(overrides)
    parameters = dict(item.split("=", 1) for item in items)
    return Stage(name, deploy["region"], deploy["stack_name"], parameters)


# -- the auth secret --------------------------------------------------------------------------------


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def new_secret() -> dict[str, Any]:
    return {"activeKid": "k1", "keys": {"k1": new_key()}, "pepper": new_key()}


def rotated(secret: dict[str, Any]) -> dict[str, Any]:
    """A new key id after the highest `k<n>`, made active; every existing key stays (tokens they
    signed are still valid), and the pepper is untouched."""
    numbers = [int(m.group(1)) for kid in secret["keys"] if (m := _KID.match(kid))]
    kid = f"k{max(numbers, default=0) + 1}"
    return {**secret, "activeKid": kid, "keys": {**secret["keys"], kid: new_key()}}


def retired(secret: dict[str, Any], last_change: datetime, now: datetime) -> dict[str, Any]:
    """Only the active key is kept, once every token signed by another key has expired."""
    inactive = sorted(set(secret["keys"]) - {secret["activeKid"]})
    if not inactive:
        raise NotReady("nothing to retire: the active key is the only one")
    ready_at = last_change + RETIRE_AFTER
    if now < ready_at:
        raise NotReady(
            f"too early: tokens signed by {', '.join(inactive)} may live until {ready_at:%Y-%m-%d %H:%M} UTC "
            f"(the last change, {last_change:%Y-%m-%d %H:%M} UTC, + 12 h sessions + 5 min cache)"
        )
    active = secret["activeKid"]
    return {**secret, "keys": {active: secret["keys"][active]}}


def describe(secret: dict[str, Any], last_change: datetime) -> str:
    kids = ", ".join(sorted(secret["keys"]))
    return f"keys {kids}; active {secret['activeKid']}; last changed {last_change:%Y-%m-%d %H:%M} UTC"


def check_format(secret: dict[str, Any]) -> None:
    """The layer's rules (ciq.auth.secret.AuthSecret), restated with the standard library only."""
    keys = secret.get("keys")
    if not isinstance(keys, dict) or not keys or secret.get("activeKid") not in keys:
        raise NotReady("the secret's activeKid must name one of its keys")
    for name, value in [*keys.items(), ("pepper", secret.get("pepper"))]:
        if not isinstance(value, str) or len(_decoded(value)) < KEY_BYTES:
            raise NotReady(f"the secret's {name} must be base64url of at least {KEY_BYTES} bytes")


def _decoded(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return b""


class SecretStore:
    """The SecureString in SSM (encrypted with the account's alias/aws/ssm key)."""

    def __init__(self, ssm: Any, name: str) -> None:
        self.ssm, self.name = ssm, name

    def read(self) -> tuple[dict[str, Any], datetime] | None:
        try:
            found = self.ssm.get_parameter(Name=self.name, WithDecryption=True)["Parameter"]
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return json.loads(found["Value"]), found["LastModifiedDate"]

    def write(self, secret: dict[str, Any], *, overwrite: bool) -> None:
        check_format(secret)
        self.ssm.put_parameter(
            Name=self.name,
            Type="SecureString",
            Value=json.dumps(secret),
            Overwrite=overwrite,
            Description="ConversionIQ session signing keys and email pepper (scripts/ops.py secret)",
        )


def secret_command(store: SecretStore, action: str, now: datetime) -> str:
    current = store.read()
    if current is None:
        if action != "create":
            raise NotReady(f"{store.name} does not exist yet: run `make secret STAGE=<stage>` first")
        store.write(new_secret(), overwrite=False)
        return f"created {store.name}: keys k1; active k1"
    secret, last_change = current
    check_format(secret)
    if action == "create":
        return f"{store.name} exists (nothing changed): {describe(secret, last_change)}"
    if action == "rotate":
        secret = rotated(secret)
        store.write(secret, overwrite=True)
        ready = now + RETIRE_AFTER
        return (
            f"rotated {store.name}: active {secret['activeKid']}, keys {', '.join(sorted(secret['keys']))}; "
            f"retire the old keys after {ready:%Y-%m-%d %H:%M} UTC (make secret STAGE=... ACTION=retire)"
        )
    if action == "retire":
        secret = retired(secret, last_change, now)
        store.write(secret, overwrite=True)
        active = secret["activeKid"]
        return f"retired the old keys of {store.name}: keys {active}; active {active}"
    raise NotReady(f"unknown action {action!r}: create, rotate or retire")


# -- before a deploy --------------------------------------------------------------------------------


def preflight(stage: Stage, clients: Any) -> list[str]:
    """What `sam deploy` cannot check: raises NotReady with every missing piece, else the findings."""
    missing, found = [], []
    current = SecretStore(clients("ssm"), stage.secret_name).read()
    if current is None:
        missing.append(f"the auth secret {stage.secret_name}: run `make secret STAGE={stage.name}`")
    else:
        check_format(current[0])
        found.append(f"auth secret {stage.secret_name}: {describe(*current)}")
    if stage.parameters.get("EmailSender", "ses") == "ses":
        sender = stage.parameters.get("EmailFromAddress", "")
        if not sender:
            missing.append(f"EmailFromAddress in [{stage.name}.deploy.parameters] of samconfig.toml")
        else:
            gaps = _ses_gaps(sender, clients("sesv2"))
            missing.extend(gaps)
            if not gaps:
                found.append(f"SES: {sender} verified for sending, production access")
    if missing:
        raise NotReady("not ready to deploy " + stage.name + ":\n  - " + "\n  - ".join(missing))
    if stage.parameters.get("AlarmEmail"):
        mailbox = stage.parameters["AlarmEmail"]
        found.append(f"after the deploy: confirm the SNS subscription mailed to {mailbox}")
    return found


def _ses_gaps(sender: str, sesv2: Any) -> list[str]:
    gaps = []
    if not sesv2.get_account().get("ProductionAccessEnabled"):
        gaps.append("SES production access (in the SES sandbox, codes reach only verified addresses)")
    domain = sender.split("@", 1)[1]
    if not any(_verified(sesv2, identity) for identity in (sender, domain)):
        gaps.append(f"an SES identity verified for sending for {sender} (the address or {domain})")
    return gaps


def _verified(sesv2: Any, identity: str) -> bool:
    try:
        return bool(sesv2.get_email_identity(EmailIdentity=identity).get("VerifiedForSendingStatus"))
    except sesv2.exceptions.NotFoundException:
        return False


def api_url(stage: Stage, cloudformation: Any) -> str:
    try:
        [stack] = cloudformation.describe_stacks(StackName=stage.stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError:
        where = f"{stage.stack_name} in {stage.region}"
        raise NotReady(f"no stack {where}: `make deploy STAGE={stage.name}`") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if "ApiUrl" not in outputs:
        raise NotReady(f"stack {stage.stack_name} has no ApiUrl output ({stack['StackStatus']})")
    return str(outputs["ApiUrl"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    secret = commands.add_parser("secret", help="create, rotate or retire keys of the auth secret")
    secret.add_argument("action", nargs="?", default="create", choices=("create", "rotate", "retire"))
    for command in (secret, commands.add_parser("preflight"), commands.add_parser("api-url")):
        command.add_argument("--stage", required=True, help="a samconfig.toml environment: dev or prod")
    args = parser.parse_args(argv)
    try:
        stage = stage_of(args.stage)
        session = boto3.session.Session(region_name=stage.region)
        if args.command == "secret":
            store = SecretStore(session.client("ssm"), stage.secret_name)
            print(secret_command(store, args.action, datetime.now(UTC)))
        elif args.command == "preflight":
            for line in preflight(stage, session.client):
                print(f"ok: {line}")
        else:
            print(api_url(stage, session.client("cloudformation")))
    except NotReady as error:
        print(f"ops.py {args.command}: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:  # no credentials, no network, access denied
        print(f"ops.py {args.command}: AWS said no ({type(error).__name__}): {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
