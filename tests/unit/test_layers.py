"""The import rules of the house (DESIGN.md), held by import-linter's contracts in pyproject.toml.

`make lint` runs the same contracts; this test keeps them in `make test` too, so a change that
breaks a layer or makes a cycle fails the suite rather than a review.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_every_contract_is_kept(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "0 broken" in report


@pytest.mark.parametrize(
    "rule",
    [
        "imports no web framework",
        "imports no workers",
        "never imports training",
        "imports nothing from moderation",
        "No import cycles in the product",
    ],
)
def test_the_design_rules_are_contracts(rule: str) -> None:
    """Every rule DESIGN.md names is one of the contracts (none quietly dropped)."""
    names = [c["name"] for c in CONTRACTS["contracts"]]
    assert any(rule in name for name in names), names


def test_the_domain_contract_names_the_frameworks() -> None:
    domain = next(c for c in CONTRACTS["contracts"] if c["source_modules"] == ["civil"])
    assert {"flask", "celery", "kombu", "service", "workers", "cli"} <= set(
        domain["forbidden_modules"]
    )
