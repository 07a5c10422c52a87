"""/api/setup-status through the handler: the status GET computes (and never writes), the Get Started
lifecycle (select, hide, dismiss per session, restore, complete), bad input for every mutation,
versions, If-Match and Idempotency-Key (CONTRACT §4 `/api/setup-status`, §9 "Setup status",
§10 "Reads", "Writes", "Onboarding")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import (
    COMPLETE_DRAFT,
    Client,
    SetupClient,
    create_user,
    paths,
    store_legacy_account,
    stored_items,
)

TARGET = {
    "workspaceId": "ws-1",
    "groupId": "default",
    "knowledgeBaseId": "kb-default-1",
    "agentId": "agent-default-1",
}
NOTHING_DONE = {"selectChannels": False, "connectChannels": False, "trainAi": False, "completedSteps": 0}


def complete_kb(data_client: Client, kb_id: str = "kb-default-1") -> None:
    data_client.ok({"type": "knowledgeBase.update", "knowledgeBaseId": kb_id, "draft": COMPLETE_DRAFT})


# -- reads -------------------------------------------------------------------------------------------
def test_a_new_user_gets_the_status_of_the_defaults_without_anything_stored(
    setup_client: SetupClient,
) -> None:
    # Given a just-verified user: a root item with the profile, no data yet
    before = stored_items(setup_client.user_id)

    # When the setup status is read (twice)
    first, version = setup_client.status()
    second, again = setup_client.status()

    # Then it is computed from the defaults in memory: Get Started shows, nothing is done
    assert first == second
    assert first == {
        "selectedChannelTypes": [],
        "connections": [],
        "onboardingComplete": False,
        "persistentlyHidden": False,
        "dismissedForSession": False,
        "showGetStarted": True,
        "progress": NOTHING_DONE,
        "onboardingTarget": TARGET,
    }
    # And nothing was written: the version is the sign-up's 0 and the partition is unchanged
    assert (version, again) == (0, 0)
    assert stored_items(setup_client.user_id) == before


def test_get_never_writes_even_when_hydration_would(setup_client: SetupClient) -> None:
    # Given an account stored before agents existed (a read of /api/user-data would migrate it)
    store_legacy_account(setup_client.user_id)
    before = stored_items(setup_client.user_id)

    # When the setup status is read
    status, version = setup_client.status()

    # Then the migration happens in memory only: the connections show their backfilled agents
    assert version == 1
    assert stored_items(setup_client.user_id) == before
    assert len(status["connections"]) == 7
    assert all(c["agentId"] for c in status["connections"])
    assert status["progress"]["trainAi"] is True  # the legacy default KB is complete


def test_get_answers_the_etag_and_no_store(setup_client: SetupClient, data_client: Client) -> None:
    # Given an account whose data was written twice
    data_client.data()
    data_client.ok({"type": "group.create", "name": "VIP"})

    # When the setup status is read
    code, headers, _ = setup_client.request("GET")

    # Then the ETag is the user's one version, shared with /api/user-data
    assert code == 200
    assert headers["ETag"] == '"2"'
    assert headers["Cache-Control"] == "no-store"


# -- select channel types ----------------------------------------------------------------------------
def test_selected_channel_types_are_a_set_in_catalog_order(setup_client: SetupClient) -> None:
    # Given a new user
    # When channel types are selected in any order
    body = setup_client.ok(
        {"type": "selectChannelTypes", "channelTypes": ["sms", "social-comments", "web-chat"]}
    )

    # Then they are stored in catalog order and step 1 counts as done
    assert body["selectedChannelTypes"] == ["social-comments", "web-chat", "sms"]
    assert body["progress"] == {**NOTHING_DONE, "selectChannels": True, "completedSteps": 1}
    assert setup_client.status()[0] == body


def test_a_new_selection_replaces_the_old_one_and_may_be_empty(setup_client: SetupClient) -> None:
    # Given a selection
    setup_client.ok({"type": "selectChannelTypes", "channelTypes": ["whatsapp"]})

    # When another selection, then an empty one, is sent
    replaced = setup_client.ok({"type": "selectChannelTypes", "channelTypes": ["review-platforms"]})
    cleared = setup_client.ok({"type": "selectChannelTypes", "channelTypes": []})

    # Then each replaces the previous one; an empty selection undoes step 1
    assert replaced["selectedChannelTypes"] == ["review-platforms"]
    assert cleared["selectedChannelTypes"] == []
    assert cleared["progress"]["selectChannels"] is False


# -- visibility: persistent hide, session dismissal, restore -----------------------------------------
def test_persistent_hide_hides_get_started_in_every_session(setup_client: SetupClient) -> None:
    # Given a user signed in twice
    other = setup_client.in_session("sess-b")

    # When one session turns on "don't show Get Started automatically"
    body = setup_client.ok({"type": "setPersistentlyHidden", "hidden": True})

    # Then Get Started is hidden everywhere, and not dismissed anywhere
    assert (body["persistentlyHidden"], body["showGetStarted"], body["dismissedForSession"]) == (
        True,
        False,
        False,
    )
    elsewhere, _ = other.status()
    assert (elsewhere["persistentlyHidden"], elsewhere["showGetStarted"]) == (True, False)

    # When it is turned off again, Then it shows again
    assert setup_client.ok({"type": "setPersistentlyHidden", "hidden": False})["showGetStarted"] is True


def test_a_dismissal_belongs_to_the_session_so_a_new_sign_in_shows_get_started(
    setup_client: SetupClient,
) -> None:
    # Given a user signed in in session A
    # When session A dismisses Get Started
    body = setup_client.ok({"type": "dismissForSession"})

    # Then session A no longer shows it
    assert (body["dismissedForSession"], body["showGetStarted"]) == (True, False)
    assert setup_client.status()[0]["showGetStarted"] is False
    # And a new sign-in (session B) shows it again, without anything being written
    _, version = setup_client.status()
    later = setup_client.in_session("sess-b")
    status, version_b = later.status()
    assert (status["dismissedForSession"], status["showGetStarted"]) == (False, True)
    assert version_b == version


def test_dismissals_of_two_sessions_are_independent(setup_client: SetupClient) -> None:
    # Given two sessions of one user that both dismissed Get Started
    session_b = setup_client.in_session("sess-b")
    setup_client.ok({"type": "dismissForSession"})
    session_b.ok({"type": "dismissForSession"})

    # When session A restores Get Started
    restored = setup_client.ok({"type": "restoreGetStarted"})

    # Then only session A's dismissal is cleared
    assert (restored["dismissedForSession"], restored["showGetStarted"]) == (False, True)
    status_b, _ = session_b.status()
    assert (status_b["dismissedForSession"], status_b["showGetStarted"]) == (True, False)


def test_restore_clears_the_persistent_flag_and_this_sessions_dismissal(setup_client: SetupClient) -> None:
    # Given Get Started hidden persistently and dismissed in this session
    setup_client.ok({"type": "setPersistentlyHidden", "hidden": True})
    setup_client.ok({"type": "dismissForSession"})

    # When the user restores it (the Chatti "Restore Get Started" action)
    body = setup_client.ok({"type": "restoreGetStarted"})

    # Then both hide flags are cleared and Get Started shows
    assert (body["persistentlyHidden"], body["dismissedForSession"], body["showGetStarted"]) == (
        False,
        False,
        True,
    )


def test_restore_while_shown_is_accepted_and_changes_nothing_but_the_version(
    setup_client: SetupClient,
) -> None:
    # Given Get Started showing
    before, version = setup_client.status()

    # When it is restored anyway
    body = setup_client.ok({"type": "restoreGetStarted"})

    # Then the status is the same; the accepted write bumped the version
    assert body == before
    assert setup_client.status()[1] == version + 1


def test_restore_is_refused_once_onboarding_is_complete(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a completed onboarding that was also hidden
    complete_kb(data_client)
    setup_client.ok({"type": "setPersistentlyHidden", "hidden": True})
    setup_client.ok({"type": "completeOnboarding"})

    # When the user tries to restore Get Started
    error = setup_client.fails({"type": "restoreGetStarted"}, 409, "invariant_violation")

    # Then the 409 says why, and the flags stay as they were
    assert [d["code"] for d in error["details"]] == ["onboarding_complete"]
    status, _ = setup_client.status()
    assert (status["persistentlyHidden"], status["onboardingComplete"]) == (True, True)


def test_old_dismissals_are_forgotten_first(setup_client: SetupClient) -> None:
    # Given more dismissing sessions than are remembered (sessions expire after 12 h)
    from ciq.domain.account import MAX_REMEMBERED_DISMISSALS

    first = setup_client.in_session("sess-0")
    first.ok({"type": "dismissForSession"})
    for n in range(1, MAX_REMEMBERED_DISMISSALS + 1):
        setup_client.in_session(f"sess-{n}").ok({"type": "dismissForSession"})

    # When the oldest and the newest sessions read the status
    oldest, _ = first.status()
    newest, _ = setup_client.in_session(f"sess-{MAX_REMEMBERED_DISMISSALS}").status()

    # Then only the oldest dismissal was dropped: the stored set stays bounded
    assert oldest["dismissedForSession"] is False
    assert newest["dismissedForSession"] is True


def test_dismissing_twice_in_one_session_keeps_one_entry(setup_client: SetupClient) -> None:
    # Given a session that dismissed Get Started twice
    setup_client.ok({"type": "dismissForSession"})
    setup_client.ok({"type": "dismissForSession"})

    # When it restores once
    body = setup_client.ok({"type": "restoreGetStarted"})

    # Then it is no longer dismissed (the session was remembered once, not twice)
    assert body["dismissedForSession"] is False


# -- complete onboarding -----------------------------------------------------------------------------
def test_complete_onboarding_is_refused_until_the_target_kb_is_complete(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a default KB with only the brand personality set
    data_client.ok(
        {
            "type": "knowledgeBase.update",
            "knowledgeBaseId": "kb-default-1",
            "draft": {"brandPersonality": COMPLETE_DRAFT["brandPersonality"]},
        }
    )

    # When Step 3's Complete is sent
    error = setup_client.fails({"type": "completeOnboarding"}, 409, "invariant_violation")

    # Then the details name the missing draft fields
    assert paths(error) == [
        "/draft/primaryObjective",
        "/draft/greetings",
        "/draft/closing",
        "/draft/defaultCta",
    ]
    assert {d["code"] for d in error["details"]} == {"missing"}


def test_complete_onboarding_retires_get_started(setup_client: SetupClient, data_client: Client) -> None:
    # Given a selected channel, a connection and a complete default KB
    setup_client.ok({"type": "selectChannelTypes", "channelTypes": ["web-chat"]})
    setup_client.ok({"type": "addConnection", "family": "web-chat"})
    complete_kb(data_client)

    # When onboarding is completed
    body = setup_client.ok({"type": "completeOnboarding"})

    # Then it is complete, every step is done and Get Started no longer shows, in any session
    assert body["onboardingComplete"] is True
    assert body["progress"] == {
        "selectChannels": True,
        "connectChannels": True,
        "trainAi": True,
        "completedSteps": 3,
    }
    assert body["showGetStarted"] is False
    assert setup_client.in_session("sess-new").status()[0]["showGetStarted"] is False


def test_completion_is_kept_when_the_kb_later_becomes_incomplete(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a completed onboarding
    complete_kb(data_client)
    setup_client.ok({"type": "completeOnboarding"})

    # When the default KB loses a required field
    data_client.ok(
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": {"greetings": None}}
    )

    # Then onboarding stays complete (it is a stored fact) while the train step is derived again
    status, _ = setup_client.status()
    assert status["onboardingComplete"] is True
    assert status["progress"]["trainAi"] is False


def test_completion_checks_the_target_kb_not_the_workspace_default(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given ws-1 whose default KB is another, complete KB; kb-default-1 stays blank
    data_client.ok(
        {"type": "knowledgeBase.create", "workspaceId": "ws-1", "id": "kb-other", "draft": COMPLETE_DRAFT}
    )
    data_client.ok({"type": "workspace.update", "workspaceId": "ws-1", "defaultKbId": "kb-other"})

    # When onboarding is completed, Then it is refused: Step 3 trains kb-default-1
    error = setup_client.fails({"type": "completeOnboarding"}, 409, "invariant_violation")
    assert "/draft/brandPersonality" in paths(error)
    assert setup_client.status()[0]["progress"]["trainAi"] is False


# -- bad input: every mutation -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "code", "path"),
    [
        ({"type": "archiveEverything"}, 400, "unknown_mutation", "/type"),
        ({"type": 7}, 400, "unknown_mutation", "/type"),
        ({"hidden": True}, 400, "unknown_mutation", "/type"),
        ({"mutations": [{"type": "dismissForSession"}]}, 400, "unknown_mutation", "/type"),
        (
            {"type": "connection.create", "workspaceId": "ws-1", "family": "web-chat"},
            400,
            "unknown_mutation",
            "/type",
        ),
        ([{"type": "dismissForSession"}], 400, "invalid_json", ""),  # not an object (CONTRACT §11)
        ({"type": "selectChannelTypes"}, 422, "validation_failed", "/channelTypes"),
        ({"type": "selectChannelTypes", "channelTypes": None}, 422, "validation_failed", "/channelTypes"),
        ({"type": "selectChannelTypes", "channelTypes": "sms"}, 422, "validation_failed", "/channelTypes"),
        (
            {"type": "selectChannelTypes", "channelTypes": ["email"]},
            422,
            "validation_failed",
            "/channelTypes/0",
        ),
        (
            {"type": "selectChannelTypes", "channelTypes": ["sms", "sms"]},
            422,
            "validation_failed",
            "/channelTypes",
        ),
        ({"type": "selectChannelTypes", "channelTypes": [], "extra": 1}, 422, "validation_failed", "/extra"),
        ({"type": "addConnection"}, 422, "validation_failed", "/family"),
        ({"type": "addConnection", "family": "telegram"}, 422, "validation_failed", "/family"),
        (
            {"type": "addConnection", "family": "web-chat", "addedVia": "wizard"},
            422,
            "validation_failed",
            "/addedVia",
        ),
        ({"type": "addConnection", "family": "web-chat", "id": "conn-x"}, 422, "validation_failed", "/id"),
        (
            {"type": "addConnection", "family": "web-chat", "workspaceId": "ws-1"},
            422,
            "validation_failed",
            "/workspaceId",
        ),
        (
            {"type": "addConnection", "family": "web-chat", "agentId": "agent-default-1"},
            422,
            "validation_failed",
            "/agentId",
        ),
        ({"type": "addConnection", "family": "social-comments"}, 422, "validation_failed", "/platform"),
        (
            {"type": "addConnection", "family": "review-platforms", "platform": "threads"},
            422,
            "validation_failed",
            "/platform",
        ),
        (
            {"type": "addConnection", "family": "web-chat", "platform": "google"},
            422,
            "validation_failed",
            "/platform",
        ),
        ({"type": "addConnection", "family": "whatsapp"}, 422, "validation_failed", "/phoneNumber"),
        (
            {"type": "addConnection", "family": "sms", "phoneNumber": "555"},
            422,
            "validation_failed",
            "/phoneNumber",
        ),
        (
            {"type": "addConnection", "family": "web-chat", "phoneNumber": "+14155550100"},
            422,
            "validation_failed",
            "/phoneNumber",
        ),
        (
            {"type": "addConnection", "family": "whatsapp", "phoneNumber": "+14155550100", "compliance": {}},
            422,
            "validation_failed",
            "/compliance",
        ),
        (
            {"type": "addConnection", "family": "web-chat", "label": "x" * 81},
            422,
            "validation_failed",
            "/label",
        ),
        ({"type": "addConnection", "family": "web-chat", "label": None}, 422, "validation_failed", "/label"),
        ({"type": "updateConnection"}, 422, "validation_failed", "/connectionId"),
        ({"type": "updateConnection", "connectionId": "conn-nope"}, 404, "not_found", "/connectionId"),
        (
            {"type": "updateConnection", "connectionId": "conn-x", "state": "broken"},
            422,
            "validation_failed",
            "/state",
        ),
        (
            {"type": "updateConnection", "connectionId": "conn-x", "active": None},
            422,
            "validation_failed",
            "/active",
        ),
        (
            {"type": "updateConnection", "connectionId": "conn-x", "knowledgeBaseId": "kb-default-1"},
            422,
            "validation_failed",
            "/knowledgeBaseId",
        ),
        ({"type": "removeConnection"}, 422, "validation_failed", "/connectionId"),
        ({"type": "removeConnection", "connectionId": "conn-nope"}, 404, "not_found", "/connectionId"),
        (
            {"type": "removeConnection", "connectionId": "conn-x", "force": True},
            422,
            "validation_failed",
            "/force",
        ),
        ({"type": "setPersistentlyHidden"}, 422, "validation_failed", "/hidden"),
        ({"type": "setPersistentlyHidden", "hidden": None}, 422, "validation_failed", "/hidden"),
        ({"type": "setPersistentlyHidden", "hidden": "maybe"}, 422, "validation_failed", "/hidden"),
        ({"type": "dismissForSession", "sessionId": "sess-other"}, 422, "validation_failed", "/sessionId"),
        ({"type": "restoreGetStarted", "hidden": False}, 422, "validation_failed", "/hidden"),
        ({"type": "completeOnboarding", "force": True}, 422, "validation_failed", "/force"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    setup_client: SetupClient, body: Any, status: int, code: str, path: str
) -> None:
    # Given an account with a connection in the target workspace
    setup_client.ok({"type": "addConnection", "family": "web-chat"})

    # When a malformed mutation is sent
    error = setup_client.fails(body, status, code)

    # Then the error points at the offending field
    assert path in paths(error)


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{not json", 400, "invalid_json"),
        ("", 400, "invalid_json"),
        ("x" * (256 * 1024 + 1), 413, "payload_too_large"),
    ],
)
def test_unreadable_bodies(setup_client: SetupClient, raw: str, status: int, code: str) -> None:
    # Given a user; When the PATCH body is not JSON or too large; Then 400/413 and nothing is stored
    before = stored_items(setup_client.user_id)
    got, _, body = setup_client.patch(None, raw_body=raw)
    assert (got, body["error"]["code"]) == (status, code)
    assert stored_items(setup_client.user_id) == before


# -- versions, If-Match, Idempotency-Key -------------------------------------------------------------
def test_each_accepted_patch_bumps_the_one_version(setup_client: SetupClient, data_client: Client) -> None:
    # Given an account at version 1 (the user-data read stored the defaults)
    _, version = data_client.data()

    # When a setup-status mutation is applied
    code, headers, _ = setup_client.patch({"type": "dismissForSession"})

    # Then it answers the next version in the ETag, the same one /api/user-data now reports
    assert code == 200
    assert headers["ETag"] == f'"{version + 1}"'
    assert data_client.data()[1] == version + 1


def test_if_match_pins_the_version(setup_client: SetupClient, data_client: Client) -> None:
    # Given the version a client read, then a change made elsewhere
    _, version = setup_client.status()
    data_client.ok({"type": "group.create", "name": "VIP"})

    # When a PATCH pinned to the old version is sent, Then 412 and nothing changes
    setup_client.fails(
        {"type": "dismissForSession"}, 412, "version_mismatch", headers={"If-Match": f'"{version}"'}
    )

    # When it is pinned to the current version, Then it applies
    _, current = setup_client.status()
    code, headers, body = setup_client.patch(
        {"type": "dismissForSession"}, headers={"If-Match": f'"{current}"'}
    )
    assert (code, headers["ETag"], body["dismissedForSession"]) == (200, f'"{current + 1}"', True)


def test_if_match_on_a_new_user_pins_the_unwritten_version(setup_client: SetupClient) -> None:
    # Given a new user whose status was read at version 0 (nothing stored yet)
    _, version = setup_client.status()

    # When the first PATCH is pinned to it, Then it applies and stores the defaults with it
    code, headers, body = setup_client.patch(
        {"type": "selectChannelTypes", "channelTypes": ["sms"]}, headers={"If-Match": f'"{version}"'}
    )
    assert (code, headers["ETag"], body["selectedChannelTypes"]) == (200, '"1"', ["sms"])


def test_an_idempotent_replay_answers_the_first_response_and_applies_nothing_twice(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a connection added with an Idempotency-Key
    key = {"Idempotency-Key": "add-chat-1"}
    mutation = {"type": "addConnection", "family": "web-chat", "label": "Site"}
    code, first_headers, first = setup_client.patch(mutation, headers=key)
    assert code == 200

    # When the same request is retried after another change
    setup_client.ok({"type": "dismissForSession"})
    code, headers, replay = setup_client.patch(mutation, headers=key)

    # Then the first answer comes back, ETag included, and there is still one connection
    assert (code, replay, headers["ETag"]) == (200, first, first_headers["ETag"])
    assert headers["Idempotent-Replayed"] == "true"
    data, _ = data_client.data()
    assert [c["label"] for c in data["connections"]] == ["Site"]


def test_an_idempotency_key_reused_with_another_body_is_refused(setup_client: SetupClient) -> None:
    # Given a key used once
    setup_client.ok({"type": "setPersistentlyHidden", "hidden": True}, headers={"Idempotency-Key": "k-1"})

    # When it is sent with another body, Then 422 and nothing changes
    setup_client.fails(
        {"type": "setPersistentlyHidden", "hidden": False},
        422,
        "idempotency_key_reused",
        headers={"Idempotency-Key": "k-1"},
    )


def test_idempotency_keys_are_scoped_per_path(setup_client: SetupClient, data_client: Client) -> None:
    # Given a key used on /api/user-data
    status, _, _ = data_client.post({"type": "group.create", "name": "VIP"}, idempotency_key="shared-key")
    assert status == 200

    # When the same key is used on /api/setup-status
    body = setup_client.ok({"type": "dismissForSession"}, headers={"Idempotency-Key": "shared-key"})

    # Then it is a separate request, applied normally
    assert body["dismissedForSession"] is True


# -- the HTTP edge -----------------------------------------------------------------------------------
def test_a_wrong_method_is_405_with_allow(setup_client: SetupClient) -> None:
    # Given the route; When it is called with POST; Then 405 lists the methods it has
    code, headers, body = setup_client.request("POST", {"type": "dismissForSession"})
    assert (code, body["error"]["code"]) == (405, "method_not_allowed")
    assert headers["Allow"] == "GET, OPTIONS, PATCH"


def test_a_preflight_allows_patch_and_its_headers(setup_client: SetupClient) -> None:
    # Given a browser on the app's origin; When it sends a preflight
    code, headers, _ = setup_client.request("OPTIONS")

    # Then PATCH, If-Match and Idempotency-Key are allowed, and the ETag is exposed
    assert code == 204
    assert headers["Access-Control-Allow-Methods"] == "GET, OPTIONS, PATCH"
    assert "If-Match" in headers["Access-Control-Allow-Headers"]
    assert "Idempotency-Key" in headers["Access-Control-Allow-Headers"]
    assert "ETag" in headers["Access-Control-Expose-Headers"]


def test_without_a_session_the_answer_is_401(setup_client: SetupClient) -> None:
    # Given an event without the authorizer's context (the function must not trust anything else)
    from tests.conftest import api_event, invoke

    event = api_event("setup-status-get")
    event["requestContext"]["authorizer"] = None

    # When it reaches the function, Then 401 unauthorized
    code, _, body = invoke(setup_client.module, event)
    assert (code, body["error"]["code"]) == (401, "unauthorized")


def test_a_session_whose_account_is_gone_is_401(setup_status: Any) -> None:
    # Given a session of a user id with no account
    ghost = SetupClient(setup_status, "u-ghost")

    # When it reads or patches, Then 401 and nothing is created
    assert ghost.request("GET")[0] == 401
    assert ghost.patch({"type": "dismissForSession"})[0] == 401
    assert stored_items("u-ghost") == {}


def test_users_never_see_each_others_setup(setup_client: SetupClient) -> None:
    # Given another user who hid Get Started and added a connection
    other = SetupClient(setup_client.module, create_user())
    other.ok({"type": "setPersistentlyHidden", "hidden": True})
    added = other.ok({"type": "addConnection", "family": "web-chat"})
    foreign_id = added["connections"][0]["id"]

    # When this user reads and tries to edit that connection
    status, _ = setup_client.status()

    # Then nothing of it shows, and its id is simply not found
    assert (status["persistentlyHidden"], status["connections"]) == (False, [])
    setup_client.fails({"type": "removeConnection", "connectionId": foreign_id}, 404, "not_found")


# -- concurrent writers ------------------------------------------------------------------------------
def test_concurrent_writers_on_both_routes_lose_nothing(
    setup_client: SetupClient, data_client: Client, serialized_dynamodb: Any
) -> None:
    # Given an account with its defaults stored
    from tests.integration.test_user_data_concurrency import run_together

    data_client.data()

    # When three sessions dismiss Get Started, three add connections and three groups are created,
    # all at the same moment on the two routes
    def work(i: int) -> int:
        if i < 3:
            return setup_client.in_session(f"sess-{i}").patch({"type": "dismissForSession"})[0]
        if i < 6:
            return setup_client.patch({"type": "addConnection", "family": "web-chat", "label": f"Chat {i}"})[
                0
            ]
        return data_client.post({"type": "group.create", "name": f"Group {i}"})[0]

    statuses = run_together(9, work)

    # Then every write applied (retried by the server), one version each
    assert statuses == [200] * 9
    data, version = data_client.data()
    assert version == 10
    assert sorted(c["label"] for c in data["connections"]) == ["Chat 3", "Chat 4", "Chat 5"]
    assert len(data["groups"]) == 4
    for i in range(3):
        assert setup_client.in_session(f"sess-{i}").status()[0]["dismissedForSession"] is True
