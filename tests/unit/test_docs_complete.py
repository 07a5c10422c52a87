"""The docs are complete enough to rebuild the runtime from (docs/README.md): every required page
exists and is in the index, and every route, environment variable, SSM parameter and error code the
code and the template have is documented. Each check is also run on a doctored input, to show it
can fail."""

from __future__ import annotations

import copy
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ENV_PAGE = DOCS / "ops" / "environment-and-secrets.md"

REQUIRED_PAGES = (
    "README.md",
    "api/auth.md",
    "api/user-data.md",
    "api/setup-status.md",
    "api/live-agents.md",
    "architecture/runtime-state.md",
    "architecture/provider-graph.md",
    "architecture/persistence-model.md",
    "ops/environment-and-secrets.md",
)
NOT_ROUTES = ("OPTIONS", "ANY")


# -- what the code and the template declare ---------------------------------------------------------


def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def functions(tpl: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in tpl["Resources"].values() if r.get("Type") == "AWS::Serverless::Function"]


def declared_routes(tpl: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every Api event but the preflights and the 405 catch-alls."""
    routes = set()
    for function in functions(tpl):
        for event in (function["Properties"].get("Events") or {}).values():
            if event.get("Type") == "Api":
                method = str(event["Properties"]["Method"]).upper()
                if method not in NOT_ROUTES:
                    routes.add((method, event["Properties"]["Path"]))
    return routes


def environment_variables(tpl: dict[str, Any]) -> set[str]:
    """Every variable Settings reads (its aliases) and every one the template sets."""
    from ciq.settings import Settings

    names = {field.alias for field in Settings.model_fields.values() if field.alias}
    sections = [tpl.get("Globals", {}).get("Function", {})] + [f["Properties"] for f in functions(tpl)]
    for section in sections:
        names |= set((section.get("Environment") or {}).get("Variables") or {})
    return names


def ssm_parameters(tpl: dict[str, Any]) -> set[str]:
    """Template parameters that name an SSM parameter."""
    return {name for name in tpl["Parameters"] if name.endswith(("ParameterName", "Param"))}


def error_codes(tpl: dict[str, Any]) -> set[str]:
    """The `code` of every AppError subclass in the layer, and the codes of API Gateway's answers."""
    import ciq
    from ciq.errors import AppError

    for module in pkgutil.walk_packages(ciq.__path__, "ciq."):
        importlib.import_module(module.name)
    codes, pending = set(), [AppError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    responses = tpl["Resources"]["Api"]["Properties"].get("GatewayResponses") or {}
    for response in responses.values():
        for body in (response.get("ResponseTemplates") or {}).values():
            codes |= set(re.findall(r'"code"\s*:\s*"([a-z_]+)"', body))
    return codes


def api_docs() -> str:
    return "\n".join(page.read_text() for page in sorted((DOCS / "api").glob("*.md")))


# -- the checks, as functions of their inputs (so that a doctored input shows they can fail) -------


def missing_pages(root: Path) -> list[str]:
    return [page for page in REQUIRED_PAGES if not (root / page).is_file()]


def unindexed_pages(root: Path) -> list[str]:
    index = (root / "README.md").read_text() if (root / "README.md").is_file() else ""
    linked = set(re.findall(r"\]\(([^)#\s]+\.md)", index))
    pages = {p.relative_to(root).as_posix() for p in root.rglob("*.md")} - {"README.md"}
    return sorted(pages - linked)


def undocumented_routes(routes: set[tuple[str, str]], docs: str) -> list[str]:
    """A route is documented when `METHOD /path` appears in an API page (the path not continued)."""
    return sorted(
        f"{method} {path}"
        for method, path in routes
        if not re.search(rf"\b{method}\s+{re.escape(path)}(?![\w/{{}}-])", docs)
    )


def undocumented_names(names: set[str], docs: str) -> list[str]:
    """Names (variables, parameters, error codes) that appear nowhere in `docs` as `name`."""
    return sorted(name for name in names if f"`{name}`" not in docs)


# -- the suite ------------------------------------------------------------------------------------


def test_every_required_page_exists() -> None:
    assert missing_pages(DOCS) == []


def test_every_page_is_in_the_index() -> None:
    assert unindexed_pages(DOCS) == []


def test_every_route_of_the_template_is_in_an_api_page() -> None:
    routes = declared_routes(template())
    assert len(routes) >= 10  # guards against a silent no-op
    assert undocumented_routes(routes, api_docs()) == []


def test_every_environment_variable_is_documented() -> None:
    names = environment_variables(template())
    assert {"TABLE_NAME", "AUTH_SECRET_PARAM", "POWERTOOLS_METRICS_NAMESPACE"} <= names
    assert undocumented_names(names, ENV_PAGE.read_text()) == []


def test_every_ssm_parameter_is_documented() -> None:
    names = ssm_parameters(template())
    assert "AuthSecretParameterName" in names
    assert undocumented_names(names, ENV_PAGE.read_text()) == []


def test_every_error_code_is_documented() -> None:
    codes = error_codes(template())
    assert {"validation_failed", "internal_error", "unauthorized"} <= codes
    assert undocumented_names(codes, api_docs()) == []


# -- each check can fail --------------------------------------------------------------------------


def test_a_missing_or_unindexed_page_is_caught(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "README.md").write_text("[auth](api/auth.md)\n")
    (tmp_path / "api" / "auth.md").write_text("# auth\n")
    (tmp_path / "api" / "extra.md").write_text("# not in the index\n")
    assert "api/user-data.md" in missing_pages(tmp_path)
    assert "api/auth.md" not in missing_pages(tmp_path)
    assert unindexed_pages(tmp_path) == ["api/extra.md"]


@pytest.mark.parametrize(
    ("docs", "missing"),
    [
        ("`GET /api/user-data` and `DELETE /api/live-agents/{agentId}`", []),
        ("`GET /api/user-data-export` and `DELETE /api/live-agents/{agentId}`", ["GET /api/user-data"]),
        ("`GET /api/user-data` and `DELETE /api/live-agents`", ["DELETE /api/live-agents/{agentId}"]),
        ("`POST /api/user-data`", ["DELETE /api/live-agents/{agentId}", "GET /api/user-data"]),
    ],
)
def test_an_undocumented_route_is_caught(docs: str, missing: list[str]) -> None:
    routes = {("GET", "/api/user-data"), ("DELETE", "/api/live-agents/{agentId}")}
    assert undocumented_routes(routes, docs) == missing


def test_an_undocumented_variable_parameter_or_code_is_caught() -> None:
    # Given the template with one more variable, SSM parameter and gateway error code
    tpl = copy.deepcopy(template())
    tpl["Globals"]["Function"]["Environment"]["Variables"]["NEW_KNOB"] = "1"
    tpl["Parameters"]["PartnerKeyParameterName"] = {"Type": "String"}
    tpl["Resources"]["Api"]["Properties"]["GatewayResponses"]["WAF_FILTERED"] = {
        "ResponseTemplates": {"application/json": '{"error":{"code":"blocked_by_waf"}}'}
    }
    env_page, docs, before = ENV_PAGE.read_text(), api_docs(), template()

    def added(names: Any, page: str) -> set[str]:
        return set(undocumented_names(names(tpl), page)) - set(undocumented_names(names(before), page))

    # Then exactly the additions are reported (whatever else is undocumented today)
    assert added(environment_variables, env_page) == {"NEW_KNOB"}
    assert added(ssm_parameters, env_page) == {"PartnerKeyParameterName"}
    assert added(error_codes, docs) == {"blocked_by_waf"}
