"""The Markdown pages of docs/api and the generated OpenAPI document state some facts twice: status
codes, error codes, field limits and which answer fields may be absent. Where they do, they must say
the same thing; the detail codes the layer uses must all be in errors.md."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ciq import errors
from local.openapi import OUTPUT, read_template_stack

ROOT = Path(__file__).resolve().parents[2]
API_DOCS = ROOT / "docs" / "api"
ROUTE_PAGES = ("auth", "user-data", "setup-status", "live-agents")
_ROW = re.compile(r"^\|\s*([0-9][0-9x]{2}(?:\s*,\s*[0-9]{3})*)\s*\|\s*([^|]*)\|", re.MULTILINE)
_CODE = re.compile(r"`([a-z][a-z_]+)`")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OUTPUT.read_text())
    return loaded


def _page(name: str) -> str:
    return (API_DOCS / f"{name}.md").read_text()


def _status_of_codes() -> dict[str, set[int]]:
    """Each error code and the statuses it is answered with (its class, and template.yaml's own)."""
    found: dict[str, set[int]] = {}
    todo: list[type[errors.AppError]] = [errors.AppError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.code, set()).add(cls.status)
        todo += cls.__subclasses__()
    for api in read_template_stack().apis.values():
        for response in api.gateway_responses.values():
            for template in response.templates.values():
                for code in re.findall(r'"code":"([a-z_]+)"', template):
                    found.setdefault(code, set()).add(response.status or 0)
    return found


def _error_rows(text: str) -> list[tuple[list[int], list[str]]]:
    """(statuses, codes) of every `| 409 | `code` | ... |` row of a page's error tables."""
    rows = []
    for statuses, codes in _ROW.findall(text):
        numbers = [int(s) for s in re.findall(r"[0-9]{3}", statuses)]
        rows.append((numbers, _CODE.findall(codes)))
    return rows


def test_errors_md_lists_exactly_the_codes_of_the_openapi_enum(document: dict[str, Any]) -> None:
    # Given the codes table of errors.md (a row per code) and the generated ErrorCode enum
    codes_section = _page("errors").split("## Codes", 1)[1].split("\n## ", 1)[0]
    listed = {code for _, codes in _error_rows(codes_section) for code in codes}
    listed |= set(re.findall(r"^\| any 4xx \| `([a-z_]+)`", codes_section, re.MULTILINE))
    # Then they are the same set
    assert listed == set(document["components"]["schemas"]["ErrorCode"]["enum"])


@pytest.mark.parametrize("page", ("errors", *ROUTE_PAGES))
def test_every_error_row_gives_a_code_its_real_status(page: str) -> None:
    statuses_of = _status_of_codes()
    for statuses, codes in _error_rows(_page(page)):
        for code in codes:
            if code not in statuses_of:
                continue  # a detail code or a route name in the row, not an error code
            assert any(status in statuses_of[code] for status in statuses), (page, statuses, code)


@pytest.mark.parametrize("page", ROUTE_PAGES)
def test_each_route_table_states_the_documented_success_status(page: str, document: dict[str, Any]) -> None:
    rows = re.findall(r"^\| `([A-Z]+) (/api/[^`]+)` \|.*\| `([0-9]{3})[^|]*\|\s*$", _page(page), re.MULTILINE)
    assert rows, page
    for method, path, status in rows:
        responses = document["paths"][path][method.lower()]["responses"]
        success = min(int(code) for code in responses)
        assert success == int(status), (method, path, status, success)


@pytest.mark.parametrize("page", ROUTE_PAGES)
def test_each_page_names_every_error_its_routes_document(page: str, document: dict[str, Any]) -> None:
    # Given the route-specific errors of each operation (the ones every route shares are in errors.md)
    shared = {"forbidden", "rate_limited", "internal_error", "dependency_unavailable", "payload_too_large"}
    named = {code for _, codes in _error_rows(_page(page)) for code in codes}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if operation["tags"] != [page]:
                continue
            for status, response in operation["responses"].items():
                for code in re.findall(r"`([a-z_]+)`", response["description"].rpartition(": ")[2]):
                    # Then the page's error tables name it
                    assert code in named or code in shared, (page, method, path, status, code)


# -- field tables: `| `name` | string 1-120 | ... |` (an en dash) under **Model** --------------------


def _field_tables(text: str) -> dict[str, list[tuple[str, bool, str]]]:
    """Model name -> (field, marked optional with `?`, type cell) of the table after `**Model**`."""
    tables: dict[str, list[tuple[str, bool, str]]] = {}
    for match in re.finditer(r"^\*\*(\w+)\*\*\s*\n\n((?:\|.*\n)+)", text, re.MULTILINE):
        rows = []
        for line in match.group(2).splitlines()[2:]:
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            for name in re.findall(r"`(\w+)(\??)`", cells[0]):
                rows.append((name[0], name[1] == "?", cells[1]))
        tables[match.group(1)] = rows
    return tables


def _bounds(type_cell: str) -> tuple[int | None, int | None]:
    if m := re.search("([0-9]+)\u2013([0-9,]+)", type_cell):
        return int(m.group(1)), int(m.group(2).replace(",", ""))
    if m := re.search(r"≤ ([0-9,]+)", type_cell):
        return None, int(m.group(1).replace(",", ""))
    return None, None


def _string_schema(prop: dict[str, Any]) -> dict[str, Any]:
    options: list[dict[str, Any]] = prop.get("anyOf", [prop])
    return next((option for option in options if option.get("type") == "string"), prop)


def test_field_tables_agree_with_the_answer_schemas(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    aliases = {"ChannelConnection": "Connection"}
    checked = 0
    for model, rows in _field_tables(_page("user-data")).items():
        schema = schemas[aliases.get(model, model)]
        for field, optional, type_cell in rows:
            prop = schema["properties"][field]
            # `field?` in the page: absent from the JSON when empty, so not required in the document
            assert optional == (field not in schema["required"]), (model, field)
            low, high = _bounds(type_cell)
            if "string" in type_cell and (low or high):
                string = _string_schema(prop)
                assert (string.get("minLength"), string.get("maxLength")) == (low, high), (model, field)
                checked += 1
    assert checked >= 7  # names, descriptions, labels, images...


def test_stated_limits_are_the_documents(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    batch = schemas["MutationBatch"]["properties"]["mutations"]["maxItems"]
    assert f"up to {batch} ]" in _page("user-data") and f"more than {batch} mutations" in _page("errors")
    key = next(
        p
        for p in document["paths"]["/api/user-data"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    )["schema"]
    assert f"<{key['minLength']}-{key['maxLength']} printable ASCII chars>" in _page("user-data")
    sign_up = schemas["SignUpRequest"]
    assert set(sign_up["required"]) == {"firstName", "lastName", "email", "company", "phone"}
    for field in sign_up["required"]:
        assert re.search(rf"^\| `{field}` \| string \| required", _page("auth"), re.MULTILINE), field
    name = sign_up["properties"]["firstName"]
    assert f"{name['minLength']}\u2013{name['maxLength']} characters" in _page("auth")


# -- detail codes -----------------------------------------------------------------------------------


def _detail_codes_in_the_layer() -> set[str]:
    """The literal detail codes the layer raises: Detail(path, CODE, ...), invalid(path, msg, CODE),
    violation(path, msg, CODE), and the defaults of the last two."""
    found = {"invalid", "invariant_violation"}
    for source in (ROOT / "layers" / "shared" / "ciq").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = {"Detail": 1, "invalid": 2, "violation": 2}.get(str(name))
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.add(argument.value)
    return found


def test_errors_md_lists_every_detail_code_of_the_layer() -> None:
    section = _page("errors").split("## Detail codes", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))
    assert _detail_codes_in_the_layer() == listed
