"""`python -m bench.side --tree DIR --output FILE`: the warm measurements of one tree's code (its
`layers/shared` and `functions/`), run in a process of its own and written as JSON. `python -m
bench` starts one per tree (the working tree, and in a before/after run the baseline's copy too)
and renders the tables from their JSON; two `ciq` packages cannot share one interpreter.

Each tree builds its own accounts with its own code (the persistence may differ between trees),
then: the timed scenarios of bench.warm on the stub and on moto, the cold path to the first GET,
the DynamoDB calls and capacity of the counted scenarios, and the whole-account blob."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import accounts, cold, warm
from bench.environment import (
    ROOT,
    TABLE_NAME,
    USER_DATA_PATH,
    function_serving,
    layer_dir,
    load_handler,
    use_function_env,
)
from bench.stub import StubDynamoDB, installed


@dataclass(frozen=True)
class Plan:
    """How much to measure. A row stops after `budget_s` seconds of measured requests (and at
    least 3 of them), so a slow tree's large rows have fewer samples than asked for."""

    iterations: int = 300  # typical account, stub
    large_iterations: int = 30
    moto_iterations: int = 30
    moto_large_iterations: int = 10
    warmups: int = 5
    large_warmups: int = 2
    budget_s: float = 8.0
    first_get_runs: int = 4
    quick: bool = False

    @classmethod
    def quick_plan(cls) -> Plan:
        return cls(1, 1, 1, 1, 0, 0, 60.0, 1, quick=True)


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def measure(tree: Path, plan: Plan) -> dict[str, Any]:
    """Everything warm about `tree`, as JSON-ready values. Call in a fresh process (see main)."""
    handler = load_handler(function_serving(USER_DATA_PATH, tree))
    typical = accounts.TYPICAL
    large = accounts.Shape("large", 4, 3) if plan.quick else accounts.LARGE
    stub = StubDynamoDB()
    _log(f"{tree}: building accounts: {typical} and {large}")
    for shape in (typical, large):
        accounts.build(shape, handler, stub)
    items = dict(stub.items)

    rows: list[dict[str, Any]] = []
    sizes = ((typical, plan.iterations, plan.warmups), (large, plan.large_iterations, plan.large_warmups))
    with installed(stub):
        for shape, n, warmups in sizes:
            _log(f"stub: {len(warm.TIMED)} requests, {shape.name}, up to {n} each")
            rows.extend(_row(s, shape, "stub", handler, n, warmups, plan) for s in warm.TIMED)

    first_get: dict[str, Any]
    try:
        typical_items = [i for (pk, sk), i in sorted(items.items()) if pk == f"USER#{typical.user_id}"]
        query_items = [i for i in typical_items if i["sk"]["S"].startswith("D#")]
        first_get = cold.measure_first_get(query_items, typical.user_id, plan.first_get_runs, tree)
    except RuntimeError as error:
        first_get = {"error": str(error)}

    return {
        "tree": str(tree),
        "rows": rows,
        "first_get": first_get,
        **_moto(tree, handler, items, rows, (typical, large), plan),
    }


def _row(  # noqa: PLR0917 - one timed row
    scenario: warm.Scenario,
    shape: accounts.Shape,
    backend: str,
    handler: warm.Handler,
    iterations: int,
    warmups: int,
    plan: Plan,
) -> dict[str, Any]:
    try:
        events = scenario.events(shape, handler)
        latency = warm.timed(
            scenario.label, handler, events, iterations, warmups, budget_s=plan.budget_s, at_least=3
        )
    except Exception as error:
        latency = warm.Latency(scenario.label, [], wanted=iterations, error=_failure(error))
    return {"request": scenario.label, "account": shape.name, "backend": backend, **asdict(latency)}


def _failure(error: BaseException) -> str:
    _log("".join(traceback.format_exception(error)).rstrip())
    return f"{type(error).__name__}: {error}"[:200]


def _moto(  # noqa: PLR0917 - one call site
    tree: Path,
    handler: warm.Handler,
    items: dict[Any, Any],
    rows: list[dict[str, Any]],
    shapes: tuple[accounts.Shape, accounts.Shape],
    plan: Plan,
) -> dict[str, Any]:
    import boto3
    import moto

    from ciq.store.clients import reset_clients
    from local.template import create_tables, load_template

    typical, large = shapes
    with moto.mock_aws():
        raw = boto3.client("dynamodb")
        create_tables(raw, load_template(tree / "template.yaml"), {"DataTable": TABLE_NAME})
        for item in items.values():
            raw.put_item(TableName=TABLE_NAME, Item=item)
        reset_clients()
        read_table = warm.partition_reader(raw)
        sizes = (
            (typical, plan.moto_iterations, min(plan.warmups, 1)),
            (large, plan.moto_large_iterations, min(plan.large_warmups, 1)),
        )
        for shape, n, warmups in sizes:
            _log(f"moto: {len(warm.TIMED)} requests, {shape.name}, up to {n} each")
            rows.extend(_row(s, shape, "moto", handler, n, warmups, plan) for s in warm.TIMED)
        _log("moto: calls and capacity")
        usages = [
            {"account": shape.name, **asdict(_usage(scenario, shape, 10_001 + n, handler, read_table))}
            for shape in shapes
            for n, scenario in enumerate(warm.COUNTED)
        ]
        blob: dict[str, Any]
        try:
            blob = asdict(warm.whole_account_blob(large.user_id))
        except Exception as error:
            blob = {"error": _failure(error)}
        reset_clients()
    return {"usages": usages, "blob": blob}


def _usage(
    scenario: warm.Scenario, shape: accounts.Shape, n: int, handler: warm.Handler, read_table: Any
) -> warm.Usage:
    """One request of `scenario` (the n-th: a POST renames the KB to a name of its own)."""
    try:
        return warm.usage(scenario.label, handler, scenario.events(shape, handler)(n), read_table)
    except Exception as error:
        return warm.Usage(scenario.label, error=_failure(error))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.side", description=__doc__)
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="a tree with layers/, functions/, template.yaml"
    )
    parser.add_argument("--output", type=Path, required=True, help="where the JSON goes")
    parser.add_argument("--plan", default="{}", help="bench.side.Plan fields as JSON")
    args = parser.parse_args(argv)
    plan = Plan(**json.loads(args.plan))
    # This process becomes the function's sandbox before anything imports `ciq`: the tree's layer
    # comes first on the path, whichever `ciq` the environment would otherwise find.
    use_function_env(layer_dir(args.tree))
    # The handler's metric (EMF) lines go to stdout, as on Lambda: not into the JSON.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        result = measure(args.tree.resolve(), plan)
    args.output.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
