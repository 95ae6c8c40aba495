"""Assemble README.md from docs/readme/NN-topic.md sections (run after editing a section)."""

from __future__ import annotations

import re
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

Requirements: Python 3.11+, a C compiler and Node.js with npm are enough for the first
command (it creates `.venv`, installs the pinned, hash-checked `requirements.lock` from PyPI,
and the dashboard's map library from npm into `node_modules`); the test command also starts a
throwaway PostgreSQL server, drives Debian's `chromium` for the browser tests and opens GIS
outputs with GDAL's `ogrinfo` (Debian packages, installed by the scripts when run as root).
Real data is read from `../shared/data` (override with `PATROLCAST_SHARED_DATA`); without it,
the first command says so and fetches a small real sample (City of London, 12 months) from
data.police.uk before running. Nothing else is downloaded at run time. Results and the data
home are printed by every command (default `~/.local/share/patrolcast`; see
[The command line](#the-command-line-one-set-of-conventions)).

"""


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def contents(texts: list[str]) -> str:
    links = []
    for text in texts:
        for line in text.splitlines():
            if line.startswith("## "):
                title = line[3:].strip()
                short = title.split(":")[0]
                links.append(f"[{short}](#{anchor(title)})")
    return "Contents: " + " ·\n".join(links) + "\n"


def main() -> None:
    sections = sorted((ROOT / "docs" / "readme").glob("[0-9][0-9]-*.md"))
    texts = [p.read_text(encoding="utf-8") for p in sections]
    parts = [HEADER.rstrip() + "\n", contents(texts)]
    parts.extend(text.rstrip() + "\n" for text in texts)
    (ROOT / "README.md").write_text("\n".join(parts), encoding="utf-8")
    print(f"README.md assembled from {len(sections)} sections")


if __name__ == "__main__":
    main()
