"""CloudFormation intrinsic functions evaluated with local values, so that environment variables,
table names and gateway-response headers come from template.yaml exactly as CloudFormation would
compute them for a stage called `local`.

Only what a template's values can use is supported (Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::Select,
Fn::If and the condition functions). Anything else raises `Unresolvable`: the local run refuses to
start rather than hand a handler a half-evaluated value."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Unresolvable(ValueError):
    """A template value that the local run cannot compute."""


class _NoValue:
    """`!Ref AWS::NoValue`: the property disappears."""


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class Resolver:
    parameters: Mapping[str, str]
    pseudo_parameters: Mapping[str, str]
    # `!Ref <logical id>` of a resource, and `!GetAtt <logical id>.<attribute>`.
    references: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[tuple[str, str], str] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if isinstance(value, dict):
            function = _function_of(value)
            if function is not None:
                name, argument = function
                return _FUNCTIONS[name](self, argument)
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        return value

    def resolve_string(self, value: Any, where: str) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (str, int, float)):
            return str(resolved)
        raise Unresolvable(f"{where}: expected a string, got {resolved!r}")

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise Unresolvable(f"unknown condition {name!r}")
        return self._truth(self.conditions[name])

    def _truth(self, value: Any) -> bool:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return resolved
        raise Unresolvable(f"expected a condition, got {value!r}")

    def _ref(self, name: Any) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        for source in (self.parameters, self.pseudo_parameters, self.references):
            if name in source:
                return source[name]
        raise Unresolvable(
            f"!Ref {name}: not a parameter, a pseudo parameter or a resource the local run knows"
        )

    def _get_att(self, argument: Any) -> str:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise Unresolvable(f"!GetAtt {logical_id}.{attribute}: unknown to the local run") from None

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        local_values = {
            name: self.resolve_string(value, f"!Sub variable {name}") for name, value in variables.items()
        }

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} stays as ${Literal}
                return "${" + name[1:] + "}"
            if name in local_values:
                return local_values[name]
            if "." in name and name not in self.parameters:
                return self._get_att(name)
            return self.resolve_string({"Ref": name}, f"!Sub {text!r}")

        return _SUB_VARIABLE.sub(substitute, text)

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        return str(delimiter).join(self.resolve_string(item, "!Join item") for item in self.resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve_string(index, "!Select index"))]

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _equals(self, argument: Any) -> bool:
        left, right = (self.resolve(item) for item in argument)
        return bool(str(left) == str(right))

    def _not(self, argument: Any) -> bool:
        return not self._truth(argument[0])

    def _and(self, argument: Any) -> bool:
        return all(self._truth(item) for item in argument)

    def _or(self, argument: Any) -> bool:
        return any(self._truth(item) for item in argument)


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._ref,
    "Fn::Sub": Resolver._sub,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::If": Resolver._if,
    "Fn::Equals": Resolver._equals,
    "Fn::Not": Resolver._not,
    "Fn::And": Resolver._and,
    "Fn::Or": Resolver._or,
    "Condition": lambda resolver, name: resolver.condition(name),
}


def _function_of(value: dict[str, Any]) -> tuple[str, Any] | None:
    if len(value) != 1:
        return None
    ((key, argument),) = value.items()
    if key in _FUNCTIONS:
        return key, argument
    if key.startswith("Fn::"):
        raise Unresolvable(f"{key} is not supported by the local run")
    return None
