"""AWS Amplify JS v6, unchanged, against `tenantry dev --tls` (tests/e2e/clients/amplify.mjs).

Amplify always dials `wss://` and, for a host that is not `*.appsync-api.<region>.amazonaws.com`,
derives the real-time URL as `<GraphQL URL>/realtime` with `https://` made `wss://`; the
connection's auth headers (`host`, `x-amz-date`, `x-api-key`) travel in a `header-<base64url JSON>`
subprotocol next to `graphql-ws`, with no `header`/`payload` query parameters. Node 20 has no
global WebSocket: the script makes the `ws` package that global, and trusts the local CA through
NODE_EXTRA_CA_CERTS.
"""

from __future__ import annotations

import pytest

from tests.e2e.frontends import ca_file, require_node_clients, run_client, serve
from tests.e2e.support import DevServer, uid

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def node() -> str:
    return require_node_clients()


@pytest.fixture(scope="module")
def tls_dev(node, tmp_path_factory) -> DevServer:
    yield from serve(tmp_path_factory.mktemp("amplify"), "--tls")


def test_amplify_opens_deposits_queries_and_sees_the_update_live(node, tls_dev):
    # GIVEN acme served over TLS, and Amplify configured from dev.json as for any AppSync API (API key)
    acme, account = tls_dev.tenants["acme"], uid("amplify")
    assert acme.graphql_url.startswith("https://")
    # WHEN it opens an account, subscribes to onAccountUpdated, deposits 4200 and queries the account
    seen = run_client(node, "amplify.mjs", acme, account, tls_dev,
                      env={"NODE_EXTRA_CA_CERTS": str(ca_file(tls_dev))})
    # THEN every call succeeded with the contract's results
    assert seen["opened"] == {"accountId": account, "version": 1, "balance": 0, "commandId": f"{account}-open"}
    assert seen["deposited"] == {"accountId": account, "version": 2, "balance": 4200,
                                 "commandId": f"{account}-deposit"}
    # AND the live subscription delivered the new balance
    assert {k: seen["update"][k] for k in ("accountId", "balance", "version", "status")} == {
        "accountId": account, "balance": 4200, "version": 2, "status": "OPEN"}
    assert all(update["accountId"] == account for update in seen["updates"])
    # AND the query sees the deposit
    assert {k: seen["account"][k] for k in ("id", "ownerId", "currency", "balance", "version", "status")} == {
        "id": account, "ownerId": "amplify", "currency": "EUR", "balance": 4200, "version": 2, "status": "OPEN"}
    # AND Amplify reached the real-time endpoint dev.json advertises, by its own derivation, once
    assert seen["wire"]["dialed"] == [{"url": acme.realtime_url, "protocols": ["graphql-ws", "header-<base64url>"],
                                       "headerNames": ["host", "x-amz-date", "x-api-key"]}]
    assert seen["wire"]["frames"][:3] == ["> connection_init", "< connection_ack", "> start"]
    assert "Connected" in seen["connectionStates"]
    tls_dev.assert_alive()
