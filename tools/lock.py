"""requirements.lock: every transitive Python dependency of Tenantry, pinned and hashed.

`make lock` runs this script with uv to regenerate the lock from pyproject.toml (network to PyPI);
tests/unit/test_lock.py imports it to check that the lock was made from the current pyproject.toml.
The fingerprint is defined here only, so the two can never disagree on it.

    python tools/lock.py --uv PATH [uv pip compile options, e.g. --upgrade]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
FINGERPRINT_PREFIX = "# pyproject-sha256: "
# Locked beside the project's requirements and its build backend (build-system.requires, which
# `pip install --no-build-isolation -e .` needs): pip, so every venv ends up with the same pip.
INSTALLER = ["pip"]


def lock_inputs(pyproject: dict) -> dict:
    """Everything the lock is resolved from; lists sorted, so reordering them needs no relock."""
    project = pyproject["project"]
    return {
        "requires-python": project["requires-python"],
        "dependencies": sorted(project["dependencies"]),
        "optional-dependencies": {name: sorted(reqs) for name, reqs in project["optional-dependencies"].items()},
        "build-system": sorted(pyproject["build-system"]["requires"]),
        "installer": sorted(INSTALLER),
    }


def fingerprint(pyproject: dict) -> str:
    canonical = json.dumps(lock_inputs(pyproject), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def recorded_fingerprint(lock_text: str) -> str | None:
    for line in lock_text.splitlines():
        if line.startswith(FINGERPRINT_PREFIX):
            return line.removeprefix(FINGERPRINT_PREFIX).strip()
    return None


def relock(uv: str, uv_options: list[str]) -> None:
    pyproject = tomllib.loads(PYPROJECT.read_text())
    requires_python = pyproject["project"]["requires-python"]
    if not requires_python.startswith(">="):
        sys.exit(f"requires-python {requires_python!r}: expected '>=X.Y', the oldest Python the lock must serve")
    # The build backend and pip are not project dependencies, so they come in on stdin.
    extra_requirements = "\n".join(pyproject["build-system"]["requires"] + INSTALLER) + "\n"
    # --universal: one lock for every Python from requires-python up, and every platform.
    # --output-file on the existing lock: uv keeps its pins where still allowed, so a relock only
    # moves what pyproject.toml changed (add --upgrade to move everything).
    subprocess.run(
        [uv, "pip", "compile", PYPROJECT.name, "-", "--all-extras", "--universal",
         "--python-version", requires_python.removeprefix(">="), "--generate-hashes",
         "--custom-compile-command", "make lock", "--output-file", LOCK.name, "--quiet", *uv_options],
        cwd=ROOT, input=extra_requirements, text=True, check=True,
    )
    lines = [line for line in LOCK.read_text().splitlines(keepends=True) if not line.startswith(FINGERPRINT_PREFIX)]
    LOCK.write_text(f"{FINGERPRINT_PREFIX}{fingerprint(pyproject)}\n" + "".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate requirements.lock from pyproject.toml.")
    parser.add_argument("--uv", default="uv", help="the uv executable")
    args, uv_options = parser.parse_known_args(argv)
    relock(args.uv, uv_options)


if __name__ == "__main__":
    main()
