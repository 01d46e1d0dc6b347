"""requirements.lock is made from the current pyproject.toml: a dependency changed without a relock fails here."""

from __future__ import annotations

import copy
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
RELOCK = "run make lock"

# tools/ is a folder of scripts, not a package: load the one definition of the fingerprint by path.
_spec = importlib.util.spec_from_file_location("lock_tool", ROOT / "tools" / "lock.py")
lock_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock_tool)

# A requirement line of the lock: `name==version`, then markers and/or the hash continuation.
LOCKED_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def lock_text() -> str:
    return lock_tool.LOCK.read_text()


def locked_versions(lock_text: str) -> dict[str, set[str]]:
    # A universal lock may pin one name at two versions, each under its own Python marker.
    versions: dict[str, set[str]] = {}
    for line in lock_text.splitlines():
        if match := LOCKED_PIN.match(line):
            versions.setdefault(canonicalize_name(match[1]), set()).add(match[2])
    return versions


def test_the_lock_records_the_fingerprint_of_the_current_pyproject(pyproject, lock_text):
    # GIVEN pyproject.toml and the lock `make lock` wrote
    # WHEN the fingerprint of pyproject's dependency lists is computed anew
    # THEN it equals the one the lock recorded
    recorded = lock_tool.recorded_fingerprint(lock_text)
    assert recorded is not None, f"{lock_tool.LOCK.name} has no fingerprint line: {RELOCK}"
    assert recorded == lock_tool.fingerprint(pyproject), \
        f"pyproject.toml's dependencies changed since {lock_tool.LOCK.name} was written: {RELOCK}"


def test_every_pin_of_pyproject_is_locked_at_the_same_version(pyproject, lock_text):
    # GIVEN every pinned requirement of `dependencies` and of each extra (dev, bench)
    project = pyproject["project"]
    wanted = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    assert {"dev", "bench"} <= project["optional-dependencies"].keys()
    # WHEN the lock's pins are read
    locked = locked_versions(lock_text)
    # THEN each is locked at exactly that version
    disagree = {}
    for requirement in map(Requirement, wanted):
        pinned = {spec.version for spec in requirement.specifier if spec.operator == "=="}
        name = canonicalize_name(requirement.name)
        if pinned and locked.get(name) != pinned:
            disagree[name] = (pinned, locked.get(name))
    assert disagree == {}, f"(pinned in pyproject.toml, locked): {disagree}: {RELOCK}"


def test_the_build_backend_and_pip_are_locked(lock_text):
    # GIVEN the lock WHEN read THEN it holds what `pip install --no-build-isolation -e .` runs on
    assert {"setuptools", "wheel", "pip"} <= locked_versions(lock_text).keys()


def test_the_fingerprint_follows_the_dependency_lists_not_their_order(pyproject):
    # GIVEN the current pyproject, one with a dependency added and one with a list reordered
    added, reordered = copy.deepcopy(pyproject), copy.deepcopy(pyproject)
    added["project"]["optional-dependencies"]["dev"].append("example==1.0")
    reordered["project"]["dependencies"].reverse()
    # WHEN fingerprinted THEN only the added dependency changes it
    assert lock_tool.fingerprint(added) != lock_tool.fingerprint(pyproject)
    assert lock_tool.fingerprint(reordered) == lock_tool.fingerprint(pyproject)
