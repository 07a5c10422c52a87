"""Delivery of verification codes. `EMAIL_SENDER=ses` sends through Amazon SES v2 in AWS;
`EMAIL_SENDER=log` sends nothing and logs that a code was issued to the masked address (stages with
the fixed code, whose users already know it); `EMAIL_SENDER=outbox` appends to a local JSON Lines file
(the local run and the tests read it) and prints one line for the developer. Codes never go through
the Logger and the API never returns them."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from ciq.auth import clock
from ciq.auth.emails import mask_email
from ciq.errors import DependencyUnavailable, InternalError
from ciq.store.clients import botocore_error, client_error, sesv2

if TYPE_CHECKING:
    from ciq.settings import Settings

Purpose = Literal["sign-up", "sign-in"]
_log = logging.getLogger(__name__)
_SUBJECTS: dict[Purpose, str] = {
    "sign-up": "Your ConversionIQ sign-up code",
    "sign-in": "Your ConversionIQ sign-in code",
}


class CodeSender(Protocol):
    def send_code(self, email: str, code: str, purpose: Purpose) -> None: ...


@dataclass(frozen=True)
class SesSender:
    from_address: str

    def send_code(self, email: str, code: str, purpose: Purpose) -> None:
        if not self.from_address.strip():
            raise InternalError("verification emails are not configured: EMAIL_FROM_ADDRESS is empty")
        body = f"Your ConversionIQ verification code is {code}. It expires in 10 minutes."
        try:
            sesv2().send_email(
                FromEmailAddress=self.from_address,
                Destination={"ToAddresses": [email]},
                Content={
                    "Simple": {
                        "Subject": {"Data": _SUBJECTS[purpose], "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                    }
                },
            )
        except (client_error(), botocore_error()) as error:
            raise DependencyUnavailable(
                "the verification email could not be sent; retry shortly", headers={"Retry-After": "5"}
            ) from error


@dataclass(frozen=True)
class OutboxSender:
    path: Path

    def send_code(self, email: str, code: str, purpose: Purpose) -> None:
        record = {"to": email, "purpose": purpose, "code": code, "sentAt": clock.iso(clock.now())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(record) + "\n")
        print(f"[outbox] verification code for {mask_email(email)}: {code}", file=sys.stdout, flush=True)


@dataclass(frozen=True)
class LogOnlySender:
    """Fixed-code stages (dev): no email to made-up test addresses, and no SES set-up needed. The
    log line says a code was issued, to whom (masked), and why nothing was sent; never the code."""

    def send_code(self, email: str, code: str, purpose: Purpose) -> None:
        _log.info(
            "verification code for %s issued (%s); not emailed: EMAIL_SENDER=log", mask_email(email), purpose
        )


def sender_for(settings: Settings) -> CodeSender:
    if settings.email_sender == "outbox":
        return OutboxSender(Path(settings.local_outbox_path))
    if settings.email_sender == "log":
        return LogOnlySender()
    return SesSender(settings.email_from_address)
