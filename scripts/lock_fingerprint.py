"""Print the SHA-256 of pyproject.toml's dependency declarations (requires-python,
dependencies, optional-dependencies): requirements.lock records it, bootstrap.sh compares it, so
a changed dependency list is noticed on any checkout (file times mean nothing after a clone)."""

import hashlib
import json
import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
declared = {k: project.get(k) for k in ("requires-python", "dependencies",
                                        "optional-dependencies")}
print(hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest())
