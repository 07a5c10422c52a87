"""`make bench-local`: does the local run stay flat as accounts accumulate? Starts `python -m local`
(a fresh temporary state folder per store), then after 0, 200 and 500 accounts measures the p50 of a
typical POST and GET on one account and of 10 sign-up + verify pairs, and the RSS of the whole run
(the Python process and its DynamoDB Local JVM). Also a kept-alive connection against fresh ones, and
the largest requests the docs call valid. Each new account signs up, verifies, reads its data and
makes two writes, as a frontend end-to-end suite does.

Writes the table between the `local-scaling` markers of docs/performance.md and prints it.
`python -m bench.local_scaling --stores disk --counts 0,50` for a quick look."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PERFORMANCE_PAGE = ROOT / "docs" / "performance.md"
MARKERS = ("<!-- local-scaling:start -->", "<!-- local-scaling:end -->")
SAMPLES = 40
READY = re.compile(r"http://localhost:(\d+)")


@dataclass
class Row:
    store: str
    accounts: int
    post_ms: float
    get_ms: float
    sign_up_ms: float
    rss_mb: float
    failed: int  # requests answered 5xx (or not at all) since the previous row


def _start(store: str, state: Path) -> tuple[subprocess.Popen[str], str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "PYENV_ROOT")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(PORT="0", LOCAL_STORE=store, LOCAL_STATE_DIR=str(state), PYTHONUNBUFFERED="1",
               LOCAL_OUTBOX_PATH=str(state / "outbox.jsonl"))  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    for line in process.stdout:
        found = READY.search(line) if line.startswith("Local API ready") else None
        if found:
            # keep draining stdout so the server never blocks on a full pipe
            threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True).start()
            return process, f"http://127.0.0.1:{found.group(1)}"
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit(f"the local run ({store}) did not start")


def _rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total_kb, pending = 0, [pid]
    while pending:
        current = pending.pop()
        pending += children.get(current, [])
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total_kb += int(found.group(1)) if found else 0
    return total_kb / 1024


def _new_account(client: httpx.Client) -> tuple[str, float]:
    """Signs up and verifies (timed), then reads the data and makes two writes."""
    started = time.perf_counter()
    token = _signed_up(client)
    elapsed = (time.perf_counter() - started) * 1000
    headers = {"Authorization": f"Bearer {token}"}
    client.get("/api/user-data", headers=headers).raise_for_status()
    client.post("/api/user-data", headers=headers, json={"type": "workspace.create", "name": "Spring"})
    client.post("/api/user-data", headers=headers,
                json={"type": "workspace.update", "workspaceId": "ws-1", "name": "Renamed"})  # fmt: skip
    return token, elapsed


def _signed_up(client: httpx.Client) -> str:
    profile = {"firstName": "Bench", "lastName": "User", "email": f"bench-{uuid.uuid4().hex}@example.com",
               "company": "Bench", "phone": "+14155550123"}  # fmt: skip
    challenge = client.post("/api/auth/sign-up", json=profile).json()["challengeId"]
    answer = client.post("/api/auth/verify", json={"challengeId": challenge, "code": "123456"})
    answer.raise_for_status()  # the callers count a failure
    return str(answer.json()["token"])


def _p50(call: object, samples: int = SAMPLES) -> float:
    """The median of the calls that succeeded (failures are counted by the caller's probe)."""
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        if call():  # type: ignore[operator]
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings) if timings else float("nan")


@dataclass
class Probe:
    """The measured account and the run it lives in."""

    store: str
    client: httpx.Client
    token: str
    pid: int
    failed: int = 0

    def ok(self, response: httpx.Response) -> bool:
        if response.status_code >= 500:
            self.failed += 1
        return response.status_code < 500


def _measure(probe: Probe, accounts: int) -> Row:
    client, token = probe.client, probe.token
    headers = {"Authorization": f"Bearer {token}"}
    names = iter(range(10**6))

    def post() -> bool:
        body = {"type": "workspace.update", "workspaceId": "ws-1", "name": f"Name {next(names)}"}
        return probe.ok(client.post("/api/user-data", headers=headers, json=body))

    def get() -> bool:
        return probe.ok(client.get("/api/user-data", headers=headers))

    def sign_up() -> bool:
        try:
            return bool(_signed_up(client))
        except (httpx.HTTPError, KeyError):
            probe.failed += 1
            return False

    post_ms, get_ms, sign_up_ms = _p50(post), _p50(get), _p50(sign_up, samples=10)
    rss_mb = _rss_mb(probe.pid)
    row = Row(probe.store, accounts, post_ms, get_ms, sign_up_ms, rss_mb, probe.failed)
    probe.failed = 0
    return row


IMPORT_TARGET_BYTES = 4_400_000  # the largest import that fits API Gateway's base64 event (user-data.md)


