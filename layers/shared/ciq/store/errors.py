"""Store-level outcomes the services react to (they are not HTTP errors by themselves). Defined in
ciq.errors, so that the write flow names them through its port without importing the store."""

from __future__ import annotations

from ciq.errors import ConditionFailed, VersionConflict

__all__ = ["ConditionFailed", "VersionConflict"]
