"""Account export and erasure (CONTRACT §11 "Account", issue 10 item 9; docs/api/auth.md): through
the real authorizer and auth handler on moto, with the real events (events/account-*.json)."""

from __future__ import annotations

import logging
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE_NAME, api_event, invoke
from tests.integration.test_security import SIGN_UP, Stack

RIGHT, WRONG = "123456", "000000"


@pytest.fixture
def stack(aws: None) -> Stack:
    return Stack()


def _account_call(stack: Stack, name: str, token: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    context = stack.authorize({"Authorization": f"Bearer {token}"})
    if context is None:
        return 401, {}, None
    event = api_event(name, body=body, user_id=context["userId"], session_id=context["sessionId"])
    if body is None and name == "account-delete":
        event["body"] = None
    return invoke(stack.auth, event)


def _keys() -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
    return sorted(f"{item['pk']['S']}|{item['sk']['S']}" for item in items)


def _sign_in_challenge(stack: Stack, email: str = SIGN_UP["email"]) -> str:
    status, _, started = stack.public("auth-sign-in", {"email": email})
    assert status == 201, started
    return str(started["challengeId"])


def test_the_export_holds_everything_stored_about_the_caller(stack: Stack) -> None:
    # Given an account with a workspace, an idempotent write and two sessions
    token = stack.sign_up()
    status, _ = stack.mutate(token, {"type": "workspace.create", "name": "Exported"})
    assert status == 200
    second = stack.public("auth-verify", {"challengeId": _sign_in_challenge(stack), "code": RIGHT})[2][
        "token"
    ]
    context = stack.authorize({"Authorization": f"Bearer {token}"})
    assert context is not None
    event = api_event(
        "user-data-post",
        body={"type": "group.create", "name": "G"},
        user_id=context["userId"],
        session_id=context["sessionId"],
    )
    assert invoke(stack.user_data, event)[0] == 200  # the sample carries an Idempotency-Key
    # When the caller exports
    status, headers, exported = _account_call(stack, "account-export", token)
    # Then one JSON document holds the profile, the data, the setup status, the sessions (the current
    # one marked), the idempotency records and the verification state; never cached
    assert status == 200, exported
    assert headers["Cache-Control"] == "no-store"
    assert exported["profile"]["email"] == SIGN_UP["email"]
    assert "Exported" in [w["name"] for w in exported["data"]["workspaces"]]
    assert exported["version"] >= 2 and "progress" in exported["setupStatus"]
    assert sorted(s["current"] for s in exported["sessions"]) == [False, True]
    assert len(exported["idempotencyRecords"]) == 1
    assert exported["verification"] == {"consecutiveFailures": 0, "lockedUntil": None}
    assert "CloudWatch" in exported["audit"]
    assert second and "token" not in str(exported).lower().replace("sessionid", "")


def test_erasure_needs_a_fresh_code_of_the_callers_own_sign_in_challenge(stack: Stack) -> None:
    # Given two accounts
    token = stack.sign_up()
    other = stack.sign_up(email="someone.else@example.com")
    before = _keys()
    # When the caller sends no code, a wrong code, another account's challenge, or a sign-up's
    refused = [
        _account_call(stack, "account-delete", token),
        _account_call(
            stack, "account-delete", token, {"challengeId": _sign_in_challenge(stack), "code": WRONG}
        ),
        _account_call(
            stack,
            "account-delete",
            token,
            {"challengeId": _sign_in_challenge(stack, "someone.else@example.com"), "code": RIGHT},
        ),
    ]
    # Then each is refused and nothing is erased (challenges and counters aside)
    assert [(s, b["error"]["code"]) for s, _, b in refused] == [
        (400, "invalid_json"),
        (400, "invalid_code"),
        (404, "not_found"),
    ]
    after = _keys()
    assert {k for k in before if k.startswith("USER#")} <= set(after)
    assert stack.authorize({"Authorization": f"Bearer {other}"}) is not None


def test_erasure_removes_every_item_of_the_user_and_a_new_sign_up_starts_from_nothing(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an account with data and a second session
    token = stack.sign_up()
    assert stack.mutate(token, {"type": "workspace.create", "name": "Secret plans"})[0] == 200
    stack.public("auth-verify", {"challengeId": _sign_in_challenge(stack), "code": RIGHT})
    user_id = stack.authorize({"Authorization": f"Bearer {token}"})["userId"]  # type: ignore[index]
    # When the caller erases the account with a fresh sign-in code
    with caplog.at_level(logging.INFO):
        status, headers, body = _account_call(
            stack, "account-delete", token, {"challengeId": _sign_in_challenge(stack), "code": RIGHT}
        )
    # Then 204 with the cookie cleared, and nothing of the user is left: no partition item, no email
    # index, no verification counter, no challenge window
    assert (status, body) == (204, None)
    assert headers["Set-Cookie"].startswith("__Host-ciq_session=; ")
    left = _keys()
    assert not [k for k in left if k.startswith((f"USER#{user_id}|", "EMAIL#", "RATE#"))], left
    # And the erasure is audited with the user id only
    audits = [r.__dict__ for r in caplog.records if getattr(r, "event", None) == "account.deleted"]
    assert [a["userId"] for a in audits] == [user_id]
    assert SIGN_UP["email"].lower() not in caplog.text.lower()
    # And every session is dead, sign-in knows no such account, and a new sign-up starts fresh
    assert stack.authorize({"Authorization": f"Bearer {token}"}) is None
    assert stack.public("auth-sign-in", {"email": SIGN_UP["email"]})[0] == 404
    fresh = stack.sign_up()
    data = stack.data(fresh)
    assert "Secret plans" not in [w["name"] for w in data["workspaces"]]
    assert data["profile"]["userId"] != user_id


def test_one_code_erases_once(stack: Stack) -> None:
    # Given an erased account and the code that erased it
    token = stack.sign_up()
    challenge_id = _sign_in_challenge(stack)
    assert (
        _account_call(stack, "account-delete", token, {"challengeId": challenge_id, "code": RIGHT})[0] == 204
    )
    # When the same request comes again (a replay): Then the session no longer opens anything
    assert (
        _account_call(stack, "account-delete", token, {"challengeId": challenge_id, "code": RIGHT})[0] == 401
    )
