"""The demo account (LOCAL_DEMO=1, or `make demo`): a realistic account a frontend developer signs in
to with DEMO_EMAIL and the local code 123456. It is made through the API itself (sign-up, verify,
then user-data mutations sent to the local gateway in-process), so it is exactly what a user could
have made, and it is made once: when the email already has an account, nothing is changed.

What it holds (docs/ops/local-run.md, "Demo account"):
- 3 workspaces: `My Workspace` (the defaults), `Downtown Café`, `Uptown Salon`;
- KBs complete and incomplete; agents `active`, `inactive` (paused) and `draft`;
- a connection of every family: social comments, reviews, Messenger, web chat, WhatsApp, SMS."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from local.events import IncomingRequest

if TYPE_CHECKING:
    from local.gateway import LocalGateway

DEMO_EMAIL = "demo@example.com"
DEMO_CODE = "123456"  # the local stage's fixed verification code
DEMO_PROFILE = {
    "firstName": "Dana",
    "lastName": "Demo",
    "email": DEMO_EMAIL,
    "company": "Demo Hospitality Group",
    "phone": "+14155550100",
}


def _value(text: str) -> dict[str, Any]:
    return {"presets": [], "customText": text}


COMPLETE_DRAFT = {
    "brandPersonality": {"presets": ["friendly", "professional"], "customText": ""},
    "primaryObjective": _value("Book tables and answer questions about the menu."),
    "greetings": _value("Hi! Thanks for reaching out to us."),
    "closing": _value("See you soon!"),
    "defaultCta": {"presets": ["Book a table"], "customText": ""},
    "emojis": {"presets": ["sparingly"], "customText": ""},
}
PARTIAL_DRAFT = {"brandPersonality": {"presets": ["warm"], "customText": ""}}

MUTATIONS: list[dict[str, Any]] = [
    # My Workspace: a complete KB whose default agent is active on web chat and Messenger, and a
    # second agent that is paused (inactive).
    {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT},
    {
        "type": "connection.create",
        "id": "conn-demo-webchat",
        "workspaceId": "ws-1",
        "family": "web-chat",
        "label": "Website chat",
        "agentId": "agent-default-1",
    },
    {
        "type": "connection.create",
        "id": "conn-demo-messenger",
        "workspaceId": "ws-1",
        "family": "facebook-messenger",
        "label": "Facebook page",
        "agentId": "agent-default-1",
    },
    {
        "type": "connection.create",
        "id": "conn-demo-comments",
        "workspaceId": "ws-1",
        "family": "social-comments",
        "platform": "instagram",
        "label": "Instagram comments",
        "knowledgeBaseId": "kb-default-1",
    },
    {
        "type": "connection.create",
        "id": "conn-demo-reviews",
        "workspaceId": "ws-1",
        "family": "review-platforms",
        "platform": "google",
        "label": "Google reviews",
        "knowledgeBaseId": "kb-default-1",
    },
    {
        "type": "agent.create",
        "id": "agent-demo-night",
        "workspaceId": "ws-1",
        "knowledgeBaseId": "kb-default-1",
        "name": "Night shift",
    },
    {
        "type": "connection.create",
        "id": "conn-demo-whatsapp",
        "workspaceId": "ws-1",
        "family": "whatsapp",
        "label": "WhatsApp line",
        "agentId": "agent-demo-night",
        "phoneNumber": "+14155550111",
    },
    {"type": "agent.update", "agentId": "agent-demo-night", "status": "inactive"},
    # Downtown Café: an incomplete KB, so its agent is a draft; an SMS line with 10DLC details.
    {
        "type": "workspace.create",
        "id": "ws-demo-cafe",
        "name": "Downtown Café",
        "description": "Coffee, brunch and catering in the city centre.",
    },
    {
        "type": "knowledgeBase.create",
        "id": "kb-demo-cafe",
        "workspaceId": "ws-demo-cafe",
        "name": "Café FAQ",
        "draft": PARTIAL_DRAFT,
    },
    {
        "type": "agent.create",
        "id": "agent-demo-cafe",
        "workspaceId": "ws-demo-cafe",
        "knowledgeBaseId": "kb-demo-cafe",
        "name": "Café concierge",
    },
    {
        "type": "connection.create",
        "id": "conn-demo-sms",
        "workspaceId": "ws-demo-cafe",
        "family": "sms",
        "label": "Catering SMS",
        "agentId": "agent-demo-cafe",
        "phoneNumber": "+14155550122",
        "compliance": {
            "brandName": "Downtown Café",
            "ein": "12-3456789",
            "campaignUseCase": "Customer care",
            "sampleMessage": "Your catering order is confirmed.",
            "optInDescription": "Customers text START to opt in.",
        },
    },
    # Uptown Salon: a second complete KB beside the workspace's own.
    {"type": "workspace.create", "id": "ws-demo-salon", "name": "Uptown Salon"},
    {
        "type": "knowledgeBase.create",
        "id": "kb-demo-salon",
        "workspaceId": "ws-demo-salon",
        "name": "Salon services",
        "draft": COMPLETE_DRAFT,
    },
]


class DemoSeedError(RuntimeError):
    """The API refused a step of the seed: the message names the step and the answer."""


def seed_demo_account(gateway: LocalGateway) -> bool:
    """Creates the demo account unless it exists. True when it was created now."""
    status, answer = _call(gateway, "POST", "/api/auth/sign-up", DEMO_PROFILE)
    if status == 409:
        return False
    challenge = _expect(201, status, answer, "sign-up")["challengeId"]
    status, answer = _call(gateway, "POST", "/api/auth/verify", {"challengeId": challenge, "code": DEMO_CODE})
    token = _expect(200, status, answer, "verify")["token"]
    for start in range(0, len(MUTATIONS), 25):
        batch = {"mutations": MUTATIONS[start : start + 25]}
        status, answer = _call(gateway, "POST", "/api/user-data", batch, token=token)
        _expect(200, status, answer, "user-data mutations")
    return True


def _call(
    gateway: LocalGateway, method: str, path: str, body: dict[str, Any], token: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = [("Content-Type", "application/json"), ("Host", "localhost")]
    if token:
        headers.append(("Authorization", f"Bearer {token}"))
    request = IncomingRequest(
        method=method,
        path=path,
        query="",
        headers=headers,
        body=json.dumps(body).encode(),
        source_ip="127.0.0.1",
    )
    response = gateway.handle(request).response
    try:
        parsed = json.loads(response.body or b"{}")
    except ValueError:
        parsed = {"body": response.body[:200].decode(errors="replace")}
    return response.status, parsed if isinstance(parsed, dict) else {"body": parsed}


def _expect(status: int, got: int, answer: dict[str, Any], step: str) -> dict[str, Any]:
    if got != status:
        raise DemoSeedError(f"demo account: {step} answered {got}: {json.dumps(answer)[:500]}")
    return answer
