#!/usr/bin/env python3
"""Compares a checkov JSON report of template.yaml with the accepted findings of
checkov-baseline.yaml: exit 1 on any failed check not accepted there (or a report checkov could not
make), 0 otherwise. Accepted findings that no longer occur are printed, to be removed from the
baseline, but do not fail (another change may have fixed them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

Finding = tuple[str, str]  # (check id, logical id)


def accepted(baseline: dict[str, Any]) -> dict[Finding, str]:
    found: dict[Finding, str] = {}
    for entry in baseline["accepted"]:
        why = " ".join(str(entry.get("why", "")).split())
        if not why:
            raise ValueError(f"{entry['check']}: every accepted finding says why")
        for resource in entry["resources"]:
            found[(entry["check"], resource)] = why
    return found


def failed(report: Any) -> set[Finding]:
    reports = report if isinstance(report, list) else [report]
    findings = set()
    for one in reports:
        if one.get("summary", {}).get("parsing_errors"):
            raise ValueError(f"checkov could not parse the template: {one['summary']}")
        for check in one.get("results", {}).get("failed_checks", []):
            findings.add((check["check_id"], check["resource"].rsplit(".", 1)[-1]))
    return findings


def gate(report: Any, baseline: dict[str, Any]) -> tuple[list[Finding], list[Finding]]:
    """(new findings, accepted findings that no longer occur)."""
    allowed, found = accepted(baseline), failed(report)
    return sorted(found - set(allowed)), sorted(set(allowed) - found)


def main(report_path: str, baseline_path: str) -> int:
    report = json.loads(Path(report_path).read_text() or "null")
    if report is None:
        print("checkov produced no report", file=sys.stderr)
        return 1
    new, gone = gate(report, yaml.safe_load(Path(baseline_path).read_text()))
    for check, resource in gone:
        print(f"note: {check} on {resource} no longer fails: remove it from {baseline_path}")
    for check, resource in new:
        print(f"NEW FINDING: {check} on {resource}: fix it, or accept it in {baseline_path} with why")
    if new:
        return 1
    print(f"checkov: no finding outside {baseline_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
