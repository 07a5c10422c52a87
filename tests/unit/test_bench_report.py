"""The bench's report (bench/report.py: before | after | ratio tables) and its baseline checkout
(bench/baseline.py). No timing is asserted: the figures here are made up."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from bench import baseline, report
from bench.side import chunks
from bench.warm import merged

if TYPE_CHECKING:
    from pathlib import Path


def _row(request: str, samples: list[float], status: int = 200, **extra: Any) -> dict[str, Any]:
    answer = {"status": status, "encoding": extra.pop("encoding", "gzip"), "body_bytes": 3_300_000}
    return {
        "request": request,
        "account": "large",
        "backend": "stub",
        "samples": samples,
        "statuses": {str(status): len(samples)},
        "answer": answer,
        "wanted": extra.pop("wanted", len(samples)),
        "error": None,
        **extra,
    }


def _usage(label: str, calls: list[str], rcu: float, wcu: int, status: int = 200) -> dict[str, Any]:
    return {
        "label": label,
        "account": "large",
        "calls": calls,
        "rcu": rcu,
        "wcu": wcu,
        "query_pages": calls.count("Query"),
        "written_items": 0,
        "written_bytes": 0,
        "status": status,
        "error": None,
    }


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip("|").split("|")]


def test_small_formatters() -> None:
    # Given / When / Then: runs of one call collapse, a ratio is after / before, sizes read well
    assert report.calls_text(["GetItem", "Query", "Query", "Query", "TransactWriteItems"]) == (
        "5: GetItem + Query x3 + TransactWriteItems"
    )
    assert report.calls_text([]) == "0: -"
    assert report.ratio(500.0, 25.0) == "0.05"
    assert report.ratio(0, 0) == "-"
    assert report.ratio(None, 3.0) == "-"
    assert report.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert report.percentile([], 50) is None
    assert report.byte_size(3_300_000) == "3.1 MB"
    assert report.n_text(_row("GET", [1.0] * 12, wanted=30)) == "12 of 30"


def test_latency_comparison_pairs_rows_and_judges_after() -> None:
    # Given a baseline whose minimal POST is slow and whose deflate GET answers plain, an after side
    # that is fast, and a row only the baseline has
    minimal = "POST knowledgeBase.update, Prefer: return=minimal"
    before = [
        _row(minimal, [1200.0, 1300.0, 1250.0], wanted=30),
        _row("GET, Accept-Encoding: deflate", [500.0], encoding="identity"),
        _row("an old row", [1.0]),
    ]
    after = [_row(minimal, [20.0] * 30), _row("GET, Accept-Encoding: deflate", [40.0], encoding="deflate")]

    # When the comparison table is rendered
    lines = report.compare_latency_table(before, after, budget_s=8)

    # Then each row shows before, after and their ratio; the target is judged on after
    rows = {(_cells(line)[0]): _cells(line) for line in lines if line.startswith("| ") and "---" not in line}
    post = rows[minimal]
    assert post[3:8] == ["3 of 30", "30", "1250.00", "20.00", "0.02"]
    assert post[-1] == "p50 ≤ 30 ms: met"
    deflate = rows["GET, Accept-Encoding: deflate"]
    assert deflate[10:12] == ["200 identity 3.1 MB", "200 deflate 3.1 MB"]
    assert rows["an old row"][4] == "-"


def test_usage_comparison_shows_calls_capacity_and_status() -> None:
    # Given a conditional GET answered 304 after one GetItem, and a minimal POST whose reads shrink
    conditional, minimal = (
        "GET, If-None-Match: current ETag",
        "POST knowledgeBase.update, Prefer: return=minimal",
    )
    before = [
        _usage(conditional, ["GetItem"], 1, 0, status=304),
        _usage(minimal, ["Query", "Query", "Query", "TransactWriteItems"], 575, 28),
    ]
    after = [
        _usage(conditional, ["GetItem"], 1, 0, status=304),
        _usage(minimal, ["GetItem", "BatchGetItem", "TransactWriteItems"], 12, 28),
    ]

    # When the comparison table is rendered
    lines = report.compare_usage_table(before, after)

    # Then calls, RCU and WCU are side by side with ratios, a status other than 200 is shown, and the
    # RCU target is judged on after
    rows = {_cells(line)[0]: _cells(line) for line in lines if line.startswith("| ") and "---" not in line}
    assert rows[conditional][2:5] == ["1: GetItem (304)", "1: GetItem (304)", "1"]
    assert rows[conditional][-1] == "RCU ≤ 1: met"
    assert rows[minimal][2:10] == [
        "4: Query x3 + TransactWriteItems",
        "3: GetItem + BatchGetItem + TransactWriteItems",
        "575",
        "12",
        "0.02",
        "28",
        "28",
        "1.00",
    ]
    assert rows[minimal][-1] == "RCU ≤ 15: met"


def test_a_failed_row_is_reported_not_raised() -> None:
    # Given a baseline row that could not be measured
    failed = {**_row("GET", []), "error": "KeyError: 'x'", "answer": None}

    # When / Then: the table says so and has no figures for it
    line = report.compare_latency_table([failed], [_row("GET", [1.0])], budget_s=8)[-1]
    assert "failed: KeyError: 'x'" in line
    assert _cells(line)[5] == "-"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, str]:
    """A repository with two commits; the first one's id."""
    repo = tmp_path / "repo"
    (repo / "layers" / "shared").mkdir(parents=True)
    (repo / "functions").mkdir()
    _git(repo, "init", "-q")
    for n in (1, 2):
        (repo / "layers" / "shared" / "ciq.py").write_text(f"VERSION = {n}\n")
        (repo / "functions" / "app.py").write_text("")
        (repo / "template.yaml").write_text(f"# {n}\n")
        (repo / "README.md").write_text("not part of a tree\n")
        _git(repo, "add", "-A")
        _git(repo, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", f"c{n}")
    first = subprocess.run(
        ["git", "rev-parse", "HEAD~1"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return repo, first


def test_baseline_is_materialised_from_history(history: tuple[Path, str], tmp_path: Path) -> None:
    # Given a repository and its first commit
    repo, first = history

    # When that commit is resolved by its short id and materialised
    tree = baseline.materialise(baseline.resolve(first[:7], repo), tmp_path / "before", repo)

    # Then the tree holds that commit's layer, functions and template, and nothing else
    assert (tree / "layers" / "shared" / "ciq.py").read_text() == "VERSION = 1\n"
    assert (tree / "template.yaml").exists()
    assert (tree / "functions" / "app.py").exists()
    assert not (tree / "README.md").exists()


def test_a_revision_missing_from_a_shallow_clone_is_a_clear_error(
    history: tuple[Path, str], tmp_path: Path
) -> None:
    # Given a shallow clone that lacks the first commit
    repo, first = history
    _git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", "shallow")

    # When the first commit is asked for
    with pytest.raises(baseline.BaselineUnavailable) as refused:
        baseline.resolve(first, tmp_path / "shallow")

    # Then the error says why and what to do instead
    message = str(refused.value)
    assert "shallow" in message
    assert "--no-baseline" in message


def test_a_row_measured_in_chunks_is_merged() -> None:
    # Given a row measured in two chunks (trees in turn), the second one cut short by its budget
    first = {
        "label": "GET",
        "samples": [1.0, 2.0],
        "statuses": {"200": 4},
        "answer": {"status": 200, "encoding": "gzip", "body_bytes": 10},
        "wanted": 15,
        "error": None,
    }
    second = {**first, "samples": [3.0], "statuses": {"200": 1, "500": 1}, "wanted": 15}

    # When they are merged
    row = merged([first, second])

    # Then the samples and statuses add up, and the wanted count says the budget ran out
    assert row["samples"] == [1.0, 2.0, 3.0]
    assert row["statuses"] == {"200": 5, "500": 1}
    assert report.n_text(row) == "3 of 30"


def test_iterations_are_split_into_rounds() -> None:
    # Given / When / Then: every iteration is measured once, no round is empty
    assert chunks(31) == [16, 15]
    assert chunks(300) == [25] * 12
    assert chunks(1) == [1]


def test_an_answer_over_lambdas_response_limit_is_flagged() -> None:
    # Given a 14 MB plain answer and a 2.3 MB compressed one
    plain = _row("GET, Accept-Encoding: deflate", [400.0], encoding="identity")
    plain["answer"].update(body_bytes=15_000_000, payload_bytes=15_000_500)
    gzip = _row("GET", [700.0])
    gzip["answer"].update(body_bytes=2_400_000, payload_bytes=3_200_000)

    # When / Then: only the one Lambda could not return is flagged
    assert report.answer_text(plain) == "200 identity 14.3 MB (**over Lambda's 6 MB response**)"
    assert report.answer_text(gzip) == "200 gzip 2.3 MB"
