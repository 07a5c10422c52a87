"""One tree's warm measurements in a process of its own, driven step by step, so that two trees
(a baseline's copy and the working tree) are measured in turn, row by row, and drift on this shared
machine hits both alike (as bench.cold does for imports). Two `ciq` packages cannot share one
interpreter, hence a process per tree.

`python -m bench.side --tree DIR` is the worker: it reads one JSON command per line on stdin and
answers one JSON line on its original stdout (anything else printed to stdout, such as the
handler's metric lines, goes to /dev/null). `Worker` starts and drives one from `python -m bench`.

Each worker builds its own accounts with its own code (what is stored may differ between trees),
then measures what it is asked: timed scenarios of bench.warm on the stub or on moto, the cold
path to the first GET, the DynamoDB calls and capacity of the counted scenarios, and the
whole-account blob."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from bench import accounts, cold, warm
from bench.environment import (
    ROOT,
    TABLE_NAME,
    USER_DATA_PATH,
    child_env,
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

    def shapes(self) -> tuple[accounts.Shape, accounts.Shape]:
        return accounts.TYPICAL, accounts.Shape("large", 4, 3) if self.quick else accounts.LARGE

    def rows(self, backend: str) -> list[tuple[str, int, int]]:
        """(account, iterations, warm-ups) of each account on `backend` ("stub" or "moto")."""
        typical, large = self.shapes()
        if backend == "stub":
            return [
                (typical.name, self.iterations, self.warmups),
                (large.name, self.large_iterations, self.large_warmups),
            ]
        return [
            (typical.name, self.moto_iterations, min(self.warmups, 1)),
            (large.name, self.moto_large_iterations, min(self.large_warmups, 1)),
        ]


# A row is measured in chunks of at most CHUNK requests, at least two chunks, the trees in turn
# (bench.__main__._drive): many short turns keep a burst of load on the machine from landing on
# one tree only.
CHUNK = 25


def chunks(n: int) -> list[int]:
    """`n` iterations as even chunks (at least two, at most CHUNK each), the empty ones left out."""
    rounds = max(2, math.ceil(n / CHUNK))
    sizes = [n // rounds + (1 if r < n % rounds else 0) for r in range(rounds)]
    return [size for size in sizes if size]


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _failure(error: BaseException) -> str:
    _log("".join(traceback.format_exception(error)).rstrip())
    return f"{type(error).__name__}: {error}"[:200]


class Measurer:
    """The worker's state: the tree's handler, its accounts, and the backend in use."""

    def __init__(self, tree: Path, plan: Plan) -> None:
        self.tree, self.plan = tree, plan
        self.handler = load_handler(function_serving(USER_DATA_PATH, tree))
        self.shapes = {shape.name: shape for shape in plan.shapes()}
        self.stub = StubDynamoDB()
        self.items: dict[Any, Any] = {}
        self.backend = contextlib.ExitStack()
        self.read_table: Any = None

    def build(self) -> dict[str, Any]:
        _log(f"{self.tree}: building accounts {', '.join(map(str, self.shapes.values()))}")
        for shape in self.shapes.values():
            accounts.build(shape, self.handler, self.stub)
        self.items = dict(self.stub.items)
        self.backend.enter_context(installed(self.stub))
        return {}

    def timed(
        self,
        *,
        scenario: str,
        account: str,
        iterations: int,
        warmups: int,
        budget_s: float,
        at_least: int,
        offset: int,
    ) -> dict[str, Any]:
        """One chunk of a timed row; `offset` numbers its POSTs' new names after earlier chunks'."""
        chosen = next(s for s in warm.TIMED if s.label == scenario)
        try:
            events = chosen.events(self.shapes[account], self.handler)
            latency = warm.timed(
                chosen.label,
                self.handler,
                lambda n: events(n + offset),
                iterations,
                warmups,
                budget_s=budget_s,
                at_least=at_least,
            )
        except Exception as error:
            latency = warm.Latency(chosen.label, [], wanted=iterations, error=_failure(error))
        return asdict(latency)

    def first_get(self, runs: int, warmup: bool) -> dict[str, Any]:
        typical = self.shapes[accounts.TYPICAL.name]
        query_items = [
            i
            for (pk, sk), i in sorted(self.items.items())
            if pk == f"USER#{typical.user_id}" and sk.startswith("D#")
        ]
        try:
            return {
                "samples": cold.first_get_samples(
                    query_items, typical.user_id, runs, self.tree, warmup=warmup
                )
            }
        except RuntimeError as error:
            return {"error": str(error)}

    def moto(self) -> dict[str, Any]:
        """From here on the handler talks to moto, holding the same items as the stub did."""
        import boto3
        import moto

        from ciq.store.clients import reset_clients
        from local.template import create_tables, load_template

        self.backend.close()
        self.backend = contextlib.ExitStack()
        self.backend.enter_context(moto.mock_aws())
        self.backend.callback(reset_clients)
        raw = boto3.client("dynamodb")
        create_tables(raw, load_template(self.tree / "template.yaml"), {"DataTable": TABLE_NAME})
        for item in self.items.values():
            raw.put_item(TableName=TABLE_NAME, Item=item)
        reset_clients()
        self.read_table = warm.partition_reader(raw)
        return {}

    def usages(self) -> dict[str, Any]:
        """One request of every counted scenario per account (the n-th POST renames the KB to a
        name of its own)."""
        found = []
        for shape in self.shapes.values():
            for n, scenario in enumerate(warm.COUNTED):
                try:
                    events = scenario.events(shape, self.handler)
                    measured = warm.usage(scenario.label, self.handler, events(10_001 + n), self.read_table)
                except Exception as error:
                    measured = warm.Usage(scenario.label, error=_failure(error))
                found.append({"account": shape.name, **asdict(measured)})
        return {"usages": found}

    def blob(self) -> dict[str, Any]:
        try:
            return asdict(warm.whole_account_blob(self.shapes["large"].user_id))
        except Exception as error:
            return {"error": _failure(error)}


def serve(measurer: Measurer, commands: IO[str], answers: IO[str]) -> None:
    for line in commands:
        command = json.loads(line)
        operation = command.pop("op")
        if operation == "exit":
            break
        answer = getattr(measurer, operation)(**command)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    measurer.backend.close()


class Worker:
    """The parent's handle on one worker process (see the module's docstring)."""

    def __init__(self, tree: Path, plan: Plan) -> None:
        self.tree = tree
        command = [
            sys.executable,
            "-m",
            "bench.side",
            "--tree",
            str(tree),
            "--plan",
            json.dumps(asdict(plan)),
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own module
            command, cwd=ROOT, env=child_env([ROOT]), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, operation: str, **arguments: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": operation, **arguments}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise SystemExit(f"python -m bench: measuring {self.tree} failed (exit {code}); see above")
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"op": "exit"}) + "\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.side", description=__doc__)
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="a tree with layers/, functions/, template.yaml"
    )
    parser.add_argument("--plan", default="{}", help="bench.side.Plan fields as JSON")
    args = parser.parse_args(argv)
    plan = Plan(**json.loads(args.plan))
    # This process becomes the function's sandbox before anything imports `ciq`: the tree's layer
    # comes first on the path, whichever `ciq` the environment would otherwise find.
    use_function_env(layer_dir(args.tree))
    # Answers go to the original stdout; everything else written to stdout (the handler's metric
    # lines, as on Lambda) to /dev/null.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), sys.stdout.fileno())
        serve(Measurer(args.tree.resolve(), plan), sys.stdin, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
