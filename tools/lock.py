"""requirements.lock: every transitive Python dependency of Tenantry, pinned and hashed; and
requirements-lambda.lock: exactly what Lambda loads besides our zip (the Powertools layer and the
runtime's boto3, from platform/tenantry/components/layers.py) plus the Lambda-side tests' own
dependencies, for the Python 3.13 venv `make test` runs those tests in.

`make lock` runs this script with uv to regenerate both locks (network to PyPI);
tests/unit/test_lock.py and test_lambda_versions.py import it to check that the locks were made
from the current inputs. The fingerprints are defined here only, so they can never disagree.

    python tools/lock.py --uv PATH [uv pip compile options, e.g. --upgrade]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import re
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
FINGERPRINT_PREFIX = "# pyproject-sha256: "
# Locked beside the project's requirements and its build backend (build-system.requires, which
# `pip install --no-build-isolation -e .` needs): pip, so every venv ends up with the same pip.
INSTALLER = ["pip"]

LAMBDA_LOCK = ROOT / "requirements-lambda.lock"
LAYERS = ROOT / "platform" / "tenantry" / "components" / "layers.py"
# The Lambda-side tests' own dependencies, at the versions pyproject.toml pins for the project.
LAMBDA_TEST_DEPS = ("pytest", "pytest-xdist", "hypothesis", "moto", "mini-racer")


def load_layers():
    """platform/tenantry/components/layers.py, loaded by path: no Pulumi, no package import."""
    spec = importlib.util.spec_from_file_location("tenantry_layers", LAYERS)
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module        # dataclasses look their module up while it loads
        spec.loader.exec_module(module)
    return module


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


def lambda_test_requirements(pyproject: dict) -> list[str]:
    project = pyproject["project"]
    pins = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    wanted = []
    for name in LAMBDA_TEST_DEPS:
        found = [r for r in pins if re.match(rf"{name}(\[|==)", r)]
        if not found:
            sys.exit(f"{name}: the Lambda-side tests need it, but pyproject.toml pins no version of it")
        wanted += [found[0].split(";")[0].strip()]
    return sorted(wanted)


def lambda_lock_inputs(pyproject: dict) -> dict:
    layers = load_layers()
    return {"python": layers.PYTHON_VERSION, "lambda": layers.lambda_requirements(),
            "resolved_at": layers.LAYER.resolved_at, "tests": lambda_test_requirements(pyproject),
            "installer": sorted(INSTALLER)}


def lambda_fingerprint(pyproject: dict) -> str:
    canonical = json.dumps(lambda_lock_inputs(pyproject), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def relock_lambda(uv: str, uv_options: list[str]) -> None:
    """Two resolutions. First what the layer carries: `aws-lambda-powertools[all]==<release>` as pip
    resolved it when the layer was built (nothing newer than the release's publication), with the
    runtime's SDK. Then the lock: those exact pins as constraints, plus the test dependencies."""
    pyproject = tomllib.loads(PYPROJECT.read_text())
    inputs = lambda_lock_inputs(pyproject)
    common = ["--python-version", inputs["python"], "--python-platform", "x86_64-manylinux_2_28", "--quiet"]
    layer = subprocess.run(
        [uv, "pip", "compile", "-", "--no-header", "--no-annotate", "--exclude-newer", inputs["resolved_at"], *common],
        input="\n".join(inputs["lambda"]) + "\n", text=True, check=True, stdout=subprocess.PIPE).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write(layer)
    try:
        subprocess.run(
            [uv, "pip", "compile", "-", "--constraint", constraints.name, "--generate-hashes",
             "--custom-compile-command", "make lock", "--output-file", LAMBDA_LOCK.name, *common, *uv_options],
            cwd=ROOT, input="\n".join(inputs["lambda"] + inputs["tests"] + INSTALLER) + "\n", text=True, check=True)
    finally:
        Path(constraints.name).unlink()
    lines = [line for line in LAMBDA_LOCK.read_text().splitlines(keepends=True) if not line.startswith(FINGERPRINT_PREFIX)]
    LAMBDA_LOCK.write_text(f"{FINGERPRINT_PREFIX}{lambda_fingerprint(pyproject)}\n" + "".join(lines))


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
    parser = argparse.ArgumentParser(description="Regenerate requirements.lock and requirements-lambda.lock.")
    parser.add_argument("--uv", default="uv", help="the uv executable")
    args, uv_options = parser.parse_known_args(argv)
    relock(args.uv, uv_options)
    relock_lambda(args.uv, uv_options)


if __name__ == "__main__":
    main()
