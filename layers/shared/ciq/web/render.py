"""The JSON of each answer the write-path services return (ciq.services.*): the edge alone decides
what a domain value looks like on the wire."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ciq.contracts.entities import UserData
from ciq.domain.delta import CHILD_LISTS, ROOT_FIELDS

if TYPE_CHECKING:
    from ciq.contracts.setup_status import SetupStatus
    from ciq.services.live_agents import AgentAnswer, AgentsList
    from ciq.services.user_data import DataAnswer, DeltaAnswer, SinceAnswer


class _DataBody(BaseModel):
    """`{"data", "version", "results"?}`, serialized in one pass (the data can be megabytes)."""

    model_config = ConfigDict(defer_build=True)

    data: UserData
    version: int
    results: list[dict[str, Any]] | None = None


def data_answer(answer: DataAnswer | DeltaAnswer) -> str:
    """The whole data, or with a minimal answer the delta (docs/api/user-data.md "Minimal answers")."""
    from ciq.services.user_data import DataAnswer  # noqa: PLC0415 - only user data needs it

    if isinstance(answer, DataAnswer):
        body = _DataBody(data=answer.data, version=answer.version, results=answer.results)
        return body.model_dump_json(by_alias=True, exclude={"results"} if answer.results is None else None)
    minimal = {**answer.delta, "baseVersion": answer.version - 1, "version": answer.version}
    if answer.results is not None:
        minimal["results"] = answer.results
    return _json(minimal)


def since_answer(answer: SinceAnswer) -> str:
    """A delta read (docs/api/user-data.md "Delta reads"): the root fields, the workspace order, the
    changed workspaces with all their children; or `{"full": true, "version"}`."""
    if answer.data is None:
        return _json({"full": True, "version": answer.version})
    wire = answer.data.model_dump(mode="json")
    return _json(
        {
            **{field: wire[field] for field in ROOT_FIELDS},
            "workspaceOrder": answer.workspace_order,
            "workspaces": wire["workspaces"],
            **{name: wire[name] for name in CHILD_LISTS},
            "nodePositions": wire["nodePositions"],
            "baseVersion": answer.since,
            "version": answer.version,
        }
    )


def setup_status(status: SetupStatus) -> str:
    return status.model_dump_json()


def agents_list(answer: AgentsList) -> str:
    return _json({"agents": answer.agents, "source": answer.source, "degraded": answer.degraded})


def agent_answer(answer: AgentAnswer) -> str:
    return _json({"agent": answer.agent, "source": answer.source, "degraded": answer.degraded})


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))
