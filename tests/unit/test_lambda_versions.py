"""What the functions declare, what the tests run and what Lambda loads agree: the layer map
(tenantry.components.layers), the layer ARN of every function, requirements-lambda.lock (the 3.13
run) and the project's own pins (pyproject.toml, requirements.lock)."""

from __future__ import annotations

import re
import tomllib

import pytest

from tenantry.components import functions, layers
from tests.unit.test_lock import lock_tool   # tools/lock.py, loaded by path once

pytestmark = pytest.mark.unit
RELOCK = "run make lock"

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(text)}


PYPROJECT = tomllib.loads(lock_tool.PYPROJECT.read_text())


def test_the_declared_layer_is_in_the_map_with_what_it_carries():
    # GIVEN the layer version the functions use
    # THEN the map knows its release, its pydantic and where the release is written down
    assert layers.LAYER_VERSION in layers.RELEASES
    assert layers.LAYER.pydantic and layers.LAYER.resolved_at and layers.LAYER.source.startswith("https://")


def test_every_function_declares_the_runtime_and_the_layer_of_the_map():
    # GIVEN the ARN the functions get (per region) WHEN it is parsed
    arn = functions.powertools_layer_arn("eu-west-1")
    name, version = arn.split(":")[-2:]
    # THEN it is the map's layer for the map's runtime and architecture
    assert functions.RUNTIME == layers.RUNTIME == "python3.13"
    assert name == f"AWSLambdaPowertoolsPythonV3-python313-{functions.ARCHITECTURE}"
    assert int(version) == layers.LAYER_VERSION
    assert arn.startswith(f"arn:aws:lambda:eu-west-1:{layers.POWERTOOLS_ACCOUNT}:layer:")


def test_the_lambda_lock_holds_exactly_what_the_layer_and_the_runtime_carry():
    # GIVEN requirements-lambda.lock, which the Python 3.13 run installs
    lambda_lock = lock_tool.LAMBDA_LOCK.read_text()
    assert lock_tool.recorded_fingerprint(lambda_lock) == lock_tool.lambda_fingerprint(PYPROJECT), \
        f"the layer map or the test pins changed since {lock_tool.LAMBDA_LOCK.name} was written: {RELOCK}"
    locked = pins(lambda_lock)
    # THEN it pins the layer's Powertools and pydantic and the runtime's SDK
    assert locked["aws-lambda-powertools"] == layers.LAYER.powertools
    assert locked["pydantic"] == layers.LAYER.pydantic
    assert {name: locked[name] for name in layers.RUNTIME_SDK} == layers.RUNTIME_SDK
    # AND no Pulumi: the run must not be able to import what Lambda would not have
    assert not {name for name in locked if name.startswith("pulumi")}


def test_the_project_pins_what_the_layer_carries():
    # GIVEN the project's own pins and its lock (the interpreter every other test runs on)
    project = pins("\n".join(PYPROJECT["project"]["dependencies"]))
    locked = pins(lock_tool.LOCK.read_text())
    # THEN Powertools and pydantic are the layer's, in both
    for name, version in {"aws-lambda-powertools": layers.LAYER.powertools, "pydantic": layers.LAYER.pydantic}.items():
        assert project[name] == version and locked[name] == version, (name, project[name], locked[name])
