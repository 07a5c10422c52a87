"""The layers' import rules (docs/architecture/write-flow.md "Ports"), read from the source with
`ast` so that an import inside a function or under TYPE_CHECKING counts too:

- no module under ciq/services imports ciq.store (services reach storage through ciq.ports, and the
  handlers pass the adapters in), nor boto3/botocore, nor ciq.web (services return domain values);
- the consistency sequence of a change (touched -> sort -> derive -> invariants) runs in
  ciq/domain/aggregate.py: `derive` is imported only there, by hydration (a load) and by the delta
  read (a read that stores nothing)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "shared"
CIQ = LAYER / "ciq"
SERVICES = sorted((CIQ / "services").glob("*.py"))
FORBIDDEN_IN_SERVICES = ("ciq.store", "boto3", "botocore", "ciq.web")
DERIVE_IMPORTERS = {"ciq/domain/aggregate.py", "ciq/domain/hydrate.py", "ciq/services/user_data.py"}


def imported_names(path: Path) -> set[str]:
    """Every module (and `module.name`) the file imports, wherever the import statement is."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_a_service_imports_no_store_module(path: Path) -> None:
    # Given a module of ciq/services; When its imports are read
    found = sorted(n for n in imported_names(path) for f in FORBIDDEN_IN_SERVICES if within(n, f))
    # Then none is of the store, AWS's SDK or the HTTP layer
    assert found == [], f"{path.relative_to(LAYER)} imports {found}"


def test_the_checker_sees_every_form_of_import(tmp_path: Path) -> None:
    # Given a module that imports the store in each way Python allows
    module = tmp_path / "service.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from ciq import store\n"
        "if TYPE_CHECKING:\n    from ciq.store.socket_api import Delivery\n"
        "def later():\n    import ciq.store.dynamo\n"
    )
    # Then each is found
    names = {n for n in imported_names(module) if within(n, "ciq.store")}
    assert names == {"ciq.store", "ciq.store.socket_api", "ciq.store.socket_api.Delivery", "ciq.store.dynamo"}


def test_derive_runs_only_in_the_aggregate_hydration_and_the_delta_read() -> None:
    # Given every module of the layer; When their imports are read
    importers = {
        str(path.relative_to(LAYER))
        for path in CIQ.rglob("*.py")
        if "ciq.domain.derive.derive" in imported_names(path)
    }
    # Then only the aggregate (a change), hydration (a load) and the delta read import `derive`
    assert importers == DERIVE_IMPORTERS
