"""Fixtures shared by every test group. Tables are built from the same key constants the code and
the Pulumi components use, so a fixture cannot drift from the real layout."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench` and `tests.*` helpers import from the repo root
    sys.path.insert(0, str(ROOT))

from tests.aws import REGION, create_events_table  # noqa: E402

# `make test-lambda`: the Lambda-side run, on Python 3.13 in a venv holding only what Lambda loads.
LAMBDA_SIDE_RUN = os.environ.get("TENANTRY_LAMBDA_SIDE") == "1"
LAMBDA_SIDE_MARK = "pytest.mark.lambda_side"


def pytest_ignore_collect(collection_path: Path, config):
    """In the Lambda-side run, a test module without the `lambda_side` mark is not even imported: it
    may need what that venv does not have (Pulumi, V8). Elsewhere every module is collected."""
    if LAMBDA_SIDE_RUN and collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return LAMBDA_SIDE_MARK not in collection_path.read_text()
    return None


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def moto(aws_credentials):
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def dynamodb(moto):
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def events_table(dynamodb) -> str:
    return create_events_table(dynamodb)
