"""scripts/ops.py on moto: `make secret` creates the auth secret in the layer's format, rotates it
(a new active key, the old one kept), retires old keys only after the session lifetime, never
changes the pepper and never prints a key; `preflight` names what a first deploy still needs."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import moto
import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

NAME = "/ciq/dev/auth-secret"


def _load_ops() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ops", ROOT / "scripts/ops.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["ops"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


ops = _load_ops()


@pytest.fixture
def store() -> Iterator[Any]:
    with moto.mock_aws():
        yield ops.SecretStore(boto3.client("ssm", region_name="us-east-1"), NAME)


def stored(store: Any) -> dict[str, Any]:
    secret, _ = store.read()
    assert isinstance(secret, dict)
    return secret


def as_the_layer_reads_it(secret: dict[str, Any]) -> Any:
    from ciq.auth.secret import AuthSecret

    return AuthSecret.model_validate(secret)


def test_create_writes_a_secret_the_layer_accepts_and_never_overwrites_it(store: Any) -> None:
    now = datetime.now(UTC)
    # When ops create the secret, twice
    first = ops.secret_command(store, "create", now)
    again = ops.secret_command(store, "create", now)
    # Then one SecureString in the layer's format, with k1 active; the second run changed nothing
    assert first == f"created {NAME}: keys k1; active k1"
    assert "exists (nothing changed)" in again
    parsed = as_the_layer_reads_it(stored(store))
    assert parsed.active_kid == "k1" and len(parsed.signing_key) == 32 and len(parsed.pepper) == 32
    kind = boto3.client("ssm", region_name="us-east-1").get_parameter(Name=NAME)["Parameter"]["Type"]
    assert kind == "SecureString"


def test_rotate_adds_an_active_key_and_keeps_the_old_one_and_the_pepper(store: Any) -> None:
    now = datetime.now(UTC)
    ops.secret_command(store, "create", now)
    before = stored(store)
    # When ops rotate
    message = ops.secret_command(store, "rotate", now)
    after = stored(store)
    # Then k2 signs new tokens, k1 still checks the old ones, and the pepper is the same
    assert after["activeKid"] == "k2"
    assert after["keys"]["k1"] == before["keys"]["k1"]
    assert after["pepper"] == before["pepper"]
    assert as_the_layer_reads_it(after).signing_key != as_the_layer_reads_it(before).signing_key
    # And the message says when the old key may go, without any key value
    assert "retire the old keys after" in message
    assert all(value not in message for value in [*after["keys"].values(), after["pepper"]])


def test_retire_waits_for_the_session_lifetime_then_keeps_only_the_active_key(store: Any) -> None:
    ops.secret_command(store, "create", datetime.now(UTC))
    ops.secret_command(store, "rotate", datetime.now(UTC))
    _, rotated_at = store.read()
    pepper = stored(store)["pepper"]
    # When ops retire right away, Then it is refused: tokens signed by k1 may still live 12 h
    with pytest.raises(ops.NotReady, match="too early: tokens signed by k1"):
        ops.secret_command(store, "retire", rotated_at + timedelta(hours=12))
    assert set(stored(store)["keys"]) == {"k1", "k2"}
    # When 12 h and the 5-minute secret cache have passed, Then only k2 is left, pepper unchanged
    ops.secret_command(store, "retire", rotated_at + timedelta(hours=12, minutes=5))
    assert set(stored(store)["keys"]) == {"k2"}
    assert stored(store)["pepper"] == pepper
    assert as_the_layer_reads_it(stored(store)).active_kid == "k2"
    # And a second retire has nothing to do
    with pytest.raises(ops.NotReady, match="nothing to retire"):
        ops.secret_command(store, "retire", rotated_at + timedelta(days=2))


def test_rotate_or_retire_without_a_secret_says_to_create_it(store: Any) -> None:
    with pytest.raises(ops.NotReady, match="does not exist yet"):
        ops.secret_command(store, "rotate", datetime.now(UTC))


def test_a_secret_in_another_format_is_never_rewritten(store: Any) -> None:
    # Given a value the layer would refuse (a short key)
    store.ssm.put_parameter(
        Name=NAME, Type="SecureString", Value=json.dumps({"activeKid": "k1", "keys": {"k1": "c2hvcnQ"}})
    )
    # When ops rotate, Then it is refused and the value is unchanged
    with pytest.raises(ops.NotReady, match="base64url of at least 32 bytes"):
        ops.secret_command(store, "rotate", datetime.now(UTC))
    assert stored(store)["keys"] == {"k1": "c2hvcnQ"}


def test_the_stages_come_from_samconfig() -> None:
    dev, prod = ops.stage_of("dev"), ops.stage_of("prod")
    assert (dev.region, dev.stack_name, dev.secret_name) == ("us-east-1", "ciq-dev", "/ciq/dev/auth-secret")
    assert (prod.stack_name, prod.secret_name) == ("ciq-prod", "/ciq/prod/auth-secret")
    assert prod.parameters["EmailSender"] == "ses" and dev.parameters["EmailSender"] == "log"
    with pytest.raises(ops.NotReady, match="STAGE is dev or prod"):
        ops.stage_of("staging")


def test_preflight_of_dev_needs_only_the_secret() -> None:
    with moto.mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        dev = ops.stage_of("dev")
        # Given no secret yet; Then preflight names the command that creates it
        with pytest.raises(ops.NotReady, match="make secret STAGE=dev"):
            ops.preflight(dev, session.client)
        # Given the secret; Then dev is ready (it sends no email, so SES is not asked)
        store = ops.SecretStore(session.client("ssm"), dev.secret_name)
        ops.secret_command(store, "create", datetime.now(UTC))
        assert ops.preflight(dev, session.client) == [
            f"auth secret /ciq/dev/auth-secret: {ops.describe(*store.read())}"
        ]


def test_api_url_of_a_stage_without_a_stack_says_to_deploy() -> None:
    with moto.mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        with pytest.raises(ops.NotReady, match="make deploy STAGE=dev"):
            ops.api_url(ops.stage_of("dev"), cloudformation)


class SesAccount:
    """SESv2 as `preflight` reads it (moto implements no GetAccount): production access and the
    identities verified for sending."""

    class exceptions:  # boto3's client attribute name
        class NotFoundException(Exception):
            pass

    def __init__(self, production: bool, verified: set[str]) -> None:
        self.production, self.verified = production, verified

    def get_account(self) -> dict[str, Any]:
        return {"ProductionAccessEnabled": self.production}

    def get_email_identity(self, EmailIdentity: str) -> dict[str, Any]:  # boto3's argument name
        if EmailIdentity not in self.verified:
            raise self.exceptions.NotFoundException(EmailIdentity)
        return {"VerifiedForSendingStatus": True}


@pytest.mark.parametrize(
    ("ses", "missing"),
    [
        (SesAccount(production=False, verified={"conversioniq.ai"}), "SES production access"),
        (SesAccount(production=True, verified=set()), "an SES identity verified for sending"),
    ],
)
def test_preflight_of_prod_names_what_ses_still_needs(ses: SesAccount, missing: str) -> None:
    with moto.mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        prod = ops.stage_of("prod")
        store = ops.SecretStore(session.client("ssm"), prod.secret_name)
        ops.secret_command(store, "create", datetime.now(UTC))

        def clients(name: str) -> Any:
            return ses if name == "sesv2" else session.client(name)

        # Given prod (random codes, EmailSender=ses) with its secret but SES not ready
        # Then preflight refuses and says what is missing
        with pytest.raises(ops.NotReady, match=missing):
            ops.preflight(prod, clients)


def test_preflight_of_a_ready_prod_lists_what_it_checked_and_the_alarm_mailbox() -> None:
    with moto.mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        prod = ops.stage_of("prod")
        store = ops.SecretStore(session.client("ssm"), prod.secret_name)
        ops.secret_command(store, "create", datetime.now(UTC))
        ready = SesAccount(production=True, verified={"conversioniq.ai"})
        found = ops.preflight(prod, lambda name: ready if name == "sesv2" else session.client(name))
        assert found[1] == "SES: no-reply@conversioniq.ai verified for sending, production access"
        assert found[2] == "after the deploy: confirm the SNS subscription mailed to ops@conversioniq.ai"
