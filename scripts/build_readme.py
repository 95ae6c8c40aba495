"""Assemble README.md from docs/readme/NN-topic.md sections (run after editing a section)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """# patrolcast

```bash
bash scripts/quickstart.sh  # set up .venv; ingest, forecast, backtest, report on ../shared/data
bash scripts/test.sh        # set up .venv, start a throwaway PostgreSQL, run the tests
```

patrolcast helps a police force decide, accountably, whether to send a short targeted patrol
into a small area because serious violence there is likely or imminent. It builds an honest
intelligence picture from real crime records, records graded place-and-time intelligence,
enforces the authorisation process (community impact assessment, borough consultation,
separation of duties, hard expiry) in a tamper-evident audit log, and reports to oversight
bodies and the public. It is place-based only: it never holds lists of people.

Requirements: Python 3.11+ and a C compiler are enough for the first command (it creates
`.venv` and installs everything from PyPI); the test command also starts a throwaway
PostgreSQL server (Debian's `postgresql` package, installed by the script when run as root).
Real data is read from `../shared/data` (override with `PATROLCAST_SHARED_DATA`).
"""


def main() -> None:
    sections = sorted((ROOT / "docs" / "readme").glob("[0-9][0-9]-*.md"))
    parts = [HEADER.rstrip() + "\n"]
    parts.extend(p.read_text(encoding="utf-8").rstrip() + "\n" for p in sections)
    (ROOT / "README.md").write_text("\n".join(parts), encoding="utf-8")
    print(f"README.md assembled from {len(sections)} sections")


if __name__ == "__main__":
    main()
