"""What part of an account a change needs (issue 13: writes that read what they touch).

A command names its `Reach`: the workspaces it names and the entities it names by id. The store
resolves the entities to the workspaces that hold them (the root's id index) and loads the root
and only those workspace items: a *partial* account, whose `Outside` says what else exists (for
lookups and id claims). Every rule of CONTRACT §2 acts within one workspace or on the root, so the
rules run unchanged on a partial account. When one reaches outside anyway (an id that lives in a
workspace not loaded, a repair, an answer that would need the rest), `OutOfReach` is raised before
anything is stored, and the write flow loads the whole account and applies the change again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reach:
    """The workspaces a change names and the ids of the entities it names (KBs, agents,
    connections); the root (profile, groups, setup facts) is always loaded."""

    workspaces: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *, workspaces: tuple[str | None, ...] = (), entities: tuple[str | None, ...] = ()) -> Reach:
        return cls(
            frozenset(w for w in workspaces if w is not None), frozenset(e for e in entities if e is not None)
        )

    def __or__(self, other: Reach) -> Reach:
        return Reach(self.workspaces | other.workspaces, self.entities | other.entities)


@dataclass(frozen=True)
class Outside:
    """What a partial account knows of the workspaces it did not load."""

    workspace_order: tuple[str, ...]  # every workspace of the account, in display order
    workspace_ids: frozenset[str]  # those not loaded
    entity_ids: frozenset[str]  # the KBs, agents and connections of those not loaded
    # The newest creation time of any entity of the account (or later): an entity created by this
    # change sorts after every stored one only when it was created after it.
    newest_created_at: str

    def holds(self, item_id: str) -> bool:
        return item_id in self.workspace_ids or item_id in self.entity_ids


class OutOfReach(Exception):
    """The change needs more of the account than was loaded: load all of it and apply it again."""
