"""Attacks on the audit record by a database owner, and how many each verifier detects.

Run: ``PYTHONPATH=. .venv/bin/python bench/audit_tamper.py [--cases 1000] [--proposals 8]``

A populated SQLite database is built through the services by a server holding the signing key
(``tests/governance/helpers.make_world`` and ``walk_to``: 12 people, a snapshot, proposals
driven to debriefed, refused, cancelled, active and submitted, with reads, denials and an
export). The attacker has owner rights: the append-only triggers are dropped first. For each
case one random attack (see :mod:`tests.governance.audit_attacks`) is applied in a transaction,
four verifiers run on the same connection, and the transaction is rolled back:

- **signed + outside**: the server's public key and the newest signed checkpoint kept outside
  the database (the last line of the checkpoint log); the full check (target: everything).
- **signed, database only**: the public key and what the database holds.
- **unkeyed chain**: the hash chain and head row alone (the verifier before this change; the
  baseline of this benchmark).
- **replay alone**: the tables against the row digests and transitions in the log, no chain.

Prints the counts per kind and the detection ratio of the full check against the baseline.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.governance.audit_attacks import KINDS, build, run_cases  # noqa: E402

COLUMNS = (
    ("detected", "signed + outside"),
    ("detected_without_outside_checkpoint", "signed, db only"),
    ("detected_by_unkeyed_chain", "unkeyed chain"),
    ("detected_by_replay", "replay alone"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="attacks of each kind")
    parser.add_argument("--proposals", type=int, default=8, help="proposals in the database")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, default=None, help="also write the counts here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        t0 = time.perf_counter()
        built = build(Path(tmp), proposals=args.proposals)
        print(
            f"database: {built.entries} audit entries, built in {time.perf_counter() - t0:.1f} s"
            f" ({platform.python_version()}, {platform.machine()})"
        )
        results: dict[str, dict[str, int]] = {}
        header = f"{'attack':<9} {'cases':>6} " + " ".join(f"{label:>18}" for _, label in COLUMNS)
        print(header)
        for k, kind in enumerate(KINDS):
            t = time.perf_counter()
            tally = run_cases(built, kind, args.cases, seed=args.seed + k)
            results[kind] = dict(tally)
            cells = " ".join(f"{tally[key]:>18,}" for key, _ in COLUMNS)
            print(f"{kind:<9} {tally['cases']:>6,} {cells}   ({time.perf_counter() - t:.0f} s)")
            missed = {v: n for v, n in tally.items() if v.startswith("missed:")}
            if missed:
                print(f"          missed by the full check: {missed}")
    total = {key: sum(r.get(key, 0) for r in results.values()) for key, _ in COLUMNS}
    cases = sum(r["cases"] for r in results.values())
    print(
        f"{'all':<9} {cases:>6,} " + " ".join(f"{total[key]:>18,}" for key, _ in COLUMNS)
    )
    base = total["detected_by_unkeyed_chain"]
    print(
        f"full check detects {total['detected'] / cases:.1%} of attacks; the unkeyed chain "
        f"{base / cases:.1%} (ratio {total['detected'] / max(base, 1):.2f}x)"
    )
    if args.json is not None:
        args.json.write_text(json.dumps({"entries": built.entries, "results": results}, indent=1))


if __name__ == "__main__":
    main()
