"""Listeners told of every committed account write: the local run's in-process change feed for live
updates (local/live.py), equivalent to the data table's DynamoDB Stream on AWS, where nothing
listens here (an empty list: no cost)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    Listener = Callable[[str, int], None]

_listeners: list[Listener] = []
_log = logging.getLogger(__name__)


def subscribe(listener: Listener) -> None:
    _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def announce(user_id: str, version: int) -> None:
    """Called once after each committed write of an account's root. A failing listener never fails
    the write it hears of."""
    for listener in list(_listeners):
        try:
            listener(user_id, version)
        except Exception:
            _log.exception("a commit listener failed")
