"""The REQUEST authorizer with the real event (events/authorizer-request.json), sessions opened through
the real auth function, moto's DynamoDB and SSM. A refusal must be exactly `Exception("Unauthorized")`
(API Gateway's 401); an outage must raise anything else (API Gateway's AUTHORIZER_FAILURE)."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import jwt
import pytest
from aws_lambda_powertools.utilities import parameters

from ciq.auth import clock
from ciq.errors import DependencyUnavailable
from tests.conftest import (
    AUTH_SECRET_PARAM,
    EVENTS,
    TABLE_NAME,
    LambdaContext,
    api_event,
    invoke,
    load_function,
)

if TYPE_CHECKING:
    from types import ModuleType

WHOLE_API = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/dev/*/*"


# -- helpers ----------------------------------------------------------------------------------------


@pytest.fixture
def authorizer(aws: None) -> ModuleType:
    return load_function("authorizer")


@pytest.fixture
def auth_app(aws: None) -> ModuleType:
    return load_function("auth")


def open_session(auth_app: ModuleType, email: str = "jane.doe@example.com") -> str:
    """Signs up `email` through the auth function (fixed code 123456) and returns the token."""
    body = {
        "firstName": "Jane",
        "lastName": "Doe",
        "email": email,
        "company": "Acme",
        "phone": "+14155550123",
    }
    status, _, started = invoke(auth_app, api_event("auth-sign-up", body=body))
    assert status == 201, started
    verify = {"challengeId": started["challengeId"], "code": "123456"}
    status, _, opened = invoke(auth_app, api_event("auth-verify", body=verify))
    assert status == 200, opened
    return str(opened["token"])


def request(
    headers: dict[str, str] | None = None, multi: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """The sample REQUEST event carrying only the given credentials."""
    event: dict[str, Any] = json.loads((EVENTS / "authorizer-request.json").read_text())
    event["headers"] = {k: v for k, v in event["headers"].items() if k not in ("Cookie", "Authorization")}
    event["headers"].update(headers or {})
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["multiValueHeaders"].update(multi or {})
    return event


def authorize(authorizer: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return dict(authorizer.lambda_handler(event, LambdaContext()))


def assert_refused(authorizer: ModuleType, event: dict[str, Any]) -> None:
    with pytest.raises(Exception) as refused:
        authorizer.lambda_handler(event, LambdaContext())
    assert type(refused.value) is Exception
    assert str(refused.value) == "Unauthorized"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"__Host-ciq_session={token}"}


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def read_secret() -> dict[str, Any]:
    value = boto3.client("ssm").get_parameter(Name=AUTH_SECRET_PARAM, WithDecryption=True)["Parameter"][
        "Value"
    ]
    return dict(json.loads(value))


def write_secret(secret: dict[str, Any]) -> None:
    """What ops do in SSM; the cache is cleared as if SECRETS_MAX_AGE_SECONDS had passed."""
    boto3.client("ssm").put_parameter(
        Name=AUTH_SECRET_PARAM, Value=json.dumps(secret), Type="SecureString", Overwrite=True
    )
    parameters.clear_caches()


def key_bytes(encoded: str) -> bytes:
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def forge(claim: dict[str, Any], key: bytes, kid: str = "k1", algorithm: str = "HS256") -> str:
    return jwt.encode(claim, key, algorithm=algorithm, headers={"kid": kid})


# -- allowed ----------------------------------------------------------------------------------------


def test_a_cookie_alone_is_allowed_for_the_whole_api(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given a signed-in user whose browser sends only the session cookie
    token = open_session(auth_app)
    claim = claims(token)
    # When the authorizer runs
    policy = authorize(authorizer, request(cookie(token)))
    # Then every route of the stage is allowed, with the user and session in the context
    assert policy["principalId"] == claim["sub"]
    assert policy["context"] == {"userId": claim["sub"], "sessionId": claim["sid"]}
    [statement] = policy["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [WHOLE_API]}


def test_a_bearer_header_alone_is_allowed(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given a client that sends only `Authorization: Bearer` (any case of the scheme)
    token = open_session(auth_app)
    # When the authorizer runs, Then the session is allowed
    assert (
        authorize(authorizer, request({"authorization": f"bearer {token}"}))["principalId"]
        == claims(token)["sub"]
    )


def test_the_bearer_header_wins_over_the_cookie(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given two users' tokens
    cookie_token = open_session(auth_app, "cookie@example.com")
    bearer_token = open_session(auth_app, "bearer@example.com")
    # When a request carries one in each place, Then the Bearer user is the caller
    policy = authorize(authorizer, request({**cookie(cookie_token), **bearer(bearer_token)}))
    assert policy["context"]["userId"] == claims(bearer_token)["sub"]
    # And a bad Bearer token is refused even next to a good cookie
    assert_refused(authorizer, request({**cookie(cookie_token), **bearer("not-a-token")}))


def test_the_cookie_is_found_among_other_cookies(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given a browser that also holds other cookies, some with values SimpleCookie rejects
    token = open_session(auth_app)
    header = f'prefs={{"a":1}}; theme=dark; __Host-ciq_session="{token}"; _ga=GA1.2.3'
    # When the authorizer runs, Then the session cookie is still found
    assert authorize(authorizer, request({"Cookie": header}))["principalId"] == claims(token)["sub"]
    # And so it is when API Gateway passes several Cookie headers
    event = request({"Cookie": "theme=dark"}, multi={"Cookie": ["theme=dark", f"__Host-ciq_session={token}"]})
    assert authorize(authorizer, event)["principalId"] == claims(token)["sub"]


def test_each_token_opens_only_its_own_users_identity(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given two users
    first = open_session(auth_app, "first@example.com")
    second = open_session(auth_app, "second@example.com")
    # When each token is authorized, Then each yields its own user and session, nothing else
    for token in (first, second):
        claim = claims(token)
        policy = authorize(authorizer, request(bearer(token)))
        assert policy["principalId"] == claim["sub"]
        assert policy["context"] == {"userId": claim["sub"], "sessionId": claim["sid"]}
    assert claims(first)["sub"] != claims(second)["sub"]


# -- refused ----------------------------------------------------------------------------------------


def test_a_request_without_a_token_is_unauthorized(authorizer: ModuleType, aws: None) -> None:
    assert_refused(authorizer, request())
    assert_refused(authorizer, request({"Cookie": "theme=dark"}))
    assert_refused(authorizer, request({"Authorization": "Basic dXNlcjpwYXNz"}))


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Bearer " + "x" * 5000},
        {"Cookie": "__Host-ciq_session="},
        {"Cookie": "__Host-ciq_session=eyJhbGciOiJIUzI1NiJ9.e30"},
    ],
)
def test_a_malformed_token_is_unauthorized(
    authorizer: ModuleType, aws: None, headers: dict[str, str]
) -> None:
    assert_refused(authorizer, request(headers))


def test_an_expired_token_is_unauthorized_even_if_its_session_lives(
    authorizer: ModuleType, auth_app: ModuleType
) -> None:
    # Given a live session, and a token for it, correctly signed, whose exp has passed
    claim = claims(open_session(auth_app))
    now = int(datetime.now(UTC).timestamp())
    expired = forge({**claim, "iat": now - 3600, "exp": now - 1}, key_bytes(read_secret()["keys"]["k1"]))
    # When it is presented, Then it is refused
    assert_refused(authorizer, request(bearer(expired)))


def test_a_token_is_refused_once_12_hours_have_passed(
    authorizer: ModuleType, auth_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a token issued now
    token = open_session(auth_app)
    # When 12 hours pass
    later = datetime.now(UTC) + timedelta(hours=12, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    # Then it is refused
    assert_refused(authorizer, request(cookie(token)))


def test_a_tampered_token_is_unauthorized(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given a token whose claims were changed to another user's (signature kept)
    victim = claims(open_session(auth_app, "victim@example.com"))
    token = open_session(auth_app, "attacker@example.com")
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps({**claims(token), "sub": victim["sub"]}).encode())
    tampered = f"{header}.{payload.decode().rstrip('=')}.{signature}"
    # When it is presented, Then it is refused
    assert_refused(authorizer, request(bearer(tampered)))
    # And a token with a flipped signature character is refused too
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    assert_refused(authorizer, request(bearer(flipped)))


def test_a_token_of_a_retired_key_is_unauthorized(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given a token signed with k1
    token = open_session(auth_app)
    # When ops rotate to k2 and remove k1
    secret = read_secret()
    write_secret({**secret, "activeKid": "k2", "keys": {"k2": new_key()}})
    # Then the k1 token is refused
    assert_refused(authorizer, request(bearer(token)))


def test_rotation_keeps_old_tokens_until_their_key_is_removed(
    authorizer: ModuleType, auth_app: ModuleType
) -> None:
    # Given a token signed with k1
    old = open_session(auth_app, "old@example.com")
    # When k2 is added and made active, k1 kept
    secret = read_secret()
    write_secret({**secret, "activeKid": "k2", "keys": {**secret["keys"], "k2": new_key()}})
    new = open_session(auth_app, "new@example.com")
    # Then new tokens carry k2, and both old and new tokens are accepted
    assert jwt.get_unverified_header(new)["kid"] == "k2"
    authorize(authorizer, request(bearer(old)))
    authorize(authorizer, request(bearer(new)))
    # When k1 is removed after its tokens expired, Then only the k2 token is accepted
    write_secret({**read_secret(), "keys": {"k2": read_secret()["keys"]["k2"]}})
    assert_refused(authorizer, request(bearer(old)))
    authorize(authorizer, request(bearer(new)))


def test_an_unknown_kid_is_unauthorized(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given a token signed with the real key but naming a key id the secret does not have
    claim = claims(open_session(auth_app))
    token = forge(claim, key_bytes(read_secret()["keys"]["k1"]), kid="k9")
    # When it is presented, Then it is refused
    assert_refused(authorizer, request(bearer(token)))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_other_algorithms_are_unauthorized(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given tokens for a live session, unsigned ("none") or signed with HS512 and the real key
    claim = claims(open_session(auth_app))
    unsigned = jwt.encode(claim, None, algorithm="none", headers={"kid": "k1"})
    hs512 = forge(claim, key_bytes(read_secret()["keys"]["k1"]), algorithm="HS512")
    # When they are presented, Then both are refused
    assert_refused(authorizer, request(bearer(unsigned)))
    assert_refused(authorizer, request(bearer(hs512)))


def test_a_signed_out_session_is_refused_at_once(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given a session that was allowed a moment ago
    token = open_session(auth_app)
    authorize(authorizer, request(cookie(token)))
    # When the user signs out
    claim = claims(token)
    event = api_event("auth-sign-out", user_id=claim["sub"], session_id=claim["sid"])
    assert invoke(auth_app, event)[0] == 204
    # Then the very next request with that token is refused (no authorizer cache)
    assert_refused(authorizer, request(cookie(token)))


def test_a_valid_signature_without_a_stored_session_is_unauthorized(
    authorizer: ModuleType, auth_app: ModuleType
) -> None:
    # Given a correctly signed token for a session that was never opened
    claim = claims(open_session(auth_app))
    token = forge({**claim, "sid": secrets.token_urlsafe(16)}, key_bytes(read_secret()["keys"]["k1"]))
    # When it is presented, Then it is refused: a signature alone opens nothing
    assert_refused(authorizer, request(bearer(token)))


# -- outages ----------------------------------------------------------------------------------------


def test_a_dynamodb_outage_is_neither_an_allow_nor_a_401(
    authorizer: ModuleType, auth_app: ModuleType
) -> None:
    # Given a valid token, and then the table becomes unreachable
    token = open_session(auth_app)
    boto3.client("dynamodb").delete_table(TableName=TABLE_NAME)
    # When the authorizer runs, Then it fails with an error that is not "Unauthorized"
    with pytest.raises(Exception) as failed:
        authorizer.lambda_handler(request(cookie(token)), LambdaContext())
    assert str(failed.value) != "Unauthorized"


def test_an_ssm_outage_is_neither_an_allow_nor_a_401(authorizer: ModuleType, auth_app: ModuleType) -> None:
    # Given a valid token, and then the secret cannot be read
    token = open_session(auth_app)
    boto3.client("ssm").delete_parameter(Name=AUTH_SECRET_PARAM)
    parameters.clear_caches()
    # When the authorizer runs, Then it fails as a dependency outage
    with pytest.raises(DependencyUnavailable):
        authorizer.lambda_handler(request(cookie(token)), LambdaContext())