def largest_import(target_bytes: int = IMPORT_TARGET_BYTES) -> dict[str, object]:
    """A valid import of about `target_bytes`: 98 workspaces (100 items with the root and the
    idempotency record, the transaction limit), each with KBs whose drafts are full."""
    import random

    if str(ROOT / "layers" / "shared") not in sys.path:  # the contract models build the drafts
        sys.path.insert(0, str(ROOT / "layers" / "shared"))
    from bench.accounts import full_draft

    rng = random.Random(7)  # noqa: S311 - reproducible filler text
    draft = full_draft(rng).model_dump(mode="json", by_alias=True)
    draft_bytes = len(json.dumps(draft))
    kbs_per_workspace = max(1, target_bytes // (98 * (draft_bytes + 200)))
    workspaces, kbs = [], []
    for w in range(98):
        workspaces.append({"id": f"ws-big-{w}", "name": f"Workspace {w}"})
        kbs += [{"id": f"kb-big-{w}-{k}", "workspaceId": f"ws-big-{w}", "name": f"KB {k}", "draft": draft}
                for k in range(kbs_per_workspace)]  # fmt: skip
    return {"data": {"schemaVersion": 2, "workspaces": workspaces, "knowledgeBases": kbs}}


def largest_requests(client: httpx.Client) -> list[str]:
    """The largest requests the docs call valid, on a new account: their status and time."""
    token = _signed_up(client)  # untouched: an import is allowed
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps(largest_import()).encode()
    started = time.perf_counter()
    imported = client.put("/api/user-data", headers=headers, content=body)
    import_ms = (time.perf_counter() - started) * 1000
    batch = {"mutations": [{"type": "workspace.create", "name": f"Batch {i}"} for i in range(25)]}
    started = time.perf_counter()
    batched = client.post("/api/user-data", headers=headers, json=batch)
    batch_ms = (time.perf_counter() - started) * 1000
    return [
        f"PUT import of {len(body) / 1e6:.1f} MB (98 workspaces) answered {imported.status_code} "
        f"in {import_ms:.0f} ms",
        f"POST batch of 25 workspace.create answered {batched.status_code} in {batch_ms:.0f} ms",
    ]


def keep_alive_figures(base: str, token: str) -> tuple[float, float]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, trust_env=False) as kept:
        kept_ms = _p50(lambda: kept.get("/api/setup-status", headers=headers).status_code == 200)

    def fresh() -> bool:
        with httpx.Client(base_url=base, trust_env=False) as client:
            return client.get("/api/setup-status", headers=headers).status_code == 200

    return kept_ms, _p50(fresh)


@dataclass
class StoreResult:
    rows: list[Row]
    keep_alive: tuple[float, float]
    largest: list[str]


def run_store(store: str, counts: list[int]) -> StoreResult:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ciq-bench-local-") as folder:
        process, base = _start(store, Path(folder))
        try:
            with httpx.Client(base_url=base, trust_env=False, timeout=120) as client:
                token, _ = _new_account(client)
                probe = Probe(store, client, token, process.pid)
                _measure(probe, 0)  # warms the JVM's JIT and the handlers; not reported
                keep_alive = keep_alive_figures(base, token)
                made = 1
                for target in counts:
                    while made < target:
                        made += 1
                        try:
                            _new_account(client)
                        except (httpx.HTTPError, KeyError):  # a 5xx or a timeout: counted, not fatal
                            probe.failed += 1
                    rows.append(_measure(probe, target))
                    print(_line(rows[-1]), flush=True)
                largest = largest_requests(client)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return StoreResult(rows, keep_alive, largest)


def _line(row: Row) -> str:
    return (f"| {row.store} | {row.accounts} | {row.post_ms:.0f} | {row.get_ms:.0f} | {row.sign_up_ms:.0f} "
            f"| {row.rss_mb:.0f} | {row.failed} |")  # fmt: skip


def table(results: dict[str, StoreResult]) -> str:
    header = "| store | accounts | POST p50 ms | GET p50 ms | sign-up+verify p50 ms | RSS MB | 5xx |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for result in results.values():
        lines += [_line(row) for row in result.rows]
    lines.append("")
    for store, result in results.items():
        (first, last), (kept, fresh) = (result.rows[0], result.rows[-1]), result.keep_alive
        lines.append(
            f"- `{store}`: POST x{last.post_ms / first.post_ms:.2f}, GET x{last.get_ms / first.get_ms:.2f}, "
            f"sign-up x{last.sign_up_ms / first.sign_up_ms:.2f} from {first.accounts} to {last.accounts} "
            f"accounts; GET /api/setup-status p50 on a kept-alive connection {kept:.1f} ms, on fresh "
            f"connections {fresh:.1f} ms."
        )
        lines += [f"  - {line}" for line in result.largest]
    return "\n".join(lines)


def write_page(text: str) -> None:
    page = PERFORMANCE_PAGE.read_text()
    start, end = MARKERS
    if start not in page:
        raise SystemExit(f"{PERFORMANCE_PAGE} has no {start} marker")
    head, rest = page.split(start, 1)
    _, tail = rest.split(end, 1)
    PERFORMANCE_PAGE.write_text(f"{head}{start}\n{text}\n{end}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.local_scaling")
    parser.add_argument("--stores", default="disk,memory")
    parser.add_argument("--counts", default="0,200,500")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md")
    arguments = parser.parse_args()
    counts = [int(count) for count in arguments.counts.split(",")]
    results = {store: run_store(store, counts) for store in arguments.stores.split(",")}
    text = table(results)
    print(text)
    if not arguments.no_write:
        write_page(text)


if __name__ == "__main__":
    main()
