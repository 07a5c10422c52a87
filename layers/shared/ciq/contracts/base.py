from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are refused (422).

    `defer_build`: a model's validator and serializer are built on its first use, not at import, so
    a function's init does not build the dozens of contract models it never touches (a GET never
    builds a mutation model); docs/performance.md has the figures."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        defer_build=True,
    )


def _is_none(value: Any) -> bool:
    return value is None


# Limits of CONTRACT §9.
NAME_MAX = 120
DESCRIPTION_MAX = 2000
LABEL_MAX = 80
CUSTOM_TEXT_MAX = 5000
PRESETS_MAX = 50
CUSTOM_OBJECTIVES_MAX = 100
MAX_CONNECTIONS_PER_AGENT = 4
BATCH_MAX = 25
BODY_MAX_BYTES = 256 * 1024
IMPORT_BODY_MAX_BYTES = 6 * 1024 * 1024

ID_PATTERN = r"^(ws|kb|agent|conn|grp)-[A-Za-z0-9_-]{1,64}$"
# Ids kept from an imported document (legacy ids such as "default" or "ws-1700000000000").
IMPORTED_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]
ProposedId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
EntityId = Annotated[str, StringConstraints(pattern=IMPORTED_ID_PATTERN)]
Phone = Annotated[str, StringConstraints(pattern=E164_PATTERN)]
Timestamp = Annotated[str, StringConstraints(max_length=40)]
ImageRef = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


def absent_if_none() -> Any:
    """An optional field that is left out of the JSON when it has no value (TypeScript `field?`)."""
    return Field(default=None, exclude_if=_is_none)
