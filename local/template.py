"""Reading template.yaml: CloudFormation short tags (!Ref, !Sub, ...) become their long form, and
the table definitions become CreateTable calls, so local tables and test tables cannot drift."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's `!Tag value` short forms."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader
    return document


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == kind}


def create_table_requests(template: dict[str, Any], table_names: dict[str, str]) -> list[dict[str, Any]]:
    """CreateTable arguments for every AWS::DynamoDB::Table, named by `table_names[logical id]`,
    plus the TTL attribute (if any) under the extra key `_ttl_attribute`."""
    requests = []
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        request: dict[str, Any] = {
            "TableName": table_names[logical_id],
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if key in props:
                request[key] = props[key]
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled"):
            request["_ttl_attribute"] = ttl["AttributeName"]
        requests.append(request)
    return requests


def create_tables(client: Any, template: dict[str, Any], table_names: dict[str, str]) -> None:
    """Creates the template's tables on `client` (moto, DynamoDB Local or AWS) unless they exist."""
    existing = set(client.list_tables().get("TableNames", []))
    for request in create_table_requests(template, table_names):
        ttl_attribute = request.pop("_ttl_attribute", None)
        if request["TableName"] in existing:
            continue
        client.create_table(**request)
        client.get_waiter("table_exists").wait(TableName=request["TableName"], WaiterConfig={"Delay": 1})
        if ttl_attribute:
            client.update_time_to_live(
                TableName=request["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )
