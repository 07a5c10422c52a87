"""`python -m bench` (`make bench`): measures everything in one run on this machine and writes the
generated part of docs/performance.md. By default the warm latency and capacity figures are
measured twice, side by side: for a baseline commit's layer and functions (`--baseline <rev>`,
default bench.baseline.DEFAULT_BASELINE) and for the working tree, each in a process of its own;
the tables show before | after | ratio. `--no-baseline` measures the working tree alone. `--quick`
is a smoke run (one iteration, a small "large" account, nothing written unless --output is given)."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import baseline, cold, report, warm
from bench.environment import ROOT
from bench.side import Plan, Worker, chunks

DEFAULT_OUTPUT = ROOT / "docs" / "performance.md"


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per module, with .pyc")
    parser.add_argument("--no-pyc-runs", type=int, default=3, help="fresh interpreters per module, no .pyc")
    parser.add_argument("--iterations", type=int, default=300, help="warm requests, typical account (stub)")
    parser.add_argument("--only", choices=["cold", "warm"], help="one half only (for quick comparisons)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 of everything, small accounts")
    parser.add_argument("--output", type=Path, help=f"default {DEFAULT_OUTPUT.relative_to(ROOT)}")
    parser.add_argument(
        "--baseline",
        default=baseline.DEFAULT_BASELINE,
        metavar="REV",
        help=f"the commit measured as 'before' (default {baseline.DEFAULT_BASELINE})",
    )
    parser.add_argument("--no-baseline", action="store_true", help="measure the working tree alone")
    parser.add_argument(
        "--budget", type=float, default=8.0, help="seconds of measured requests per timed row at most"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.no_pyc_runs, args.iterations = 1, 1, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)
    command = "python -m bench" + ("".join(f" {shlex.quote(a)}" for a in argv) if argv else "")
    if argv is None and len(sys.argv) > 1:
        command += " " + shlex.join(sys.argv[1:])
    compare = not args.no_baseline and args.only != "cold"
    try:
        commit = baseline.resolve(args.baseline) if compare else None
    except baseline.BaselineUnavailable as error:
        print(f"python -m bench: {error}", file=sys.stderr)
        return 2

    head = ["## Results", "", *report.machine(command)]
    if commit is not None:
        head.append(f"- Before: `{baseline.describe(commit)}`; after: the working tree")
    sections: list[list[str]] = [head]
    if args.only != "warm":
        sections.append(_cold(args.runs, args.no_pyc_runs))
    if args.only != "cold":
        sections.extend(_warm(args, commit))
    if output is not None:
        report.write(output, sections)
        _log(f"wrote {output}")
    else:
        print("\n\n".join("\n".join(s) for s in sections))
    return 0


def _cold(runs: int, no_pyc_runs: int) -> list[str]:
    _log(f"cold imports: {runs} runs with .pyc, {no_pyc_runs} without, per module")
    targets = cold.measure_imports(runs, no_pyc_runs)
    for t in targets:
        _log(f"  {t.name}: {t.median('pyc')} ms, no-pyc {t.median('no-pyc')} ms {t.error or ''}")
    title = "### Cold start: import and init (the working tree)"
    return [title, "", *report.cold_table(targets, runs, no_pyc_runs)]


def _plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan.quick_plan()
    n = args.iterations
    return Plan(
        n,
        max(1, n // 10),
        max(1, n // 10),
        max(1, n // 30),
        budget_s=args.budget,
        first_get_runs=max(1, args.runs // 2),
    )


def _warm(args: argparse.Namespace, commit: str | None) -> list[list[str]]:
    plan = _plan(args)
    with tempfile.TemporaryDirectory(prefix="ciq-bench-") as scratch:
        trees = {}
        if commit is not None:
            trees["before"] = baseline.materialise(commit, Path(scratch) / "baseline")
            _log(f"before: {commit[:10]} materialised in {trees['before']}")
        trees["after"] = ROOT
        workers = {side: Worker(tree, plan) for side, tree in trees.items()}
        try:
            results = _drive(workers, plan)
        finally:
            for worker in workers.values():
                worker.close()
    return _warm_sections(results["after"], results.get("before"), plan)


def _drive(workers: dict[str, Worker], plan: Plan) -> dict[str, dict[str, Any]]:
    """Every measurement of every tree, in turn: each row is measured in chunks (bench.side.chunks),
    the trees alternating (before, after, then after, before, ...), so drift on this shared machine
    hits both alike; only one tree works at a time (the other waits for its next command)."""
    sides = list(workers)
    results: dict[str, dict[str, Any]] = {side: {"rows": []} for side in sides}
    for side in sides:
        workers[side].ask("build")
    for backend in ("stub", "moto"):
        if backend == "moto":
            for side in sides:
                workers[side].ask("moto")
        for account, n, warmups in plan.rows(backend):
            _log(f"{backend}: {len(warm.TIMED)} requests, {account}, up to {n} each, trees in turn")
            for scenario in warm.TIMED:
                parts: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
                sizes = chunks(n)
                for round_, size in enumerate(sizes):
                    for side in sides if round_ % 2 == 0 else sides[::-1]:
                        chunk = workers[side].ask(
                            "timed",
                            scenario=scenario.label,
                            account=account,
                            iterations=size,
                            warmups=warmups if round_ == 0 else 0,
                            budget_s=plan.budget_s / len(sizes),
                            at_least=2 if len(sizes) == 2 else 1,  # a row has 4 samples or more
                            offset=round_ * 100_000,
                        )
                        parts[side].append(chunk)
                for side in sides:
                    row = {"request": scenario.label, "account": account, "backend": backend}
                    results[side]["rows"].append({**row, **warm.merged(parts[side])})
        if backend == "stub":
            _first_gets(workers, plan, results)
    _log("moto: calls and capacity")
    for side in sides:
        results[side]["usages"] = workers[side].ask("usages")["usages"]
        results[side]["blob"] = workers[side].ask("blob")
    return results


def _first_gets(workers: dict[str, Worker], plan: Plan, results: dict[str, dict[str, Any]]) -> None:
    _log(f"cold path to the first GET: {plan.first_get_runs} fresh interpreters per tree, in turn")
    sides = list(workers)
    samples: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    errors: dict[str, str] = {}
    for round_ in range(plan.first_get_runs):
        for side in sides if round_ % 2 == 0 else sides[::-1]:
            if side in errors:
                continue
            answer = workers[side].ask("first_get", runs=1, warmup=round_ == 0)
            if "error" in answer:
                errors[side] = answer["error"]
            else:
                samples[side].extend(answer["samples"])
    for side in sides:
        found = samples[side]
        results[side]["first_get"] = (
            {"error": errors.get(side, "no run")}
            if side in errors or not found
            else cold.first_get_summary(found)
        )


def _warm_sections(after: dict[str, Any], before: dict[str, Any] | None, plan: Plan) -> list[list[str]]:
    label = warm.EDIT_LABEL
    if before is None:
        return [
            ["### Cold start: first request", "", *report.first_get_table(after["first_get"])],
            ["### Warm latency", "", *report.latency_table(after["rows"], plan.budget_s)],
            ["### DynamoDB calls and capacity", "", *report.usage_table(after["usages"])],
            ["### One edit against a whole-account blob", "", *report.blob_table(after, label)],
        ]
    return [
        [
            "### Cold start: first request, before and after",
            "",
            *report.first_get_table(after["first_get"], before["first_get"]),
        ],
        [
            "### Warm latency, before and after",
            "",
            *report.compare_latency_table(before["rows"], after["rows"], plan.budget_s),
        ],
        [
            "### DynamoDB calls and capacity, before and after",
            "",
            *report.compare_usage_table(before["usages"], after["usages"]),
        ],
        ["### One edit against a whole-account blob", "", *report.blob_table(after, label, before)],
    ]


if __name__ == "__main__":
    sys.exit(main())
