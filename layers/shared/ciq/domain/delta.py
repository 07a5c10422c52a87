"""What a change did to a user's data, as the client sees it: the delta between two UserData
documents (their JSON form). A client holding `before` gets `after` with `apply_delta`, the rule of
docs/api/user-data.md "Minimal answers"; a property test checks it on random changes.

    {"changed": {"workspaces": [...], "knowledgeBases": [...], ...},  # new or different, whole
     "removed": ["kb-2", ...],                                        # ids gone, from any list
     "order": {"workspaces": ["ws-2", "ws-1"]},   # a list's ids, only when appending new ones
                                                  # at the end would not give the server's order
     "profile": {...}, "nodePositions": {...}, "schemaVersion": 2}    # each only when changed"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ciq.domain.reach import OutOfReach

if TYPE_CHECKING:
    from ciq.domain.reach import Outside

ENTITY_LISTS = ("groups", "workspaces", "knowledgeBases", "agents", "connections")
WHOLE_FIELDS = ("profile", "nodePositions", "schemaVersion")


def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changed: dict[str, list[dict[str, Any]]] = {}
    removed: list[str] = []
    order: dict[str, list[str]] = {}
    for name in ENTITY_LISTS:
        old = {entity["id"]: entity for entity in before.get(name, [])}
        new = after.get(name, [])
        different = [entity for entity in new if old.get(entity["id"]) != entity]
        if different:
            changed[name] = different
        new_ids = [entity["id"] for entity in new]
        gone = [entity_id for entity_id in old if entity_id not in set(new_ids)]
        removed += gone
        appended = [i for i in old if i not in gone] + [i for i in new_ids if i not in old]
        if appended != new_ids:
            order[name] = new_ids
    answer: dict[str, Any] = {"changed": changed, "removed": removed}
    if order:
        answer["order"] = order
    for field in WHOLE_FIELDS:
        if before.get(field) != after.get(field):
            answer[field] = after.get(field)
    return answer


def delta_of(before: dict[str, Any], after: dict[str, Any], outside: Outside | None) -> dict[str, Any]:
    """The delta of a change; of a partial account's change only when it is the one the whole
    account would give, else OutOfReach (the write is applied again to the whole account): no list
    order (it would name only the loaded ids), no nodePositions (sent whole), and every new entity
    created after every stored one (so that appending it is the server's order)."""
    change = delta(before, after)
    if outside is None:
        return change
    if "order" in change or "nodePositions" in change:
        raise OutOfReach("the minimal answer needs the whole account")
    held = {entity["id"] for name in CHILD_LISTS for entity in before.get(name, [])}
    for name in CHILD_LISTS:
        for entity in change["changed"].get(name, []):
            if entity["id"] not in held and entity["createdAt"] <= outside.newest_created_at:
                raise OutOfReach("a new entity does not sort after every stored one")
    return change


def apply_delta(before: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """The client's side: `before` updated by a delta (what a cache of UserData does with it)."""
    after = {**before}
    removed = set(change.get("removed", []))
    for name in ENTITY_LISTS:
        replaced = {entity["id"]: entity for entity in change.get("changed", {}).get(name, [])}
        kept = [replaced.pop(e["id"], e) for e in before.get(name, []) if e["id"] not in removed]
        entities = kept + list(replaced.values())
        if name in change.get("order", {}):
            by_id = {entity["id"]: entity for entity in entities}
            entities = [by_id[entity_id] for entity_id in change["order"][name]]
        after[name] = entities
    for field in WHOLE_FIELDS:
        if field in change:
            after[field] = change[field]
    return after


# -- delta reads (GET /api/user-data?since=<version>, docs/api/user-data.md "Delta reads") ---------
# The root's complete workspace order is what makes a delta read exact for any held version: a held
# workspace that is not in it was deleted, and a workspace written after `since` is sent whole with
# all its children, which replace the held ones (no entity ever crosses a workspace boundary).

CHILD_LISTS = ("knowledgeBases", "agents", "connections")
ROOT_FIELDS = ("schemaVersion", "profile", "groups")


def apply_workspace_delta(held: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The client's side of a delta read: `held` (the data at `answer["baseVersion"]`) brought to
    `answer["version"]`. The TypeScript client implements the same rule (clients/typescript)."""
    order: list[str] = answer["workspaceOrder"]
    sent = {workspace["id"]: workspace for workspace in answer["workspaces"]}
    kept = {w["id"]: w for w in held.get("workspaces", []) if w["id"] in order and w["id"] not in sent}
    workspaces = {**kept, **sent}
    after: dict[str, Any] = {field: answer[field] for field in ROOT_FIELDS}
    after["workspaces"] = [workspaces[workspace_id] for workspace_id in order]
    position = {workspace_id: index for index, workspace_id in enumerate(order)}
    for name in CHILD_LISTS:
        children = [e for e in held.get(name, []) if e["workspaceId"] in kept] + answer[name]
        # Creation order, ties in workspace order: the order of a full read (a stable sort).
        children.sort(key=lambda e: (e["createdAt"], position[e["workspaceId"]]))
        after[name] = children
    positions = {k: v for k, v in held.get("nodePositions", {}).items() if k in kept}
    positions.update(answer["nodePositions"])
    after["nodePositions"] = {k: positions[k] for k in order if k in positions}
    return after
