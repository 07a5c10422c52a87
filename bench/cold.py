"""Cold start proxy: import and init of each handler module in a fresh interpreter, side by side
with the reference stack (bench/reference_stack.py), median of N runs. Two variants: with .pyc
(after one warm-up run that writes them) and without (PYTHONDONTWRITEBYTECODE=1 and an empty
PYTHONPYCACHEPREFIX, so every module compiles from source, as from a zip that ships no .pyc)."""

from __future__ import annotations

import base64
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.environment import (
    LAYER_DIR,
    ROOT,
    Function,
    api_event,
    child_env,
    function_serving,
    functions,
    layer_dir,
)

PROBE = (Path(__file__).parent / "probe.py").read_text()
REFERENCE = "reference"


@dataclass
class Target:
    name: str
    module: str
    pythonpath: list[Path]
    cwd: Path
    samples: dict[str, list[float]] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)
    modules: int = 0
    error: str | None = None

    def median(self, variant: str) -> float | None:
        values = self.samples.get(variant)
        return statistics.median(values) if values else None


def targets() -> list[Target]:
    found = [Target(f.logical_id, f.module, [LAYER_DIR, f.code_dir], f.code_dir) for f in functions()]
    bench_dir = Path(__file__).parent
    found.append(Target(REFERENCE, "reference_stack", [bench_dir], bench_dir))
    return found


def _run(target: Target, mode: str, no_pyc: bool, extra: list[str] | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ciq-bench-pyc-") as empty:
        env = child_env(target.pythonpath)
        if no_pyc:
            env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=empty)
        done = subprocess.run(  # noqa: S603 - our own interpreter and probe
            [sys.executable, "-c", PROBE, mode, target.module, *(extra or [])],
            cwd=target.cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure_imports(runs: int, no_pyc_runs: int) -> list[Target]:
    """Every target in turn within each round, so drift on this machine hits all of them alike."""
    measured = targets()
    for variant, rounds, no_pyc in (("pyc", runs, False), ("no-pyc", no_pyc_runs, True)):
        for round_ in range(rounds + (0 if no_pyc else 1)):
            for target in measured:
                if target.error:
                    continue
                try:
                    result = _run(target, "import", no_pyc)
                except RuntimeError as error:
                    target.error = str(error)
                    continue
                if not no_pyc and round_ == 0:
                    target.loaded, target.modules = result["loaded"], result["modules"]
                    continue  # the warm-up that writes the .pyc files
                target.samples.setdefault(variant, []).append(result["import_ms"])
    return measured


def first_get_samples(
    query_items: list[dict[str, Any]], user_id: str, runs: int, root: Path = ROOT, *, warmup: bool = True
) -> list[dict[str, float]]:
    """The user-data function's whole cold path to its first GET, `runs` fresh interpreters (after
    one that writes the .pyc, unless `warmup` is False): import, boto3 client, one Query (answered at
    botocore's before-send with the typical account's items), the response. `root`: the tree whose
    layer and function run (the working tree, or a baseline's copy)."""
    function: Function = function_serving("/api/user-data", root)
    pythonpath = [layer_dir(root), function.code_dir]
    target = Target(function.logical_id, function.module, pythonpath, function.code_dir)
    answer = json.dumps({"Items": [_wire(i) for i in query_items], "Count": len(query_items)})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=tempfile.gettempdir()) as handle:
        json.dump({"event": api_event("user-data-get", user_id), "query_answer": answer}, handle)
        fixture = handle.name
    samples = []
    try:
        for round_ in range(runs + (1 if warmup else 0)):
            result = _run(target, "first-get", False, [fixture])
            if result.get("status") != 200:
                raise RuntimeError(f"first GET answered {result.get('status')}")
            if round_ or not warmup:
                samples.append({"import_ms": result["import_ms"], "first_get_ms": result["first_get_ms"]})
    finally:
        Path(fixture).unlink()
    return samples


def first_get_summary(samples: list[dict[str, float]]) -> dict[str, float]:
    """Medians of the import, the first GET and their sum per interpreter."""
    return {
        "import_ms": statistics.median(s["import_ms"] for s in samples),
        "first_get_ms": statistics.median(s["first_get_ms"] for s in samples),
        "total_ms": statistics.median(s["import_ms"] + s["first_get_ms"] for s in samples),
        "runs": len(samples),
    }


def _wire(value: Any) -> Any:
    """Low-level items as DynamoDB's JSON wire format has them (binary as base64)."""
    if isinstance(value, dict):
        return {k: (base64.b64encode(v).decode() if k == "B" else _wire(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))
