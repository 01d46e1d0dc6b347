"""`tenantry replay` and `tenantry redrive` in local mode, against a running `tenantry dev`."""

from __future__ import annotations

import asyncio
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from gql import Client, GraphQLRequest

from tests.e2e import documents as doc
from tests.e2e.support import (ROOT, TENANTRY, Api, auth_headers, copy_project, eventually, free_port, realtime_transport,
                               start_dev, stop_dev, uid)

pytestmark = pytest.mark.e2e
UPDATE_TIMEOUT_S = 30


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*TENANTRY, *args], cwd=cwd, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def blue_green(tmp_path_factory):
    """`tenantry dev` (acme only) from a copied project whose acme file declares a standby slot."""
    root = copy_project(tmp_path_factory.mktemp("project"))
    server = start_dev(tmp_path_factory.mktemp("dev"), free_port(), "--tenant", "acme", cwd=root)
    yield root, server
    stop_dev(server)


def history(api: Api) -> str:
    account = uid("acc")
    api.execute(doc.OPEN, {"input": {"accountId": account, "ownerId": uid("o"), "currency": "EUR", "commandId": uid("c")}})
    for amount in (5, 7):
        api.execute(doc.DEPOSIT, {"input": {"accountId": account, "amount": amount, "commandId": uid("c")}})
    eventually(lambda: api.execute(doc.GET_ACCOUNT, {"id": account})["account"], lambda a: a and a["version"] == 3)
    return account


def snapshot(api: Api, account: str) -> tuple[dict, list]:
    return api.execute(doc.GET_ACCOUNT, {"id": account})["account"], api.execute(doc.LEDGER, {"accountId": account})["ledger"]["items"]


def test_replay_without_a_standby_slot_is_refused(dev):
    # GIVEN the repo's acme file (no standby slot) WHEN replaying THEN it says what to do first
    done = run("replay", "--tenant", "acme", "--endpoint-url", dev.emulator_url, "--no-switch")
    assert done.returncode == 1
    assert "read_models.standby: true" in done.stderr


def test_replay_rebuilds_switches_and_the_new_slot_keeps_projecting(blue_green):
    root, server = blue_green
    api = Api(server.tenants["acme"], "ops")
    # GIVEN an account with history, projected into the active (blue) slot
    account = history(api)
    before = snapshot(api, account)
    # WHEN the read models are replayed into the standby slot and switched
    done = run("replay", "--tenant", "acme", "--dev-json", str(server.dev_json), cwd=root)
    # THEN the tenant file names green as active, blue stays declared as the standby
    assert done.returncode == 0, done.stderr + done.stdout
    assert "tenantry dev now serves green" in done.stdout
    assert yaml.safe_load((root / "tenants" / "acme.yaml").read_text())["read_models"] == {"active": "green", "standby": True}
    # AND GraphQL serves the same account and ledger from the rebuilt slot
    assert snapshot(api, account) == before
    # AND a new deposit still projects (into green) and publishes to subscribers
    received = asyncio.run(deposit_while_subscribed(api, account))
    assert received["version"] == 4 and received["balance"] == 5 + 7 + 11
    account_now = eventually(lambda: api.execute(doc.GET_ACCOUNT, {"id": account})["account"], lambda a: a["version"] == 4)
    assert account_now["balance"] == 23


async def deposit_while_subscribed(api: Api, account: str) -> dict:
    transport = realtime_transport(api.endpoint, "ops")
    async with Client(transport=transport) as session:
        async def first_update() -> dict:
            async for result in session.subscribe(GraphQLRequest(doc.ON_UPDATE, variable_values={"accountId": account})):
                return result["onAccountUpdated"]
        task = asyncio.create_task(first_update())
        await asyncio.wait_for(transport.acked.wait(), UPDATE_TIMEOUT_S)
        await api.aexecute(doc.DEPOSIT, {"input": {"accountId": account, "amount": 11, "commandId": uid("c")}})
        return await asyncio.wait_for(task, UPDATE_TIMEOUT_S)


def test_redrive_of_an_empty_failure_queue_is_a_no_op(dev):
    done = run("redrive", "--tenant", "acme", "--endpoint-url", dev.emulator_url)
    assert done.returncode == 0, done.stderr
    assert "redrove 0/0 messages" in done.stdout


def test_the_re_apply_route_needs_the_runs_control_key(dev, acme):
    # GIVEN the local `pulumi up` route of a running platform
    url = acme.graphql_url.replace("/acme/graphql", "/_tenantry/acme/apply")
    for credentials in ({}, auth_headers(acme, "ops"), {"x-tenantry-control-key": "guessed"}):
        headers = {"content-type": "application/json", **credentials}
        request = urllib.request.Request(url, data=b"{}", method="POST", headers=headers)
        # WHEN it is called without the run's control key (even by an admin user) THEN it is refused
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=30)
        assert caught.value.code == 401
