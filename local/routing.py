"""Which route answers a request, as API Gateway REST decides it: the most specific resource path
that matches (a literal segment beats `{param}`, which beats a greedy `{param+}`), then the
resource's own method, else its ANY method. No match means API Gateway's "Missing Authentication
Token" answer (the template's MISSING_AUTHENTICATION_TOKEN gateway response)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from local.stack import Route

_PARAMETER = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")
LITERAL, PARAMETER, GREEDY = 0, 1, 2


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Resource:
    path: str
    pattern: re.Pattern[str]
    specificity: tuple[int, ...]
    methods: dict[str, Route]


class RouteTable:
    def __init__(self, routes: Iterable[Route]) -> None:
        by_path: dict[str, dict[str, Route]] = {}
        for route in routes:
            by_path.setdefault(route.resource, {})[route.method] = route
        compiled = [_compile(path, methods) for path, methods in by_path.items()]
        # Most specific first, so the first resource that matches is the one API Gateway picks.
        self._resources = sorted(compiled, key=lambda resource: resource.specificity)

    def routes(self) -> list[Route]:
        return [route for resource in self._resources for route in resource.methods.values()]

    def match(self, path: str, method: str) -> Match | None:
        for resource in self._resources:
            found = resource.pattern.fullmatch(path)
            if found is None:
                continue
            route = resource.methods.get(method.upper()) or resource.methods.get("ANY")
            if route is None:
                return None  # the resource exists but not this method: API Gateway answers 403/404 too
            return Match(route=route, path_parameters=dict(found.groupdict()))
        return None


def _compile(path: str, methods: dict[str, Route]) -> _Resource:
    parts, specificity = [], []
    for segment in path.strip("/").split("/") if path != "/" else []:
        parameter = _PARAMETER.match(segment)
        if parameter is None:
            parts.append(re.escape(segment))
            specificity.append(LITERAL)
        elif parameter.group(2):
            parts.append(f"(?P<{_group(parameter.group(1))}>.+)")
            specificity.append(GREEDY)
        else:
            parts.append(f"(?P<{_group(parameter.group(1))}>[^/]+)")
            specificity.append(PARAMETER)
    pattern = re.compile("/" + "/".join(parts))
    return _Resource(path=path, pattern=pattern, specificity=tuple(specificity), methods=methods)


def _group(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"path parameter {{{name}}} is not supported locally (use letters, digits, _)")
    return name
