"""Mutation scores of the safety-critical modules, in the slow set.

Each module's seeded sample of mutants (``scripts/mutation.sh`` with ``PATROLCAST_MUT_SAMPLE``)
must reach the issue's target: 90% killed on governance/, oversight/ and privacy/, 80% on the
rest. Accepted equivalents (``docs/mutation/<module>.txt``) are left out by the script. Slow:
a module takes 2-15 minutes on two cores (the script's generation and first test run dominate).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "mutation.sh"
TARGETS = {
    "oversight": 90,
    "governance-guards": 90,
    "governance-roles": 90,
    "governance-audit": 90,
    "governance-lifecycle": 90,
    "governance-values": 90,
    "privacy": 90,
    "metrics": 80,
    "kernels": 80,
    "near-repeat": 80,
    "etas": 80,
    "ingest": 80,
}
SAMPLE = 25


def test_every_module_of_the_script_has_a_target() -> None:
    listed = subprocess.run(
        ["bash", str(SCRIPT), "--list"], capture_output=True, text=True, check=True
    ).stdout
    modules = {line.split(":", 1)[0] for line in listed.splitlines() if line.strip()}
    assert modules == set(TARGETS)


# known gaps, named so that the slow set says so rather than failing without a word; strict, so
# a module that reaches its target fails here until its mark is removed
OPEN: dict[str, str] = {}


@pytest.mark.slow
@pytest.mark.timeout(3400)
@pytest.mark.parametrize(
    "module",
    [
        pytest.param(m, marks=pytest.mark.xfail(reason=OPEN[m], strict=True)) if m in OPEN else m
        for m in sorted(TARGETS)
    ],
)
def test_sampled_mutation_score_meets_the_target(module: str, tmp_path: Path) -> None:
    if shutil.which("timeout") is None or not (REPO / ".venv" / "bin" / "mutmut").exists():
        pytest.skip("mutmut is not installed in .venv (pip install -e '.[dev]')")
    env = dict(
        os.environ,
        PATROLCAST_MUT_DIR=str(tmp_path),
        PATROLCAST_MUT_SAMPLE=str(SAMPLE),
        PATROLCAST_MUT_SEED="7",
        PATROLCAST_MUT_TIMEOUT="3000",
    )
    out = subprocess.run(
        ["bash", str(SCRIPT), module], env=env, capture_output=True, text=True, timeout=3300
    )
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr
    match = re.match(rf"{re.escape(module)}: (\d+)% .*sample of (\d+) of", line)
    assert match, line
    assert int(match.group(2)) == SAMPLE, line
    assert " 0 not checked" in line, line
    assert int(match.group(1)) >= TARGETS[module], line
