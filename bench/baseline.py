"""The "before" of a before/after run: another commit's layer and functions, materialised from this
clone's git history into a temporary directory (`git archive <rev> layers functions template.yaml`),
so the same measurements run against it and against the working tree, each in a subprocess of its
own (two `ciq` packages cannot share one interpreter)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from typing import TYPE_CHECKING

from bench.environment import ROOT

if TYPE_CHECKING:
    from pathlib import Path

# main before issue 13's write-path round (scoped writes, spliced large GETs): what `make bench`
# compares the working tree with unless BASELINE= (or --baseline) names another revision.
DEFAULT_BASELINE = "b24fd0a"
# What a tree needs for the bench to run its user-data function: the layer, the functions, and the
# template that names the functions' code (the table's definition comes from it too).
TREE_PATHS = ("layers", "functions", "template.yaml")


class BaselineUnavailable(RuntimeError):
    """The baseline revision cannot be materialised (unknown here, or git is missing)."""


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=False)  # noqa: S603, S607
    except FileNotFoundError as error:
        raise BaselineUnavailable("git is not installed; run with --no-baseline") from error


def resolve(rev: str, repo: Path = ROOT) -> str:
    """The full commit id of `rev`, or a clear error (a shallow CI clone lacks older commits)."""
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode != 0:
        shallow = _git(repo, "rev-parse", "--is-shallow-repository").stdout.decode().strip() == "true"
        hint = (
            "this clone is shallow: `git fetch --unshallow` (or a deeper fetch) first, "
            if shallow
            else "fetch it first, "
        )
        raise BaselineUnavailable(
            f"the baseline revision {rev!r} is not a commit in this clone; {hint}"
            "name another with --baseline <rev> (make bench BASELINE=<rev>), "
            "or measure the working tree alone with --no-baseline (make bench BASELINE=none)"
        )
    return found.stdout.decode().strip()


def materialise(commit: str, destination: Path, repo: Path = ROOT) -> Path:
    """The commit's layer, functions and template under `destination` (made if missing)."""
    archive = _git(repo, "archive", "--format=tar", commit, *TREE_PATHS)
    if archive.returncode != 0:
        raise BaselineUnavailable(f"git archive {commit} failed: {archive.stderr.decode().strip()}")
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return destination


def describe(commit: str, repo: Path = ROOT) -> str:
    """`<short id> <subject>` of a commit, for the report."""
    shown = _git(repo, "show", "-s", "--format=%h %s", commit)
    return shown.stdout.decode().strip() or commit[:7]
