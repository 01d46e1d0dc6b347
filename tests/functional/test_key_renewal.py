"""The API key renewal on moto: the scheduled function extends the key with the same expiry the
program declares, and `tenantry keys check` reports a key with too few days left."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lambdas.apikeys import api_key_expiry
from lambdas.handlers import key_renewal, settings
from lambdas.handlers.settings import KeyRenewalSettings
from tenantry.cli import main
from tenantry.components.naming import physical
from tenantry.ops.local_pipeline import QUIET_ENV, FakeLambdaContext

pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parents[2]
TENANT, REGION = "globex", "us-east-1"      # tenants/globex.yaml: 30-day key, check at 7 days left
DAY = 86_400


@pytest.fixture
def deployed(monkeypatch):
    """The tenant's API and a key with 2 days left, as a deployment nobody renewed would have."""
    for key, value in QUIET_ENV.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        appsync = boto3.client("appsync", region_name=REGION)
        api_id = appsync.create_graphql_api(name=physical(TENANT, "api"), authenticationType="API_KEY")["graphqlApi"]["apiId"]
        now = dt.datetime.now(dt.UTC)
        key = appsync.create_api_key(apiId=api_id, expires=int(now.timestamp()) + 2 * DAY)["apiKey"]
        monkeypatch.setenv(settings.TENANT_ID, TENANT)
        monkeypatch.setenv(settings.API_ID, api_id)
        monkeypatch.setenv(settings.API_KEY_ID, key["id"])
        monkeypatch.setenv(settings.API_KEY_EXPIRES_DAYS, "30")
        key_renewal.renewer.cache_clear()
        yield appsync, api_id, key["id"]
        key_renewal.renewer.cache_clear()


def expires_of(appsync, api_id: str) -> int:
    [key] = appsync.list_api_keys(apiId=api_id)["apiKeys"]
    return key["expires"]


def test_the_renewer_extends_the_key_to_the_declared_expiry(deployed):
    # GIVEN a key with 2 days left and a fixed clock
    appsync, api_id, key_id = deployed
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    renewer = key_renewal.KeyRenewer(KeyRenewalSettings(TENANT, api_id, key_id, 30), appsync, clock=lambda: now)
    # WHEN it renews
    expires = renewer.renew()
    # THEN AppSync holds exactly the expiry the program would declare now
    assert expires == api_key_expiry(30, now)
    assert expires_of(appsync, api_id) == int(expires.timestamp())


def test_the_scheduled_handler_extends_the_key(deployed):
    # GIVEN the function's environment as declared WHEN the schedule invokes it
    appsync, api_id, _ = deployed
    before = expires_of(appsync, api_id)
    result = key_renewal.handler({}, FakeLambdaContext())
    # THEN the key lives about 30 days from now, and the response says until when
    after = expires_of(appsync, api_id)
    assert after > before + 27 * DAY
    assert result["expires"] == dt.datetime.fromtimestamp(after, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_keys_check_fails_on_a_key_with_too_few_days_left_and_passes_once_renewed(deployed, capsys):
    # GIVEN the deployed key with 2 days left (globex wants at least 7)
    assert main(["--root", str(ROOT), "keys", "check", "--tenant", TENANT]) == 1
    assert "LOW: globex key" in capsys.readouterr().err
    # WHEN the renewal runs THEN the check passes
    key_renewal.handler({}, FakeLambdaContext())
    assert main(["--root", str(ROOT), "keys", "check", "--tenant", TENANT]) == 0
    assert "ok: globex key" in capsys.readouterr().out


def test_keys_check_says_when_the_api_is_not_deployed(monkeypatch, capsys):
    for key, value in QUIET_ENV.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        assert main(["--root", str(ROOT), "keys", "check", "--tenant", TENANT]) == 2
    assert f"no AppSync API {physical(TENANT, 'api')}" in capsys.readouterr().err
