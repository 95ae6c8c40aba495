"""The package's layers import downwards only (docs/contracts.md; README, code layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import patrolcast

PACKAGE = Path(patrolcast.__file__).resolve().parent

# For each layer, the layers it must never import (directly or inside functions).
_ADAPTERS = {"app", "cli", "api", "web"}
FORBIDDEN: dict[str, set[str]] = {
    "io": {"forecast", "evaluate", "governance", "oversight", *_ADAPTERS},
    "taxonomy": {"forecast", "evaluate", "governance", "oversight", *_ADAPTERS},
    "geo": {"forecast", "evaluate", "governance", "oversight", *_ADAPTERS},
    "forecast": {"evaluate", "governance", "oversight", *_ADAPTERS},
    "evaluate": {"governance", "oversight", *_ADAPTERS},
    "governance": {"forecast", "evaluate", "oversight", *_ADAPTERS},
    "oversight": {*_ADAPTERS},
    # Use cases compose the layers below; the adapters (CLI, API, web pages) sit on top of them.
    "app": {"cli", "api", "web"},
    "api": {"cli"},
    "web": {"cli"},
    # A neutral check every layer may call: it imports only patrolcast.errors.
    "privacy": {"forecast", "evaluate", "governance", "oversight", "cli", "app", "api", "web",
                "io", "geo", "taxonomy"},
}


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n.split(".")[1] for n in names if n.startswith("patrolcast.") and n.count(".") >= 1}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down(layer: str) -> None:
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        bad = imported_layers(path) & FORBIDDEN[layer]
        if bad:
            offenders.append(f"{path.relative_to(PACKAGE)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_the_check_sees_imports() -> None:
    # The detector itself must find an upward import when there is one.
    sample = PACKAGE / "cli" / "main.py"
    assert "errors" in imported_layers(sample)
