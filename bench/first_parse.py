"""The first parse of a mutation in a fresh sandbox: each run is a new interpreter that imports the
contracts (as a function's init does), then times one `parse_mutations` of a knowledgeBase.update,
which builds the validators it needs (`defer_build`). Prints the median and the spread.

    .venv/bin/python -m bench.first_parse [runs] [layer dir]

The layer dir defaults to this checkout's layers/shared; pass another (an older copy of the layer)
to compare."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parent.parent / "layers" / "shared"
CHILD = """
import time
from ciq.contracts.mutations import parse_mutations
payload = {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-1", "name": "Prices"}
start = time.perf_counter()
parse_mutations(payload, 25)
print((time.perf_counter() - start) * 1000)
"""


def first_parse_ms(layer: Path) -> float:
    done = subprocess.run(  # noqa: S603 - our own interpreter and snippet
        [sys.executable, "-c", CHILD], cwd=layer, capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    layer = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else LAYER
    first_parse_ms(layer)  # writes the .pyc, as a shipped layer has them
    samples = sorted(first_parse_ms(layer) for _ in range(runs))
    print(
        f"first parse of a knowledgeBase.update ({layer}): median {statistics.median(samples):.1f} ms, "
        f"min {samples[0]:.1f}, max {samples[-1]:.1f} ({runs} fresh interpreters)"
    )


if __name__ == "__main__":
    main()
