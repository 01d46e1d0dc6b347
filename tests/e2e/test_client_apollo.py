"""Apollo Client 4 with AWS's AppSync links against `tenantry dev` (tests/e2e/clients/apollo.mjs).

Both links run in `AMAZON_COGNITO_USER_POOLS` mode with alice's ID token, which the test signs in for
(as `tenantry token` does) and passes in: `aws-appsync-auth-link` sends it raw in `Authorization`
on queries and mutations; `aws-appsync-subscription-link` speaks the real-time protocol. For a host that is not
`*.appsync-api.<region>.amazonaws.com` it derives the real-time URL as `<GraphQL URL>/realtime`
(`https://` -> `wss://`, `http://` -> `ws://`: plain http works, with a warning on its debug log),
and sends the auth headers (`Authorization`, `host`) in a `header-<base64url JSON>`
subprotocol next to `graphql-ws`. Node 20 has no global WebSocket: the script makes the `ws`
package that global.
"""

from __future__ import annotations

import pytest

from tests.e2e.frontends import readme_js_snippet, require_node_clients, run_client, run_snippet, serve, token_caller
from tests.e2e.support import DevServer, uid

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def node() -> str:
    return require_node_clients()


@pytest.fixture(scope="module")
def plain_dev(node, tmp_path_factory) -> DevServer:
    yield from serve(tmp_path_factory.mktemp("apollo"))


def test_apollo_with_appsync_links_opens_deposits_queries_and_sees_the_update_live(node, plain_dev):
    # GIVEN globex served over plain http, and Apollo wired with createAuthLink +
    # createSubscriptionHandshakeLink from dev.json, as alice (her ID token, user pool mode)
    globex, account = plain_dev.tenants["globex"], uid("apollo")
    # WHEN it opens an account (no ownerId), subscribes to onAccountUpdated, deposits 4200 and
    # queries the account
    seen = run_client(node, "apollo.mjs", globex, account, plain_dev, token_caller(globex, "alice"))
    # THEN every call succeeded with the contract's results (Apollo adds __typename to each selection)
    assert seen["opened"] == {"__typename": "CommandResult", "accountId": account, "version": 1, "balance": 0,
                              "commandId": f"{account}-open"}
    assert seen["deposited"] == {"__typename": "CommandResult", "accountId": account, "version": 2,
                                 "balance": 4200, "commandId": f"{account}-deposit"}
    # AND the live subscription delivered the new balance, after the link reported it connected
    assert seen["controlMessages"] == ["CONNECTED"]
    assert {k: seen["update"][k] for k in ("__typename", "accountId", "balance", "version", "status")} == {
        "__typename": "AccountUpdate", "accountId": account, "balance": 4200, "version": 2, "status": "OPEN"}
    assert all(update["accountId"] == account for update in seen["updates"])
    # AND the query sees the deposit, on an account alice owns
    assert {k: seen["account"][k] for k in ("__typename", "id", "ownerId", "balance", "version")} == {
        "__typename": "Account", "id": account, "ownerId": globex.sub("alice"), "balance": 4200, "version": 2}
    # AND the link reached the real-time endpoint dev.json advertises, by its own derivation, once,
    # with the token in the connection's header
    assert seen["wire"]["dialed"] == [{"url": globex.realtime_url, "protocols": ["graphql-ws", "header-<base64url>"],
                                       "headerNames": ["Authorization", "host"]}]
    assert seen["wire"]["frames"][:3] == ["> connection_init", "< connection_ack", "> start"]
    plain_dev.assert_alive()


def test_readme_apollo_snippet_opens_an_account(node, plain_dev, tmp_path):
    # GIVEN the README's Apollo block, where .tenantry/dev.json is this server's
    snippet = readme_js_snippet("AUTH_TYPE.AMAZON_COGNITO_USER_POOLS")
    # WHEN it runs THEN alice's token (from `tenantry token`) opened an account
    assert run_snippet(node, snippet, plain_dev, tmp_path)["version"] == 1
    plain_dev.assert_alive()
