"""checkov-baseline.yaml and its gate (scripts/checkov_gate.py): every accepted finding names real
resources and says why, and a finding outside the baseline fails. CI runs checkov itself
(`make checkov`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
BASELINE = yaml.safe_load((ROOT / "checkov-baseline.yaml").read_text())


def _load_gate() -> Any:
    spec = importlib.util.spec_from_file_location("checkov_gate", ROOT / "scripts/checkov_gate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["checkov_gate"] = module
    spec.loader.exec_module(module)
    return module


gate = _load_gate()


def report(*findings: tuple[str, str], parsing_errors: int = 0) -> dict[str, Any]:
    failed = [{"check_id": check, "resource": f"AWS::Some::Type.{resource}"} for check, resource in findings]
    return {"summary": {"parsing_errors": parsing_errors}, "results": {"failed_checks": failed}}


def test_every_accepted_finding_names_template_resources_and_says_why() -> None:
    resources = load_template()["Resources"]
    for entry in BASELINE["accepted"]:
        assert entry["check"].startswith("CKV_"), entry
        assert len(" ".join(entry["why"].split())) > 60, f"{entry['check']}: say why it is accepted"
        for resource in entry["resources"]:
            assert resource in resources, f"{entry['check']}: {resource} is not in template.yaml"


def test_a_finding_outside_the_baseline_fails_and_a_fixed_one_is_only_noted() -> None:
    # Given the baseline, and a report with one accepted and one new finding
    new, gone = gate.gate(report(("CKV_AWS_73", "Api"), ("CKV_AWS_999", "DataTable")), BASELINE)
    # Then the new one is reported, and accepted ones that did not occur are listed as gone
    assert new == [("CKV_AWS_999", "DataTable")]
    assert ("CKV_AWS_73", "Api") not in gone and ("CKV_AWS_120", "Api") in gone


def test_an_accepted_check_on_another_resource_is_new() -> None:
    new, _ = gate.gate(report(("CKV_AWS_119", "SomeOtherTable")), BASELINE)
    assert new == [("CKV_AWS_119", "SomeOtherTable")]


def test_a_report_with_parsing_errors_or_an_entry_without_why_is_refused() -> None:
    with pytest.raises(ValueError, match="could not parse"):
        gate.gate(report(parsing_errors=1), BASELINE)
    with pytest.raises(ValueError, match="says why"):
        gate.gate(report(), {"accepted": [{"check": "CKV_X", "resources": ["Api"], "why": " "}]})
