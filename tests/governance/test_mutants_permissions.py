"""The permission oracle checked rule by rule, on a stratified slice of the matrix (issue 15).

``test_permissions.py`` runs all 3,564 combinations (about 30 s); mutation testing of the
guards (``scripts/mutation.sh governance-rules``) runs the tests that reach a mutated guard once
per mutant, so it selects this slice instead. The slice is chosen from the oracle, not from the
implementation: for every action, each role it refuses and each state it is not taken from
(with every other rule met), each separation-of-duties and borough-scope case that breaks that
rule alone, and every allowed (action, role, state, own, scope) combination's first
representative per (action, role, scope). Every refusal must be audited as ``denied`` and leave
the proposal's version unchanged; every allowed combination must succeed (``done``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patrolcast.governance.roles import Role
from patrolcast.governance.states import Action, State
from tests.governance.test_permissions import (
    Matrix,
    broken_rules,
    build,
    combos,
    expected_allowed,
    run_matrix,
)


def stratified() -> list[tuple[Role, str, State, Action, bool]]:
    """One combination per (action, broken rule, role or state) key, plus one allowed
    combination per (action, role, scope)."""
    chosen: dict[tuple[object, ...], tuple[Role, str, State, Action, bool]] = {}
    for c in combos():
        role, scope, state, action, _own = c
        broken = broken_rules(*c)
        if not broken:
            key: tuple[object, ...] = ("allowed", action, role, scope)
        elif len(broken) != 1:
            continue
        elif broken == {"role"}:
            key = ("role", action, role)
        elif broken == {"source-state"}:
            key = ("state", action, state)
        else:
            key = (next(iter(broken)), action, role)
        chosen.setdefault(key, c)
    return list(chosen.values())


def test_the_slice_covers_every_rule_for_every_action() -> None:
    """Each rule the oracle knows is broken alone for each action it applies to, and each
    action has an allowed combination for each role that may take it."""
    chosen = stratified()
    pairs = {(c[3], r) for c in chosen for r in broken_rules(*c)}
    every = {(c[3], r) for c in combos() for r in broken_rules(*c) if len(broken_rules(*c)) == 1}
    assert pairs == every
    allowed = {(c[3], c[0]) for c in chosen if expected_allowed(c[0], c[2], c[3], c[4], c[1])}
    assert allowed == {
        (c[3], c[0]) for c in combos() if expected_allowed(c[0], c[2], c[3], c[4], c[1])
    }
    assert len(chosen) < len(combos()) // 8


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    return build(tmp_path_factory.mktemp("slice"))


def test_each_rule_refuses_and_audits_on_its_own(matrix: Matrix, tmp_path: Path) -> None:
    chosen = stratified()
    counts = run_matrix(matrix, chosen, tmp_path)
    allowed = sum(expected_allowed(c[0], c[2], c[3], c[4], c[1]) for c in chosen)
    assert counts == {
        "combinations": len(chosen),
        "allowed": allowed,
        "denied": len(chosen) - allowed,
    }
    assert allowed > 0 and counts["denied"] > allowed
