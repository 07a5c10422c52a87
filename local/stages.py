"""template.yaml as a deployed stage gets it: the template's defaults under the parameter overrides
that `sam deploy --config-env <stage>` reads from samconfig.toml, resolved by the local run's
intrinsic resolver. The tests use it to prove each stage's settings without an AWS account
(tests/unit/test_stages.py), and the template's Rules are checked here as CloudFormation would."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.config import LocalRunError, parameter_values, parse_parameter_overrides, pseudo_parameters
from local.intrinsics import Resolver
from local.stack import ApiSpec, read_stack, resource_references
from local.template import ROOT

if TYPE_CHECKING:
    from pathlib import Path

SAMCONFIG_PATH = ROOT / "samconfig.toml"


@dataclass(frozen=True)
class StageTemplate:
    """One stage's parameter values and a resolver that evaluates the template's values for it."""

    name: str
    template: dict[str, Any]
    parameters: dict[str, str]
    resolver: Resolver
    region: str

    def condition(self, name: str) -> bool:
        return self.resolver.condition(name)

    def resource(self, logical_id: str) -> dict[str, Any]:
        """A resource's Properties resolved for this stage (properties a condition drops are gone)."""
        resource: dict[str, Any] = self.template["Resources"][logical_id]
        resolved: dict[str, Any] = self.resolver.resolve(resource.get("Properties") or {})
        return resolved

    def function_globals(self) -> dict[str, Any]:
        """`Globals.Function` resolved for this stage (what SAM adds to every function)."""
        declared = (self.template.get("Globals") or {}).get("Function") or {}
        resolved: dict[str, Any] = self.resolver.resolve(declared)
        return resolved

    def exists(self, logical_id: str) -> bool:
        condition = self.template["Resources"][logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def api(self, logical_id: str = "Api") -> ApiSpec:
        return read_stack(self.template, self.resolver, ROOT).apis[logical_id]

    def broken_rules(self) -> list[str]:
        """The AssertDescription of every Rule assertion these parameters fail, as CloudFormation
        would refuse the change set."""
        broken = []
        for name, rule in (self.template.get("Rules") or {}).items():
            applies = rule.get("RuleCondition")
            if applies is not None and not self.resolver.resolve(applies):
                continue
            for assertion in rule["Assertions"]:
                if not self.resolver.resolve(assertion["Assert"]):
                    broken.append(f"{name}: {assertion.get('AssertDescription', '')}".strip())
        return broken


def samconfig(path: Path = SAMCONFIG_PATH) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def deploy_parameters(stage: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """`[<stage>.deploy.parameters]` over `[<stage>.global.parameters]`, like SAM CLI merges them."""
    config = config if config is not None else samconfig()
    if stage not in config or "deploy" not in config[stage]:
        raise LocalRunError(f"samconfig.toml has no [{stage}.deploy.parameters]")
    merged = dict((config[stage].get("global") or {}).get("parameters") or {})
    merged.update(config[stage]["deploy"]["parameters"])
    return merged


def stage_overrides(parameters: dict[str, Any]) -> dict[str, str]:
    overrides = parameters.get("parameter_overrides", [])
    if isinstance(overrides, str):
        return parse_parameter_overrides(overrides)
    return parse_parameter_overrides(" ".join(_quoted(item) for item in overrides))


def _quoted(item: str) -> str:
    key, _, value = item.partition("=")
    return f'{key}="{value}"'


def stage_template(
    template: dict[str, Any], stage: str, config: dict[str, Any] | None = None
) -> StageTemplate:
    parameters_of_stage = deploy_parameters(stage, config)
    region = str(parameters_of_stage.get("region", ""))
    if not region:
        raise LocalRunError(f"samconfig.toml pins no region for {stage}")
    parameters = parameter_values(template, stage_overrides(parameters_of_stage), stage_values={})
    base = Resolver(parameters, pseudo_parameters(region), conditions=template.get("Conditions") or {})
    return StageTemplate(stage, template, parameters, _every_resource(template, base, region), region)


def _every_resource(template: dict[str, Any], base: Resolver, region: str) -> Resolver:
    """The local run's names for tables and functions, and a `<LogicalId>` placeholder for every
    other resource's !Ref and !GetAtt ...Arn (SAM's `<Function>.Alias` included): a stage's values
    are then computable everywhere, and what a test compares is the template's own text."""
    known = resource_references(template, base, region)
    references = {logical_id: f"<{logical_id}>" for logical_id in template.get("Resources") or {}}
    references.update(
        {
            f"{lid}.Alias": f"<{lid}.Alias>"
            for lid, r in template["Resources"].items()
            if (r.get("Properties") or {}).get("AutoPublishAlias")
        }
    )
    attributes = {(logical_id, "Arn"): f"<{logical_id}.Arn>" for logical_id in references}
    return Resolver(
        parameters=known.parameters,
        pseudo_parameters=known.pseudo_parameters,
        references={**references, **known.references},
        attributes={**attributes, **known.attributes},
        conditions=known.conditions,
    )
