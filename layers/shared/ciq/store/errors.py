"""Store-level outcomes the services react to (they are not HTTP errors by themselves)."""

from __future__ import annotations


class VersionConflict(Exception):
    """Another writer bumped the account's version between our read and our write."""


class ConditionFailed(Exception):
    """A condition on a non-root item of a transaction failed (for example an idempotency record
    that another request wrote first). `index` is the item's position in the transaction."""

    def __init__(self, index: int) -> None:
        super().__init__(f"condition failed on transaction item {index}")
        self.index = index
