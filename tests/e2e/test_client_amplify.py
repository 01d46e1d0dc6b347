"""AWS Amplify JS v6, unchanged, against `tenantry dev --tls` (tests/e2e/clients/amplify.mjs).

Amplify signs a dev user in with its own `signIn` at the twin's Cognito endpoint (`userPoolEndpoint`:
dev.json's `emulator_url`, moto's plain-http cognito-idp) in its default flow, USER_SRP_AUTH
(`InitiateAuth` with SRP_A, then `RespondToAuthChallenge` PASSWORD_VERIFIER: moto answers with a
random SRP_B and SALT and does not check the password claim, so the sign-in succeeds but proves
nothing about the password; the tokens are the pool's real RS256 tokens), then calls the API in
`userPool` mode: the ID token raw in `Authorization`. It always dials `wss://` and, for a host that
is not `*.appsync-api.<region>.amazonaws.com`, derives the real-time URL as `<GraphQL URL>/realtime`
with `https://` made `wss://`; the connection's auth headers (`Authorization`, `host`) travel in a
`header-<base64url JSON>` subprotocol next to `graphql-ws`. Node 20 has no global WebSocket: the
script makes the `ws` package that global, and trusts the local CA through NODE_EXTRA_CA_CERTS.
"""

from __future__ import annotations

import pytest

from tests.e2e.frontends import (ca_file, readme_js_snippet, require_node_clients, run_client, run_snippet, serve,
                                 sign_in_caller)
from tests.e2e.support import DevServer, uid

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def node() -> str:
    return require_node_clients()


@pytest.fixture(scope="module")
def tls_dev(node, tmp_path_factory) -> DevServer:
    yield from serve(tmp_path_factory.mktemp("amplify"), "--tls")


def test_amplify_signs_in_then_opens_deposits_queries_and_sees_the_update_live(node, tls_dev):
    # GIVEN acme served over TLS, and Amplify configured from dev.json as README shows (userPool mode)
    acme, account = tls_dev.tenants["acme"], uid("amplify")
    assert acme.graphql_url.startswith("https://")
    # WHEN it signs alice in with signIn (Amplify's default flow), opens an account (no ownerId),
    # subscribes to onAccountUpdated, deposits 4200 and queries the account
    seen = run_client(node, "amplify.mjs", acme, account, tls_dev, sign_in_caller(acme, "alice"),
                      env={"NODE_EXTRA_CA_CERTS": str(ca_file(tls_dev))})
    # THEN Amplify signed in with SRP at the twin's Cognito endpoint and holds alice's ID token
    assert seen["wire"]["cognito"] == [
        {"operation": "InitiateAuth", "flow": "USER_SRP_AUTH", "status": 200},
        {"operation": "RespondToAuthChallenge", "flow": "PASSWORD_VERIFIER", "status": 200}]
    assert seen["signedIn"] == {"isSignedIn": True, "nextStep": {"signInStep": "DONE"}}
    assert seen["idToken"] == {"sub": acme.sub("alice"), "token_use": "id"}
    # AND every call succeeded with the contract's results
    assert seen["opened"] == {"accountId": account, "version": 1, "balance": 0, "commandId": f"{account}-open"}
    assert seen["deposited"] == {"accountId": account, "version": 2, "balance": 4200,
                                 "commandId": f"{account}-deposit"}
    # AND the live subscription delivered the new balance
    assert {k: seen["update"][k] for k in ("accountId", "balance", "version", "status")} == {
        "accountId": account, "balance": 4200, "version": 2, "status": "OPEN"}
    assert all(update["accountId"] == account for update in seen["updates"])
    # AND the query sees the deposit, on an account alice owns
    assert {k: seen["account"][k] for k in ("id", "ownerId", "currency", "balance", "version", "status")} == {
        "id": account, "ownerId": acme.sub("alice"), "currency": "EUR", "balance": 4200, "version": 2,
        "status": "OPEN"}
    # AND Amplify reached the real-time endpoint dev.json advertises, by its own derivation, once,
    # with the token in the connection's header
    assert seen["wire"]["dialed"] == [{"url": acme.realtime_url, "protocols": ["graphql-ws", "header-<base64url>"],
                                       "headerNames": ["Authorization", "host"]}]
    assert seen["wire"]["frames"][:3] == ["> connection_init", "< connection_ack", "> start"]
    assert "Connected" in seen["connectionStates"]
    tls_dev.assert_alive()


def test_readme_amplify_snippet_signs_in_and_opens_an_account(node, tls_dev, tmp_path):
    # GIVEN the README's Amplify block, where .tenantry/dev.json is this server's
    snippet = readme_js_snippet("Amplify.configure")
    assert "defaultAuthMode: 'userPool'" in snippet and "await signIn(" in snippet
    # WHEN it runs as its first line says THEN alice signed in and opened an account
    seen = run_snippet(node, snippet, tls_dev, tmp_path, env={"NODE_EXTRA_CA_CERTS": str(ca_file(tls_dev))})
    assert seen["version"] == 1
    tls_dev.assert_alive()
