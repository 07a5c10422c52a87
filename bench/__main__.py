"""`python -m bench` (`make bench`): measures everything side by side in one run on this machine and
writes the generated part of docs/performance.md. `--quick` is a smoke run (one iteration, a small
"large" account, nothing written unless --output is given)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from bench import accounts, cold, report, warm
from bench.environment import ROOT, TABLE_NAME, function_serving, load_handler, use_function_env
from bench.stub import StubDynamoDB, installed

DEFAULT_OUTPUT = ROOT / "docs" / "performance.md"


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per module, with .pyc")
    parser.add_argument("--no-pyc-runs", type=int, default=3, help="fresh interpreters per module, no .pyc")
    parser.add_argument("--iterations", type=int, default=300, help="warm requests, typical account (stub)")
    parser.add_argument("--only", choices=["cold", "warm"], help="one half only (for quick comparisons)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 of everything, small accounts")
    parser.add_argument("--output", type=Path, help=f"default {DEFAULT_OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.no_pyc_runs, args.iterations = 1, 1, 1
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)
    command = "python -m bench" + ("".join(f" {shlex.quote(a)}" for a in argv) if argv else "")
    if argv is None and len(sys.argv) > 1:
        command += " " + shlex.join(sys.argv[1:])

    sections: list[list[str]] = [["## Results", "", *report.machine(command)]]
    if args.only != "warm":
        _log(f"cold imports: {args.runs} runs with .pyc, {args.no_pyc_runs} without, per module")
        targets = cold.measure_imports(args.runs, args.no_pyc_runs)
        sections.append(
            ["### Cold start: import and init", "", *report.cold_table(targets, args.runs, args.no_pyc_runs)]
        )
        for t in targets:
            _log(f"  {t.name}: {t.median('pyc')} ms, no-pyc {t.median('no-pyc')} ms {t.error or ''}")
    if args.only != "cold":
        # The handler's metric (EMF) lines go to stdout, as on Lambda: not into this report.
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            sections.extend(_warm(args.iterations, args.runs, quick=args.quick))
    if output is not None:
        report.write(output, sections)
        _log(f"wrote {output}")
    else:
        print("\n\n".join("\n".join(s) for s in sections))
    return 0


def _warm(iterations: int, runs: int, *, quick: bool) -> list[list[str]]:
    use_function_env()
    handler = load_handler(function_serving("/api/user-data"))
    typical = accounts.TYPICAL
    large = accounts.Shape("large", 4, 3) if quick else accounts.LARGE
    stub = StubDynamoDB()
    _log(f"building accounts: {typical} and {large}")
    for shape in (typical, large):
        accounts.build(shape, handler, stub)
    items = dict(stub.items)
    large_iterations = max(1, iterations // 10)
    moto_iterations = max(1, iterations // 10)
    moto_large_iterations = max(1, iterations // 30)
    warmups = 0 if quick else 5

    rows: list[tuple[str, str, str, Any]] = []
    with installed(stub):
        for shape, n in ((typical, iterations), (large, large_iterations)):
            _log(f"stub: GET and POST, {shape.name}, {n} each")
            rows.append(
                (
                    "GET",
                    shape.name,
                    "stub",
                    warm.timed("GET", handler, warm.gets(shape), n, warmups),
                )
            )
            rows.append(
                (
                    "POST knowledgeBase.update",
                    shape.name,
                    "stub",
                    warm.timed("POST", handler, warm.posts(shape, True), n, warmups),
                )
            )

    first_get = cold.measure_first_get(
        [
            i
            for (pk, sk), i in sorted(items.items())
            if pk == f"USER#{typical.user_id}" and sk.startswith("D#")
        ],
        typical.user_id,
        max(1, runs // 2),
    )

    usages, blob, edit = _moto(
        handler, items, rows, typical, large, moto_iterations, moto_large_iterations, warmups
    )
    return [
        ["### Cold start: first request", "", *report.first_get_table(first_get)],
        ["### Warm latency", "", *report.latency_table(rows)],
        ["### DynamoDB calls and capacity", "", *report.usage_table(usages)],
        ["### One edit against a whole-account blob", "", *report.blob_table(edit, blob)],
    ]


def _moto(  # noqa: PLR0917 - one call site
    handler: Any,
    items: dict[Any, Any],
    rows: list[tuple[str, str, str, Any]],
    typical: accounts.Shape,
    large: accounts.Shape,
    iterations: int,
    large_iterations: int,
    warmups: int,
) -> tuple[list[warm.Usage], warm.Blob, warm.Usage]:
    import boto3
    import moto

    from ciq.store.clients import reset_clients
    from local.template import create_tables, load_template

    with moto.mock_aws():
        raw = boto3.client("dynamodb")
        create_tables(raw, load_template(), {"DataTable": TABLE_NAME})
        for item in items.values():
            raw.put_item(TableName=TABLE_NAME, Item=item)
        reset_clients()
        read_table = warm.partition_reader(raw)
        for shape, n in ((typical, iterations), (large, large_iterations)):
            _log(f"moto: GET and POST, {shape.name}, {n} each")
            rows.append(
                (
                    "GET",
                    shape.name,
                    "moto",
                    warm.timed("GET", handler, warm.gets(shape), n, warmups),
                )
            )
            rows.append(
                (
                    "POST knowledgeBase.update",
                    shape.name,
                    "moto",
                    warm.timed("POST", handler, warm.posts(shape, True), n, min(warmups, 1)),
                )
            )
        _log("moto: calls and capacity")
        usages = []
        for shape in (typical, large):
            usages.append(warm.usage(f"GET, {shape.name}", handler, warm.get_event(shape), read_table))
            usages.append(
                warm.usage(
                    f"POST knowledgeBase.update, {shape.name}",
                    handler,
                    warm.post_event(shape, 10_001, False),
                    read_table,
                )
            )
            usages.append(
                warm.usage(
                    f"POST knowledgeBase.update + Idempotency-Key, {shape.name}",
                    handler,
                    warm.post_event(shape, 10_002, True),
                    read_table,
                )
            )
        edit = usages[4]
        blob = warm.whole_account_blob(large.user_id)
        reset_clients()
    return usages, blob, edit


if __name__ == "__main__":
    sys.exit(main())
