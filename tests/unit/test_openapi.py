"""docs/api/openapi.json is what `make openapi` (local/openapi.py) generates from template.yaml, the
route facts declared beside each handler and the contract models: a route or a model changed without
regenerating fails here, and so does a document that is not valid OpenAPI 3.1."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from ciq import errors
from ciq.auth.cookies import COOKIE_NAME
from local.openapi import OUTPUT, REFERENCE, build, read_template_stack, render, template_routes
from local.reference import render_reference


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OUTPUT.read_text())
    return loaded


def test_the_checked_in_document_is_the_generated_one() -> None:
    assert OUTPUT.read_text() == render(build()), "docs/api/openapi.json is stale: run `make openapi`"


def test_the_reference_page_is_the_rendered_document(document: dict[str, Any]) -> None:
    # Given the checked-in page / Then it is the rendering of the checked-in document, and every
    # schema link in it has its target
    page = REFERENCE.read_text()
    assert page == render_reference(document), "docs/api/reference.html is stale: run `make openapi`"
    targets = set(re.findall(r"id='(schema-[A-Za-z]+)'", page))
    assert set(re.findall(r"href='#(schema-[A-Za-z]+)'", page)) <= targets
    assert {f"schema-{name}" for name in document["components"]["schemas"]} == targets
    assert "<script" not in page and "http" not in page.replace("http://localhost", "").replace(
        "https://{apiId}", ""
    )


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    # Given the checked-in document / When the OpenAPI 3.1 validator reads it / Then it finds nothing
    validate(document)


def test_every_template_route_is_documented_with_its_security(document: dict[str, Any]) -> None:
    for method, resource, secured in template_routes():
        if method == "ANY":
            continue
        operation = document["paths"][resource][method.lower()]
        assert bool(operation["security"]) == secured, (method, resource)
        if secured:
            assert "401" in operation["responses"]
        else:
            assert "401" not in operation["responses"] and "403" not in operation["responses"], resource
    schemes = document["components"]["securitySchemes"]
    assert schemes["cookieAuth"]["name"] == COOKIE_NAME
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error"]


def test_every_path_documents_its_preflight_with_its_path_parameters(document: dict[str, Any]) -> None:
    for resource, item in document["paths"].items():
        preflight = item["options"]
        assert preflight["security"] == [] and set(preflight["responses"]) == {"204"}, resource
        names = {p["name"] for p in preflight.get("parameters", []) if p["in"] == "path"}
        assert names == {part.strip("{}") for part in resource.split("/") if part.startswith("{")}


def test_the_error_code_is_an_enum_of_the_layers_codes(document: dict[str, Any]) -> None:
    # Given every error class of ciq.errors / Then each code is in the enum, and so is the gateway's own
    enum = document["components"]["schemas"]["ErrorCode"]["enum"]
    classes, todo = [], [errors.AppError]
    while todo:
        cls = todo.pop()
        classes.append(cls)
        todo += cls.__subclasses__()
    assert {cls.code for cls in classes} | {"invalid_request"} == set(enum)


def test_every_error_status_lists_codes_of_that_status(document: dict[str, Any]) -> None:
    # Given the status of each code: its error class, or an API Gateway answer of template.yaml
    allowed = set(_status_by_code().items()) | _gateway_answers()
    for resource, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for code in _codes_in(response["description"]):
                    assert (code, int(status)) in allowed, (method, resource, status, code)


def test_optional_answer_fields_are_omitted_not_null(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for model, field in [
        ("Agent", "syncState"),
        ("Agent", "syncError"),
        ("Connection", "platform"),
        ("Connection", "addedVia"),
        ("Connection", "phoneNumber"),
        ("Connection", "compliance"),
        ("Workspace", "image"),
    ]:
        schema = schemas[model]
        assert field not in schema["required"], (model, field)
        assert "null" not in json.dumps(schema["properties"][field]), (model, field)
    # while a field that is always sent, its default included, is required
    assert {"firstName", "company", "phone"} <= set(schemas["Profile"]["required"])


def test_only_components_carry_titles(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        assert schema["title"] == name.replace("-", "")
        inner = json.dumps({k: v for k, v in schema.items() if k != "title"})
        assert '"title": "' not in inner.replace('"title": {', ""), name


def test_servers_name_the_local_run_and_each_stage(document: dict[str, Any]) -> None:
    urls = [server["url"] for server in document["servers"]]
    assert urls[0] == "http://localhost:4000"
    assert any(url.endswith("/dev") for url in urls) and any(url.endswith("/prod") for url in urls)


def _status_by_code() -> dict[str, int]:
    found, todo = {}, [errors.AppError]
    while todo:
        cls = todo.pop()
        found[cls.code] = cls.status
        todo += cls.__subclasses__()
    return found


def _gateway_answers() -> set[tuple[str, int]]:
    found = set()
    for api in read_template_stack().apis.values():
        for response in api.gateway_responses.values():
            for template in response.templates.values():
                for code in re.findall(r'"code":"([a-z_]+)"', template):
                    found.add((code, response.status or 0))
    return found


def _codes_in(description: str) -> list[str]:
    _, _, listed = description.rpartition(": ")
    return [part.strip("` ") for part in listed.split(",") if part.strip().startswith("`")]
